import { StateFormatError, type StateReader, type StateWriter } from './snapshot.ts';

/**
 * Event-time rolling sums over several window lengths at once, O(1)
 * amortized per event: every event enters once and leaves each window once
 * (one head pointer per window into one shared ring). Times are µs of
 * exchange event time; nothing here reads a clock.
 *
 * Events leave the windows only when a newer event is pushed, never when a
 * value is read: floating-point sums depend on the order of additions and
 * subtractions, so eviction must be a function of the event sequence alone
 * for a replay (or a restart) to reproduce every bit. Reads at a later time
 * (`query`) discount the events that would have left, without mutating.
 */

export class RollingSums {
  private times: Float64Array;
  private values: Float64Array;
  /** Ring positions as absolute counters: event k lives at k % capacity. */
  private tail = 0;
  private readonly heads: number[];
  private readonly sums: Float64Array;
  private readonly counts: number[];
  /** Channel values of the most recent event that left each window (the value "before" the window). */
  private readonly evicted: Float64Array;
  private readonly hasEvicted: boolean[];
  private capacity: number;

  constructor(
    readonly windowsUs: readonly number[],
    readonly channels: number,
    initialCapacity = 1024,
    private readonly maxCapacity = 1 << 22,
  ) {
    for (let i = 1; i < windowsUs.length; i++) {
      if (!(windowsUs[i]! > windowsUs[i - 1]!)) throw new RangeError('window lengths must be strictly ascending');
    }
    this.capacity = initialCapacity;
    this.times = new Float64Array(initialCapacity);
    this.values = new Float64Array(initialCapacity * channels);
    this.heads = windowsUs.map(() => 0);
    this.sums = new Float64Array(windowsUs.length * channels);
    this.counts = windowsUs.map(() => 0);
    this.evicted = new Float64Array(windowsUs.length * channels);
    this.hasEvicted = windowsUs.map(() => false);
  }

  /** Adds an event at time t (non-decreasing) with one value per channel. */
  push(t: number, values: ArrayLike<number>): void {
    this.advance(t);
    if (this.tail - this.heads[this.heads.length - 1]! >= this.capacity) this.grow();
    const slot = this.tail % this.capacity;
    this.times[slot] = t;
    for (let c = 0; c < this.channels; c++) this.values[slot * this.channels + c] = values[c]!;
    this.tail++;
    for (let w = 0; w < this.windowsUs.length; w++) {
      this.counts[w]!++;
      for (let c = 0; c < this.channels; c++) this.sums[w * this.channels + c]! += values[c]!;
    }
  }

  private evictOne(w: number): void {
    const h = this.heads[w]!;
    const slot = (h % this.capacity) * this.channels;
    for (let c = 0; c < this.channels; c++) {
      this.sums[w * this.channels + c]! -= this.values[slot + c]!;
      this.evicted[w * this.channels + c] = this.values[slot + c]!;
    }
    this.hasEvicted[w] = true;
    this.counts[w]!--;
    this.heads[w] = h + 1;
  }

  /**
   * The window as seen at time t >= the last push: count, per-channel sums,
   * the value just before the window and the oldest value in it, written to
   * `out` (count, sums[channels], before[channels] or NaN, first[channels] or NaN).
   */
  query(window: number, t: number, out: Float64Array): Float64Array {
    const ch = this.channels;
    let count = this.counts[window]!;
    for (let c = 0; c < ch; c++) {
      out[1 + c] = this.sums[window * ch + c]!;
      out[1 + ch + c] = this.hasEvicted[window] ? this.evicted[window * ch + c]! : Number.NaN;
    }
    const cutoff = t - this.windowsUs[window]!;
    let h = this.heads[window]!;
    while (h < this.tail && this.times[h % this.capacity]! <= cutoff) {
      const slot = (h % this.capacity) * ch;
      for (let c = 0; c < ch; c++) {
        out[1 + c]! -= this.values[slot + c]!;
        out[1 + ch + c] = this.values[slot + c]!;
      }
      count--;
      h++;
    }
    out[0] = count;
    for (let c = 0; c < ch; c++) out[1 + 2 * ch + c] = h < this.tail ? this.values[(h % this.capacity) * ch + c]! : Number.NaN;
    return out;
  }

  /** Drops events with time <= t - window from each window (called by push only). */
  private advance(t: number): void {
    for (let w = 0; w < this.windowsUs.length; w++) {
      const cutoff = t - this.windowsUs[w]!;
      while (this.heads[w]! < this.tail && this.times[this.heads[w]! % this.capacity]! <= cutoff) this.evictOne(w);
    }
  }

