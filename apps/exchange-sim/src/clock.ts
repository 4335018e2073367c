/**
 * The simulator's sense of time: what drives the market, fault deadlines,
 * keepalive, connection lifetimes, rate-limit windows and injected latency.
 * Production runs on the system clock; tests pass a ManualClock and move time
 * themselves, so a fault is observed by what is sent in which order, never
 * by how many milliseconds of a busy machine went by.
 */

export interface ClockTimer {
  cancel(): void;
}

export interface TimerOptions {
  /** Does not keep the process alive on its own (Node's unref). */
  unref?: boolean;
}

export interface Clock {
  /** Wall time, ms since the epoch (deadlines, rate-limit minutes, event stamps). */
  now(): number;
  /** A monotonic ms reading for elapsed time (the market's pace). */
  monotonicMs(): number;
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): ClockTimer;
  setInterval(fn: () => void, ms: number, options?: TimerOptions): ClockTimer;
}

/** Real time: Date.now, performance.now and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (fn, ms, options) => nodeTimer(setTimeout(fn, ms), clearTimeout, options),
  setInterval: (fn, ms, options) => nodeTimer(setInterval(fn, ms), clearInterval, options),
};

function nodeTimer(handle: NodeJS.Timeout, clear: (h: NodeJS.Timeout) => void, options: TimerOptions = {}): ClockTimer {
  if (options.unref === true) handle.unref();
  return { cancel: () => clear(handle) };
}

interface ManualTimer {
  dueMs: number;
  /** Creation order: timers due at the same moment run in the order they were set. */
  seq: number;
  everyMs: number | undefined;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Time that moves only when told: `advance(ms)` runs every timer that falls
 * due on the way, in due order, each with the clock reading its due time
 * (an interval fires once per period passed, as a real one would).
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  monotonicMs(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): ClockTimer {
    // Node runs a 0 ms interval every 1 ms; so does this (0 would never let time pass).
    return this.add(fn, ms, Math.max(1, ms));
  }

  /** Timers set and not yet fired (intervals until cancelled). */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing what falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    const targetMs = this.nowMs + ms;
    for (;;) {
      const next = this.earliestDue(targetMs);
      if (next === undefined) break;
      this.nowMs = next.dueMs;
      if (next.everyMs === undefined) this.remove(next);
      else {
        next.dueMs += next.everyMs;
        next.seq = this.seq++;
      }
      next.fn();
    }
    this.nowMs = targetMs;
  }

  private add(fn: () => void, ms: number, everyMs: number | undefined): ClockTimer {
    const timer: ManualTimer = { dueMs: this.nowMs + Math.max(0, ms), seq: this.seq++, everyMs, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        if (timer.cancelled) return;
        timer.cancelled = true;
        this.remove(timer);
      },
    };
  }

  private earliestDue(untilMs: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.dueMs > untilMs) continue;
      if (best === undefined || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private remove(timer: ManualTimer): void {
    this.timers = this.timers.filter((t) => t !== timer);
  }
}
