/**
 * One symbol's feature state, driven by decoded SBE events in log order:
 * the local book (snapshot + diffs), trade windows, mid and order-flow
 * windows. Time is the exchange's event time; `compute(t, out)` fills the
 * feature vector for event time t.
 */
import type { hotpath, spot } from '@hotpath/sbe';
import { LocalBook, type DiffResult } from './book.ts';
import { FEATURE_COUNT, OFI_WINDOWS_S, WINDOWS_S } from './features.ts';
import { StateFormatError, StateReader, StateWriter } from './snapshot.ts';
import { RollingSums } from './windows.ts';

const US = 1_000_000;
const WINDOWS_US = WINDOWS_S.map((s) => s * US);
const OFI_US = OFI_WINDOWS_S.map((s) => s * US);
/** Quantity/price mantissas are at exponent -8 on Binance; features use decimal units. */
const SCALE = 1e-8;

// trade channels
const T_PRICE = 0;
const T_QTY = 1;
const T_BUY = 2;
const T_SELL = 3;
const T_NOTIONAL = 4;
const T_RET2 = 5;

export class FeatureEngine {
  readonly book = new LocalBook();
  private readonly trades = new RollingSums(WINDOWS_US, 6);
  private readonly mids = new RollingSums(WINDOWS_US, 1);
  private readonly ofi = new RollingSums(OFI_US, 1);
  private readonly scratch = new Float64Array(6);
  private readonly one = new Float64Array(1);
  private readonly tradeView = new Float64Array(1 + 3 * 6);
  private readonly midView = new Float64Array(1 + 3);
  private readonly ofiView = new Float64Array(1 + 3);
  /** Latest event time seen, µs. */
  eventTimeUs = 0;
  private lastTradePrice = Number.NaN;
  private lastTradeTimeUs = Number.NaN;
  private prevBid = Number.NaN;
  private prevBidQty = 0;
  private prevAsk = Number.NaN;
  private prevAskQty = 0;
  private lastMid = Number.NaN;
  /** Event time of the last re-anchoring (snapshot applied), µs. */
  lastReanchorUs = Number.NaN;

  constructor(readonly symbol: string) {}

  private clock(t: number): void {
    if (t > this.eventTimeUs) this.eventTimeUs = t;
  }

  /** A REST snapshot (hotpath DepthSnapshot) re-anchors the book; 'gap' when it is older than the buffered diffs. */
  applySnapshot(s: hotpath.DepthSnapshotDecoder, eventTimeUs: number): 'applied' | 'gap' {
    const bids: [number, number][] = [];
    const asks: [number, number][] = [];
    const b = s.bids();
    while (b.next()) bids.push([b.priceMantissa, b.qtyMantissa]);
    const a = s.asks();
    while (a.next()) asks.push([a.priceMantissa, a.qtyMantissa]);
    const result = this.book.applySnapshot(s.lastUpdateId, bids, asks);
    this.lastReanchorUs = eventTimeUs;
    this.clock(eventTimeUs);
    this.onTopChanged(this.eventTimeUs);
    return result;
  }

  /** A depth diff; on 'gap' the caller re-anchors (invalidate, then the next snapshot). */
  applyDiff(d: spot.DepthDiffStreamEventDecoder): DiffResult {
    const t = d.eventTime;
    this.clock(t);
    const result = this.book.applyDiff(d.firstBookUpdateId, d.lastBookUpdateId, (set) => {
      const b = d.bids();
      while (b.next()) set(true, b.priceMantissa, b.qtyMantissa);
      const a = d.asks();
      while (a.next()) set(false, a.priceMantissa, a.qtyMantissa);
    });
    if (result === 'applied') this.onTopChanged(t);
    return result;
  }

