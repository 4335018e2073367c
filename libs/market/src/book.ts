/**
 * The simulator's limit order book: price levels keyed by integer tick,
 * quantities in integer lots (never floats). Every level change takes the
 * next book update id and is remembered until the next diff is cut, with its
 * final quantity (0 = removed), exactly what Binance's @depth stream carries.
 */

export type Side = 'bid' | 'ask';

export interface Level {
  tick: number;
  lots: number;
}

export class OrderBook {
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();
  /** Best bid tick, or -Infinity when the side is empty. */
  bestBid = Number.NEGATIVE_INFINITY;
  /** Best ask tick, or +Infinity when the side is empty. */
  bestAsk = Number.POSITIVE_INFINITY;
  /** Id of the last applied update. */
  updateId: number;
  /** First update id not yet cut into a diff. */
  private pendingFrom: number;
  private readonly changedBids = new Map<number, number>();
  private readonly changedAsks = new Map<number, number>();

  constructor(firstUpdateId: number) {
    this.updateId = firstUpdateId - 1;
    this.pendingFrom = firstUpdateId;
  }

  lotsAt(side: Side, tick: number): number {
    return (side === 'bid' ? this.bids : this.asks).get(tick) ?? 0;
  }

  levelCount(side: Side): number {
    return (side === 'bid' ? this.bids : this.asks).size;
  }

  /** Sets a level's absolute quantity (0 removes it). */
  set(side: Side, tick: number, lots: number): void {
    const levels = side === 'bid' ? this.bids : this.asks;
    const before = levels.get(tick) ?? 0;
    if (before === lots) return;
    if (lots <= 0) levels.delete(tick);
    else levels.set(tick, lots);
    this.updateId++;
    (side === 'bid' ? this.changedBids : this.changedAsks).set(tick, Math.max(lots, 0));
    if (side === 'bid') {
      if (lots > 0 && tick > this.bestBid) this.bestBid = tick;
      else if (lots <= 0 && tick === this.bestBid) this.bestBid = this.findBest('bid', tick);
    } else {
      if (lots > 0 && tick < this.bestAsk) this.bestAsk = tick;
      else if (lots <= 0 && tick === this.bestAsk) this.bestAsk = this.findBest('ask', tick);
    }
  }

  add(side: Side, tick: number, lots: number): void {
    this.set(side, tick, this.lotsAt(side, tick) + lots);
  }

  private findBest(side: Side, from: number): number {
    const levels = side === 'bid' ? this.bids : this.asks;
    if (levels.size === 0) return side === 'bid' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    // Levels near the touch are dense: walk a little, then fall back to a full scan.
    const step = side === 'bid' ? -1 : 1;
    for (let i = 1, t = from + step; i <= 512; i++, t += step) if (levels.has(t)) return t;
    let best = side === 'bid' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    for (const t of levels.keys()) if (side === 'bid' ? t > best : t < best) best = t;
    return best;
  }

  /** The best `n` levels of a side, best first. */
  top(side: Side, n: number, out: Level[] = []): Level[] {
    out.length = 0;
    const levels = side === 'bid' ? this.bids : this.asks;
    if (levels.size === 0) return out;
    const step = side === 'bid' ? -1 : 1;
    let t = side === 'bid' ? this.bestBid : this.bestAsk;
    // Walk outward; switch to sorting when the book is sparse.
    for (let scanned = 0; out.length < n && scanned < 4096; scanned++, t += step) {
      const lots = levels.get(t);
      if (lots !== undefined) out.push({ tick: t, lots });
    }
    if (out.length < n && out.length < levels.size) return this.sorted(side, n);
    return out;
  }

  /** All levels of a side sorted best first, at most `n`. */
  sorted(side: Side, n: number): Level[] {
    const levels = side === 'bid' ? this.bids : this.asks;
    const ticks = [...levels.keys()].sort(side === 'bid' ? (a, b) => b - a : (a, b) => a - b);
    return ticks.slice(0, n).map((tick) => ({ tick, lots: levels.get(tick)! }));
  }

  hasPendingChanges(): boolean {
    return this.updateId >= this.pendingFrom;
  }

  /**
   * Cuts the changes since the previous cut into one diff: [firstId, lastId]
   * and the final quantity of every changed level. Returns undefined when
   * nothing changed.
   */
  cutDiff(): { firstId: number; lastId: number; bids: Level[]; asks: Level[] } | undefined {
    if (!this.hasPendingChanges()) return undefined;
    const toLevels = (m: Map<number, number>, desc: boolean): Level[] => {
      const out: Level[] = [];
      for (const [tick, lots] of m) out.push({ tick, lots });
      out.sort(desc ? (a, b) => b.tick - a.tick : (a, b) => a.tick - b.tick);
      return out;
    };
    const diff = {
      firstId: this.pendingFrom,
      lastId: this.updateId,
      bids: toLevels(this.changedBids, true),
      asks: toLevels(this.changedAsks, false),
    };
    this.changedBids.clear();
    this.changedAsks.clear();
    this.pendingFrom = this.updateId + 1;
    return diff;
  }

  /** Removes levels farther than `maxTicks` from the touch (orders that would never trade). */
  prune(maxTicks: number): void {
    for (const t of [...this.bids.keys()]) if (this.bestBid - t > maxTicks) this.set('bid', t, 0);
    for (const t of [...this.asks.keys()]) if (t - this.bestAsk > maxTicks) this.set('ask', t, 0);
  }
}
