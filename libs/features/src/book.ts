import { BookSide } from './book-side.ts';
import { StateFormatError, type StateReader, type StateWriter } from './snapshot.ts';

/**
 * A local order book kept by Binance's documented procedure (REST snapshot
 * + @depth diffs). Prices and quantities are integer mantissas (exponent -8
 * on Binance), never floats, so level keys are exact. Each side is a
 * BookSide (book-side.ts): levels best first in fixed-size blocks, so an
 * insert or removal costs the same at any book depth, with no garbage.
 */

export type DiffResult = 'applied' | 'stale' | 'gap' | 'buffered';

/** Diffs kept while unsynced (re-anchoring), replayed onto the next snapshot. */
const MAX_BUFFERED_DIFFS = 10_000;

export class LocalBook {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);
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
    return this.bids.bestPrice;
  }

  get bestAsk(): number {
    return this.asks.bestPrice;
  }

  get bestBidQty(): number {
    return this.bids.bestQty;
  }

  get bestAskQty(): number {
    return this.asks.bestQty;
  }

  /** Sum of quantities over the best `n` levels of a side. */
  depth(bid: boolean, n: number): number {
    return (bid ? this.bids : this.asks).depth(n);
  }

  /** Quantity resting within `bps` basis points of the mid on a side. */
  depthWithinBps(bid: boolean, bps: number): number {
    const mid = (this.bestBid + this.bestAsk) / 2;
    return bid ? this.bids.depthTo(mid * (1 - bps / 10_000)) : this.asks.depthTo(mid * (1 + bps / 10_000));
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
    const load = (side: BookSide, bid: boolean): void => {
      const prices = r.f64s();
      const qtys = r.f64s();
      if (qtys.length !== prices.length) throw new StateFormatError(`book side of ${prices.length} prices and ${qtys.length} quantities`);
      // the blocks' searches assume strict order, best first: a state that breaks it would corrupt the book silently
      for (let i = 1; i < prices.length; i++) {
        if (!(bid ? prices[i]! < prices[i - 1]! : prices[i]! > prices[i - 1]!)) throw new StateFormatError(`${bid ? 'bid' : 'ask'} level ${i} (${prices[i]}) is out of order after ${prices[i - 1]}`);
      }
      side.load(prices, qtys);
    };
    load(this.bids, true);
    load(this.asks, false);
    // each buffered diff is at least first, last and a level count
    const n = r.count(8 + 8 + 4, MAX_BUFFERED_DIFFS, 'buffered diffs');
    this.buffered = [];
    for (let i = 0; i < n; i++) this.buffered.push({ first: r.f64(), last: r.f64(), levels: r.f64s() });
    this.droppedWhileUnsynced = r.f64();
  }
}