  applyTrades(e: spot.TradesStreamEventDecoder): void {
    const t = e.transactTime;
    this.clock(e.eventTime);
    const g = e.trades();
    const v = this.scratch;
    while (g.next()) {
      const price = g.priceMantissa * SCALE;
      const qty = g.qtyMantissa * SCALE;
      const r = Number.isNaN(this.lastTradePrice) ? 0 : Math.log(price / this.lastTradePrice);
      v[T_PRICE] = price;
      v[T_QTY] = qty;
      v[T_BUY] = g.isBuyerMaker ? 0 : qty; // buyer is maker → the taker sold
      v[T_SELL] = g.isBuyerMaker ? qty : 0;
      v[T_NOTIONAL] = price * qty;
      v[T_RET2] = r * r;
      this.trades.push(t, v);
      this.lastTradePrice = price;
      this.lastTradeTimeUs = t;
    }
  }

  /**
   * Trades recovered by REST after a trade-id gap. Windows need event times in
   * order, so trades older than the newest one already applied are counted
   * and left out (returned); the rest join the windows.
   */
  applyBackfill(b: hotpath.TradeBackfillDecoder): number {
    const g = b.trades();
    const v = this.scratch;
    let late = 0;
    while (g.next()) {
      const t = g.timeUs;
      if (!Number.isNaN(this.lastTradeTimeUs) && t < this.lastTradeTimeUs) {
        late++;
        continue;
      }
      const price = g.priceMantissa * SCALE;
      const qty = g.qtyMantissa * SCALE;
      const r = Number.isNaN(this.lastTradePrice) ? 0 : Math.log(price / this.lastTradePrice);
      v[T_PRICE] = price;
      v[T_QTY] = qty;
      v[T_BUY] = g.isBuyerMaker ? 0 : qty;
      v[T_SELL] = g.isBuyerMaker ? qty : 0;
      v[T_NOTIONAL] = price * qty;
      v[T_RET2] = r * r;
      this.trades.push(t, v);
      this.lastTradePrice = price;
      this.lastTradeTimeUs = t;
      this.clock(t);
    }
    return late;
  }

  /** Cont–Kukanov–Stoikov order-flow event from the change of the best quotes, and the mid series. */
  private onTopChanged(t: number): void {
    const book = this.book;
    if (!book.isSane()) return;
    const bid = book.bestBid;
    const ask = book.bestAsk;
    const bq = book.bestBidQty * SCALE;
    const aq = book.bestAskQty * SCALE;
    if (!Number.isNaN(this.prevBid)) {
      let e = 0;
      if (bid >= this.prevBid) e += bq;
      if (bid <= this.prevBid) e -= this.prevBidQty;
      if (ask <= this.prevAsk) e -= aq;
      if (ask >= this.prevAsk) e += this.prevAskQty;
      if (e !== 0) {
        this.one[0] = e;
        this.ofi.push(t, this.one);
      }
    }
    this.prevBid = bid;
    this.prevAsk = ask;
    this.prevBidQty = bq;
    this.prevAskQty = aq;
    const mid = ((bid + ask) / 2) * SCALE;
    if (mid !== this.lastMid) {
      this.lastMid = mid;
      this.one[0] = mid;
      this.mids.push(t, this.one);
    }
  }

