/**
 * Ticks on wall-clock multiples of the interval (…:00.000, …:02.000, …).
 * Each timer is set from the clock, never from the previous timer, so
 * lateness does not accumulate. A boundary that arrives while the previous
 * tick is still running is skipped and reported, never queued; so are
 * boundaries the process slept through.
 */
import { ignoreRejection, type DebugLogger } from '@hotpath/service';
export interface TickHandlers {
  tick(tickMs: number, lateMs: number): Promise<void>;
  skipped(tickMs: number, reason: 'overlap' | 'late'): void;
}

/** How the scheduler waits: real timers in production; a test passes timers driven by its own clock, so time is under its control. */
export interface TickTimers {
  set(fire: () => void, delayMs: number): unknown;
  clear(timer: unknown): void;
}

const REAL_TIMERS: TickTimers = {
  set: (fire, delayMs) => setTimeout(fire, delayMs),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export class TickScheduler {
  private timer: unknown;
  private running = false;
  private stopped = true;
  private nextMs = 0;

  private readonly tickFailed: (err: unknown) => void;

  constructor(
    private readonly intervalMs: number,
    private readonly handlers: TickHandlers,
    log: DebugLogger,
    private readonly now: () => number = Date.now,
    private readonly timers: TickTimers = REAL_TIMERS,
  ) {
    // built once, not per tick
    this.tickFailed = ignoreRejection(log, 'a tick counts and logs its own failures per symbol; the schedule goes on at the next boundary');
  }

  // bound once: arming a timer every tick allocates no closure
  private readonly onTimer = (): void => this.fire();

  start(): void {
    this.stopped = false;
    this.nextMs = Math.floor(this.now() / this.intervalMs) * this.intervalMs + this.intervalMs;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timers.clear(this.timer);
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.timers.set(this.onTimer, Math.max(0, this.nextMs - this.now()));
  }

  private fire(): void {
    const now = this.now();
    if (now < this.nextMs) return this.arm(); // timers may fire a hair early
    const tickMs = this.nextMs;
    // boundaries slept through (a stalled process) are skipped, each one counted
    const passed = Math.floor((now - tickMs) / this.intervalMs);
    for (let k = 1; k <= passed; k++) this.handlers.skipped(tickMs + k * this.intervalMs, 'late');
    this.nextMs = tickMs + (passed + 1) * this.intervalMs;
    this.arm();
    if (passed > 0) return this.handlers.skipped(tickMs, 'late');
    if (this.running) return this.handlers.skipped(tickMs, 'overlap');
    this.running = true;
    this.handlers
      .tick(tickMs, now - tickMs)
      .catch(this.tickFailed)
      .finally(() => {
        this.running = false;
      });
  }
}