  private grow(): void {
    const next = this.capacity * 2;
    if (next > this.maxCapacity) {
      // Bounded memory: the oldest event leaves every window still holding it (windows shorten under a flood).
      const oldest = this.tail - this.capacity;
      for (let w = 0; w < this.heads.length; w++) if (this.heads[w]! <= oldest) this.evictOne(w);
      return;
    }
    const times = new Float64Array(next);
    const values = new Float64Array(next * this.channels);
    const from = Math.min(...this.heads);
    for (let k = from; k < this.tail; k++) {
      times[k % next] = this.times[k % this.capacity]!;
      for (let c = 0; c < this.channels; c++) values[(k % next) * this.channels + c] = this.values[(k % this.capacity) * this.channels + c]!;
    }
    this.times = times;
    this.values = values;
    this.capacity = next;
  }

  sum(window: number, channel: number): number {
    return this.sums[window * this.channels + channel]!;
  }

  count(window: number): number {
    return this.counts[window]!;
  }

  /** Value of `channel` just before the window (the last event that left it), if any left yet. */
  before(window: number, channel: number): number | undefined {
    return this.hasEvicted[window] ? this.evicted[window * this.channels + channel]! : undefined;
  }

  /** Value of `channel` of the oldest event still in the window. */
  first(window: number, channel: number): number | undefined {
    const h = this.heads[window]!;
    return h < this.tail ? this.values[(h % this.capacity) * this.channels + channel]! : undefined;
  }

  /** Value of `channel` of the newest event. */
  last(channel: number): number | undefined {
    return this.tail > 0 ? this.values[((this.tail - 1) % this.capacity) * this.channels + channel]! : undefined;
  }

  lastTime(): number | undefined {
    return this.tail > 0 ? this.times[(this.tail - 1) % this.capacity]! : undefined;
  }

  /** Everything needed to continue exactly: live events, per-window heads, sums and "before" values. */
  writeTo(w: StateWriter): void {
    const from = Math.min(...this.heads);
    w.u32(this.tail - from);
    for (let k = from; k < this.tail; k++) {
      w.f64(this.times[k % this.capacity]!);
      for (let c = 0; c < this.channels; c++) w.f64(this.values[(k % this.capacity) * this.channels + c]!);
    }
    w.f64s(this.heads.map((h) => h - from));
    w.f64s(this.sums);
    w.f64s(this.counts);
    w.f64s(this.evicted);
    w.f64s(this.hasEvicted.map((x) => (x ? 1 : 0)));
  }

  /** Throws StateFormatError on a state that does not fit these windows (counts are checked before anything is allocated). */
  readFrom(r: StateReader): void {
    const n = r.count((1 + this.channels) * 8, this.maxCapacity, 'window entries');
    let cap = this.capacity;
    while (cap < n + 1) cap *= 2;
    this.capacity = cap;
    this.times = new Float64Array(cap);
    this.values = new Float64Array(cap * this.channels);
    for (let k = 0; k < n; k++) {
      this.times[k] = r.f64();
      for (let c = 0; c < this.channels; c++) this.values[k * this.channels + c] = r.f64();
    }
    this.tail = n;
    const windows = this.windowsUs.length;
    // Heads index the ring: each must be an entry position (0..n) for reads and eviction to stay inside it.
    sized(r, windows, 'window heads').forEach((h, i) => {
      if (!Number.isInteger(h) || h < 0 || h > n) throw new StateFormatError(`window head ${h} outside 0..${n}`);
      this.heads[i] = h;
    });
    sized(r, windows * this.channels, 'window sums').forEach((v, i) => {
      this.sums[i] = v;
    });
    sized(r, windows, 'window counts').forEach((v, i) => {
      this.counts[i] = v;
    });
    sized(r, windows * this.channels, 'window evicted values').forEach((v, i) => {
      this.evicted[i] = v;
    });
    sized(r, windows, 'window evicted flags').forEach((v, i) => {
      this.hasEvicted[i] = v === 1;
    });
  }
}

/** An f64 array that must hold exactly `length` values (one per window, or per window and channel). */
function sized(r: StateReader, length: number, what: string): number[] {
  const values = r.f64s(length);
  if (values.length !== length) throw new StateFormatError(`${what}: ${values.length} values, expected ${length}`);
  return values;
}