  /** Fills `out` (length FEATURE_COUNT) for event time t (µs); NaN where a value is undefined. */
  compute(t: number, out: Float64Array): Float64Array {
    if (out.length !== FEATURE_COUNT) throw new RangeError(`feature vector needs ${FEATURE_COUNT} slots`);
    // Reads never evict: see RollingSums (bit-exact replays need eviction tied to events only).
    let k = 0;
    const lastPrice = this.lastTradePrice;
    const tq = this.tradeView;
    const mq = this.midView;
    for (let w = 0; w < WINDOWS_US.length; w++) {
      this.trades.query(w, t, tq);
      this.mids.query(w, t, mq);
      // layout: [count, sums x6, before x6, first x6] and [count, sum, before, first]
      const midRef = !Number.isNaN(mq[2]!) ? mq[2]! : mq[3]!;
      out[k++] = Number.isNaN(midRef) || Number.isNaN(this.lastMid) ? 0 : Math.log(this.lastMid / midRef) * 1e4;
      const priceRef = !Number.isNaN(tq[1 + 6 + T_PRICE]!) ? tq[1 + 6 + T_PRICE]! : tq[1 + 12 + T_PRICE]!;
      out[k++] = Number.isNaN(priceRef) || Number.isNaN(lastPrice) ? 0 : Math.log(lastPrice / priceRef) * 1e4;
      const n = tq[0]!;
      const qty = n > 0 ? tq[1 + T_QTY]! : 0;
      const vwap = qty > 0 ? tq[1 + T_NOTIONAL]! / qty : Number.NaN;
      out[k++] = qty > 0 ? (lastPrice / vwap - 1) * 1e4 : 0;
      out[k++] = n;
      const buy = n > 0 ? tq[1 + T_BUY]! : 0;
      const sell = n > 0 ? tq[1 + T_SELL]! : 0;
      out[k++] = buy;
      out[k++] = sell;
      out[k++] = buy + sell > 0 ? (buy - sell) / (buy + sell) : 0;
      out[k++] = n > 0 ? qty / n : 0;
      out[k++] = n > 0 ? Math.sqrt(Math.max(0, tq[1 + T_RET2]!)) * 1e4 : 0;
    }
    out[k++] = Number.isNaN(this.lastTradeTimeUs) ? Number.NaN : (t - this.lastTradeTimeUs) / US;
    const book = this.book;
    const sane = book.isSane();
    const bid = book.bestBid * SCALE;
    const ask = book.bestAsk * SCALE;
    const mid = (bid + ask) / 2;
    out[k++] = sane ? ((ask - bid) / mid) * 1e4 : Number.NaN;
    const bq = book.bestBidQty;
    const aq = book.bestAskQty;
    const micro = (bid * aq + ask * bq) / (aq + bq);
    out[k++] = sane ? (micro / mid - 1) * 1e4 : Number.NaN;
    for (const n of [1, 5, 10]) {
      const b = book.depth(true, n);
      const a = book.depth(false, n);
      out[k++] = sane && a + b > 0 ? (b - a) / (a + b) : Number.NaN;
    }
    out[k++] = sane ? book.depthWithinBps(true, 10) * SCALE : Number.NaN;
    out[k++] = sane ? book.depthWithinBps(false, 10) * SCALE : Number.NaN;
    for (let w = 0; w < OFI_US.length; w++) out[k++] = this.ofi.query(w, t, this.ofiView)[0]! > 0 ? this.ofiView[1]! : 0;
    const recentReanchor = !Number.isNaN(this.lastReanchorUs) && t - this.lastReanchorUs < 10 * US;
    out[k++] = recentReanchor || Math.abs(out[0]!) > 20 ? 1 : 0; // re-anchored in the last 10 s, or the mid jumped > 20 bps in 1 s
    return out;
  }

  /** The engine's whole state, for checkpoints (see snapshot.ts). */
  serialize(): Buffer {
    const w = new StateWriter().header();
    for (const v of [this.eventTimeUs, this.lastTradePrice, this.lastTradeTimeUs, this.prevBid, this.prevBidQty, this.prevAsk, this.prevAskQty, this.lastMid, this.lastReanchorUs]) w.f64(v);
    this.book.writeTo(w);
    this.trades.writeTo(w);
    this.mids.writeTo(w);
    this.ofi.writeTo(w);
    return w.finish();
  }

  static restore(symbol: string, state: Buffer): FeatureEngine {
    const r = new StateReader(state);
    r.header();
    const e = new FeatureEngine(symbol);
    e.eventTimeUs = r.f64();
    e.lastTradePrice = r.f64();
    e.lastTradeTimeUs = r.f64();
    e.prevBid = r.f64();
    e.prevBidQty = r.f64();
    e.prevAsk = r.f64();
    e.prevAskQty = r.f64();
    e.lastMid = r.f64();
    e.lastReanchorUs = r.f64();
    e.book.readFrom(r);
    e.trades.readFrom(r);
    e.mids.readFrom(r);
    e.ofi.readFrom(r);
    if (!r.done) throw new StateFormatError('trailing bytes in feature state');
    return e;
  }
}
