import { StateFormatError, type StateReader, type StateWriter } from '../../src/snapshot.ts';

/**
 * The flat-array LocalBook as it was before the blocked sides (commit d8ba873),
 * kept unchanged as the reference the blocked book must equal bit for bit
 * (tests) and the baseline it is measured against (bench/book.bench.ts).
 *
 * A local order book kept by Binance's documented procedure (REST snapshot
 * + @depth diffs). Prices and quantities are integer mantissas (exponent -8
 * on Binance), never floats, so level keys are exact. Each side is a sorted
 * array of prices (best first) with a parallel array of quantities: binary
 * search to find a level, a typed-array move (memmove, no garbage) to insert
 * or remove one.
 */

export type DiffResult = 'applied' | 'stale' | 'gap' | 'buffered';

/** Diffs kept while unsynced (re-anchoring), replayed onto the next snapshot. */
const MAX_BUFFERED_DIFFS = 10_000;

class Side {
  /** Levels [0, size): typed arrays so an insert or removal moves memory instead of allocating (Array#splice returns a new array). */
  prices = new Float64Array(1024);
  qtys = new Float64Array(1024);
  size = 0;
  constructor(private readonly descending: boolean) {}

  /** Index of `price`, or -(insertion point) - 1. */
  private find(price: number): number {
    const p = this.prices;
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = p[mid]!;
      if (v === price) return mid;
      if (this.descending ? v > price : v < price) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  set(price: number, qty: number): void {
    const i = this.find(price);
    if (i >= 0) {
      if (qty === 0) {
        this.prices.copyWithin(i, i + 1, this.size);
        this.qtys.copyWithin(i, i + 1, this.size);
        this.size--;
      } else this.qtys[i] = qty;
    } else if (qty !== 0) {
      const at = -i - 1;
      if (this.size === this.prices.length) this.grow();
      this.prices.copyWithin(at + 1, at, this.size);
      this.qtys.copyWithin(at + 1, at, this.size);
      this.prices[at] = price;
      this.qtys[at] = qty;
      this.size++;
    }
  }

  /** Replaces every level (restore). */
  load(prices: ArrayLike<number>, qtys: ArrayLike<number>): void {
    this.size = 0;
    while (this.prices.length < prices.length) this.grow();
    this.prices.set(prices);
    this.qtys.set(qtys);
    this.size = prices.length;
  }

  clear(): void {
    this.size = 0;
  }

  private grow(): void {
    const prices = new Float64Array(this.prices.length * 2);
    const qtys = new Float64Array(this.qtys.length * 2);
    prices.set(this.prices.subarray(0, this.size));
    qtys.set(this.qtys.subarray(0, this.size));
    this.prices = prices;
    this.qtys = qtys;
  }
}

export class LocalBookFlat {
  readonly bids = new Side(true);
  readonly asks = new Side(false);
  /** Update id the book reflects; -1 while unsynced. */
  lastUpdateId = -1;
  /** Diffs received while unsynced: [first, last, flat (bid?1:0, price, qty)...]. */
  private buffered: { first: number; last: number; levels: number[] }[] = [];
  /** Buffered diffs that did not fit (the oldest go first). */
  droppedWhileUnsynced = 0;

  get synced(): boolean {
    return this.lastUpdateId >= 0;
  }

  /**
   * Steps 4-6 of the procedure: the snapshot becomes the book, then the diffs
   * buffered while unsynced that end after it are applied. Returns 'gap' when
   * the buffered diffs do not join the snapshot (it is too old: fetch another).
   */
  applySnapshot(lastUpdateId: number, bids: Iterable<readonly [number, number]>, asks: Iterable<readonly [number, number]>): 'applied' | 'gap' {
    this.bids.clear();
    this.asks.clear();
    for (const [p, q] of bids) this.bids.set(p, q);
    for (const [p, q] of asks) this.asks.set(p, q);
    this.lastUpdateId = lastUpdateId;
    const pending = this.buffered;
    this.buffered = [];
    for (const d of pending) {
      const r = this.applyDiff(d.first, d.last, (set) => {
        for (let i = 0; i < d.levels.length; i += 3) set(d.levels[i] === 1, d.levels[i + 1]!, d.levels[i + 2]!);
      });
      if (r === 'gap') return 'gap';
    }
    return 'applied';
  }

  /**
   * The update rule: u <= local → stale (already reflected); U > local + 1 →
   * gap (the book is now unusable until re-anchored); otherwise apply.
   * `levels` is called with a setter for each (side, price, qty).
   */
  applyDiff(first: number, last: number, levels: (set: (bid: boolean, price: number, qty: number) => void) => void): DiffResult {
    if (!this.synced) {
      const flat: number[] = [];
      levels((bid, price, qty) => flat.push(bid ? 1 : 0, price, qty));
      this.buffered.push({ first, last, levels: flat });
      if (this.buffered.length > MAX_BUFFERED_DIFFS) {
        this.buffered.shift();
        this.droppedWhileUnsynced++;
      }
      return 'buffered';
    }
    if (last <= this.lastUpdateId) return 'stale';
    if (first > this.lastUpdateId + 1) return 'gap';
    levels(this.setter);
    this.lastUpdateId = last;
    return 'applied';
  }

  private readonly setter = (bid: boolean, price: number, qty: number): void => (bid ? this.bids : this.asks).set(price, qty);

  /** Drops the book (a gap, a new connection): unsynced, buffering diffs until the next snapshot. */
  invalidate(): void {
    this.bids.clear();
    this.asks.clear();
    this.lastUpdateId = -1;
    this.buffered = [];
  }

  get bestBid(): number {
    return this.bids.size > 0 ? this.bids.prices[0]! : Number.NaN;
  }

  get bestAsk(): number {
    return this.asks.size > 0 ? this.asks.prices[0]! : Number.NaN;
  }

  get bestBidQty(): number {
    return this.bids.size > 0 ? this.bids.qtys[0]! : 0;
  }

  get bestAskQty(): number {
    return this.asks.size > 0 ? this.asks.qtys[0]! : 0;
  }

  /** Sum of quantities over the best `n` levels of a side. */
  depth(bid: boolean, n: number): number {
    const side = bid ? this.bids : this.asks;
    const q = side.qtys;
    let s = 0;
    for (let i = 0, m = Math.min(n, side.size); i < m; i++) s += q[i]!;
    return s;
  }

  /** Quantity resting within `bps` basis points of the mid on a side. */
  depthWithinBps(bid: boolean, bps: number): number {
    const mid = (this.bestBid + this.bestAsk) / 2;
    const side = bid ? this.bids : this.asks;
    const limit = bid ? mid * (1 - bps / 10_000) : mid * (1 + bps / 10_000);
    let s = 0;
    for (let i = 0; i < side.size; i++) {
      const p = side.prices[i]!;
      if (bid ? p < limit : p > limit) break;
      s += side.qtys[i]!;
    }
    return s;
  }

  /** Structural sanity: both sides present and not crossed. */
  isSane(): boolean {
    return this.bids.size > 0 && this.asks.size > 0 && this.bestBid < this.bestAsk;
  }

  writeTo(w: StateWriter): void {
    w.f64(this.lastUpdateId);
    const { bids, asks } = this;
    w.f64s(bids.prices.subarray(0, bids.size)).f64s(bids.qtys.subarray(0, bids.size)).f64s(asks.prices.subarray(0, asks.size)).f64s(asks.qtys.subarray(0, asks.size));
    w.u32(this.buffered.length);
    for (const d of this.buffered) w.f64(d.first).f64(d.last).f64s(d.levels);
    w.f64(this.droppedWhileUnsynced);
  }

  readFrom(r: StateReader): void {
    this.lastUpdateId = r.f64();
    const load = (side: Side): void => {
      const prices = r.f64s();
      const qtys = r.f64s();
      if (qtys.length !== prices.length) throw new StateFormatError(`book side of ${prices.length} prices and ${qtys.length} quantities`);
      side.load(prices, qtys);
    };
    load(this.bids);
    load(this.asks);
    // each buffered diff is at least first, last and a level count
    const n = r.count(8 + 8 + 4, MAX_BUFFERED_DIFFS, 'buffered diffs');
    this.buffered = [];
    for (let i = 0; i < n; i++) this.buffered.push({ first: r.f64(), last: r.f64(), levels: r.f64s() });
    this.droppedWhileUnsynced = r.f64();
  }
}
