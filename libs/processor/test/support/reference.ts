/**
 * A slow, obviously-correct reference for the feature set, recomputed from the
 * raw Binance JSON events — an oracle that shares no code with FeatureEngine:
 *
 * - prices and quantities are parsed here from the decimal strings (not by the
 *   SBE transcoder) into integer mantissas at exponent −8;
 * - the book is two plain Maps, price → quantity, kept by Binance's documented
 *   procedure (buffer diffs, snapshot, drop u <= lastUpdateId, then every diff
 *   must continue the previous one: U = previous u + 1, strictly); a futures
 *   diff (it has `pu`) by the futures procedure, read from the raw fields, not
 *   the live path's mapping (libs/recordings/src/futures.ts): drop u <
 *   lastUpdateId, the first one kept has U <= lastUpdateId <= u, every later
 *   one pu = previous u;
 * - COIN-M quantities (contracts of `contractUsd`) become base units at their
 *   price: round(contracts × contractUsd / price) at exponent −8, half up;
 * - trades and top-of-book observations are plain arrays, never evicted; a
 *   window is recomputed at every query by filtering the array by time;
 * - ratios are formed from exact integers (checked: every sum a safe integer;
 *   BigInt where a product could exceed 2^53) and divided once, so where the
 *   engine scales to decimals first the two differ only by rounding (the
 *   comparison's tolerances say how much).
 *
 * Definitions, as the engine documents them (libs/features/src/engine.ts):
 * - window W at query time t holds the events with time in (t − W, t];
 * - a window's reference value (for returns) is the value in effect at the
 *   window's start: the last observation at or before t − W, or, when there
 *   is none, the first one inside the window;
 * - trades are placed at their trade time (T), the clock advances with event
 *   times (E); a trade's log return is against the previous trade *overall*
 *   (so the first trade of a window carries the return from a trade outside
 *   it — realized volatility counts the moves that landed in the window);
 * - the top of book is observed after every book change (the snapshot, each
 *   applied diff) when the book is sane (both sides, not crossed); OFI is
 *   Cont–Kukanov–Stoikov's e_n between consecutive sane observations, mids
 *   come from the same observations;
 * - a snapshot is observed at the clock (the newest event time seen).
 */
import { FEATURE_NAMES, OFI_WINDOWS_S, WINDOWS_S } from '@hotpath/features';

const US = 1_000_000;
const SCALE = 1e-8;

/** "61837.63000000" → 6183763000000 (exponent −8), exactly. */
export function mantissa(decimal: string): number {
  const m = /^(\d+)(?:\.(\d{0,8}))?$/.exec(decimal);
  if (m === null) throw new Error(`not a decimal with at most 8 places: ${decimal}`);
  const value = BigInt(m[1]!) * 100_000_000n + BigInt((m[2] ?? '').padEnd(8, '0'));
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`mantissa of ${decimal} is not a safe integer`);
  return Number(value);
}

interface Trade {
  timeUs: number;
  price: number;
  qty: number;
  /** Buyer is maker: the taker sold. */
  buyerMaker: boolean;
}

interface Top {
  timeUs: number;
  bid: number;
  bidQty: number;
  ask: number;
  askQty: number;
}

interface JsonDiff {
  E: number;
  U: number;
  u: number;
  /** Futures only: the previous event's u. */
  pu?: number;
  b: [string, string][];
  a: [string, string][];
}

export class ReferenceFeatures {
  /** @param contractUsd COIN-M: the value of one contract in USD; undefined for linear markets (quantities already in base units). */
  constructor(private readonly contractUsd?: number) {}

  /** A quantity as a base-unit mantissa: as written, or COIN-M contracts at `price` converted (half up). */
  private qty(qty: string, price: string): number {
    const q = mantissa(qty);
    if (this.contractUsd === undefined) return q;
    const p = BigInt(mantissa(price));
    const num = BigInt(q) * BigInt(this.contractUsd) * 100_000_000n;
    // round half up: floor(num / p + 1/2)
    return Number((num * 2n + p) / (p * 2n));
  }

  readonly bids = new Map<number, number>();
  readonly asks = new Map<number, number>();
  private lastUpdateId = -1;
  private buffered: JsonDiff[] = [];
  /** The first diff after a snapshot may overlap it (U <= lastUpdateId + 1 <= u); every later one continues exactly. */
  private firstAfterSnapshot = false;
  /** Newest event time seen (µs). */
  clockUs = 0;
  readonly trades: Trade[] = [];
  readonly tops: Top[] = [];
  private lastSnapshotUs = Number.NaN;
  /** Counts book edits: the book's features are computed once per book state (they do not depend on t). */
  private bookChanges = 0;
  private bookCache: { changes: number; values: Map<string, number> } | undefined;

  /** One raw recorded payload (trade, depthUpdate, REST snapshot; anything else is not a feature input). */
  apply(data: unknown): void {
    const o = data as Record<string, unknown>;
    if (o['e'] === 'trade') {
      const t = o as { E: number; T: number; p: string; q: string; m: boolean };
      this.clockUs = Math.max(this.clockUs, t.E * 1000);
      this.trades.push({ timeUs: t.T * 1000, price: mantissa(t.p), qty: this.qty(t.q, t.p), buyerMaker: t.m });
    } else if (o['e'] === 'depthUpdate') {
      const d = o as unknown as JsonDiff;
      this.clockUs = Math.max(this.clockUs, d.E * 1000);
      if (this.lastUpdateId < 0) this.buffered.push(d);
      else this.applyDiff(d);
    } else if (typeof o['lastUpdateId'] === 'number') {
      this.applySnapshot(o as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] });
    }
  }

  private applySnapshot(s: { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] }): void {
    this.bids.clear();
    this.asks.clear();
    this.bookChanges++;
    for (const [p, q] of s.bids) this.set(this.bids, p, q);
    for (const [p, q] of s.asks) this.set(this.asks, p, q);
    this.lastUpdateId = s.lastUpdateId;
    this.firstAfterSnapshot = true;
    const pending = this.buffered;
    this.buffered = [];
    for (const d of pending) this.applyDiff(d, false);
    this.lastSnapshotUs = this.clockUs;
    this.observe(this.clockUs);
  }

  private applyDiff(d: JsonDiff, observe = true): void {
    let continues: boolean;
    if (d.pu !== undefined) {
      // Binance futures: drop events with u < lastUpdateId; the first one kept has U <= lastUpdateId <= u, every later pu = previous u
      if (d.u < this.lastUpdateId) return;
      continues = this.firstAfterSnapshot ? d.U <= this.lastUpdateId && d.u >= this.lastUpdateId : d.pu === this.lastUpdateId;
    } else {
      // Binance spot: drop events with u <= lastUpdateId; the first one kept straddles lastUpdateId + 1, every later U = previous u + 1
      if (d.u <= this.lastUpdateId) return;
      const next = this.lastUpdateId + 1;
      continues = this.firstAfterSnapshot ? d.U <= next && d.u >= next : d.U === next;
    }
    if (!continues) throw new Error(`diff ${d.U}..${d.u} does not continue ${this.lastUpdateId}: the fixture has no gaps`);
    this.firstAfterSnapshot = false;
    for (const [p, q] of d.b) this.set(this.bids, p, q);
    for (const [p, q] of d.a) this.set(this.asks, p, q);
    this.lastUpdateId = d.u;
    if (observe) this.observe(d.E * 1000);
  }

  private set(side: Map<number, number>, price: string, qty: string): void {
    this.bookChanges++;
    const q = this.qty(qty, price);
    if (q === 0) side.delete(mantissa(price));
    else side.set(mantissa(price), q);
  }

  /** Levels best first: bids descending, asks ascending. */
  levels(bid: boolean): [number, number][] {
    return [...(bid ? this.bids : this.asks)].sort((x, y) => (bid ? y[0] - x[0] : x[0] - y[0]));
  }

  /** Best (price, qty) by scanning every level, or undefined for an empty side. */
  best(bid: boolean): { price: number; qty: number } | undefined {
    let best: { price: number; qty: number } | undefined;
    for (const [price, qty] of bid ? this.bids : this.asks) {
      if (best === undefined || (bid ? price > best.price : price < best.price)) best = { price, qty };
    }
    return best;
  }

  private sane(): boolean {
    const b = this.best(true);
    const a = this.best(false);
    return b !== undefined && a !== undefined && b.price < a.price;
  }

  private observe(timeUs: number): void {
    if (!this.sane()) return;
    const b = this.best(true)!;
    const a = this.best(false)!;
    this.tops.push({ timeUs, bid: b.price, bidQty: b.qty, ask: a.price, askQty: a.qty });
  }

  /** The features of the book as it stands. */
  private bookFeatures(): Map<string, number> {
    if (this.bookCache?.changes === this.bookChanges) return this.bookCache.values;
    const f = new Map<string, number>();
    const sane = this.sane();
    const b = this.best(true);
    const a = this.best(false);
    if (sane) {
      const bid = b!.price;
      const ask = a!.price;
      // (ask − bid) / ((bid + ask) / 2)
      f.set('spread_bps', ((2 * (ask - bid)) / (bid + ask)) * 1e4);
      // microprice = (bid·Qa + ask·Qb)/(Qa + Qb); microprice / mid − 1 = (bid − ask)(Qa − Qb) / ((bid + ask)(Qa + Qb))
      const num = BigInt(bid - ask) * BigInt(a!.qty - b!.qty);
      const den = BigInt(bid + ask) * BigInt(a!.qty + b!.qty);
      f.set('microprice_dev_bps', (Number(num) / Number(den)) * 1e4);
      const bidLevels = this.levels(true);
      const askLevels = this.levels(false);
      for (const n of [1, 5, 10]) {
        const sb = bidLevels.slice(0, n).reduce((s, [, q]) => s + q, 0);
        const sa = askLevels.slice(0, n).reduce((s, [, q]) => s + q, 0);
        f.set(`book_imbalance_${n}`, sa + sb > 0 ? (sb - sa) / (sa + sb) : Number.NaN);
      }
      // within 10 bps of the mid: bid p >= mid·(1 − 0.001) ⇔ 20000·p >= 9990·(bid + ask); ask p <= mid·(1 + 0.001) ⇔ 20000·p <= 10010·(bid + ask)
      const two = BigInt(bid + ask);
      f.set('depth_10bps_bid', bidLevels.filter(([p]) => 20_000n * BigInt(p) >= 9_990n * two).reduce((s, [, q]) => s + q, 0) * SCALE);
      f.set('depth_10bps_ask', askLevels.filter(([p]) => 20_000n * BigInt(p) <= 10_010n * two).reduce((s, [, q]) => s + q, 0) * SCALE);
    } else {
      for (const name of ['spread_bps', 'microprice_dev_bps', 'book_imbalance_1', 'book_imbalance_5', 'book_imbalance_10', 'depth_10bps_bid', 'depth_10bps_ask']) f.set(name, Number.NaN);
    }

    this.bookCache = { changes: this.bookChanges, values: f };
    return f;
  }

  /** Every feature at event time t (µs), by name. */
  features(t: number): Map<string, number> {
    if (t < this.clockUs) throw new Error('features are read at or after the newest event');
    const f = new Map<string, number>();
    const trades = this.trades;
    const lastTrade = trades.at(-1);
    const lastTop = this.tops.at(-1);
    const logRatio = (a: number, b: number): number => Math.log(a / b) * 1e4;
    /** Each trade's log return against the trade before it (the first trade has none: 0). */
    const returns = trades.map((x, i) => (i === 0 ? 0 : Math.log(x.price / trades[i - 1]!.price)));

    for (const w of WINDOWS_S) {
      const cutoff = t - w * US;
      const inWindow = trades.filter((x) => x.timeUs > cutoff);
      const before = trades.findLast((x) => x.timeUs <= cutoff);

      const midsBefore = this.tops.findLast((x) => x.timeUs <= cutoff);
      const midRef = midsBefore ?? this.tops.find((x) => x.timeUs > cutoff);
      f.set(`ret_mid_bps_${w}s`, lastTop === undefined || midRef === undefined ? 0 : logRatio(lastTop.bid + lastTop.ask, midRef.bid + midRef.ask));

      const priceRef = before ?? inWindow[0];
      f.set(`ret_trade_bps_${w}s`, lastTrade === undefined || priceRef === undefined ? 0 : logRatio(lastTrade.price, priceRef.price));

      // integer mantissa sums, checked exact (every partial sum a safe integer)
      const exact = (x: number): number => {
        if (!Number.isSafeInteger(x)) throw new Error(`${x} is beyond exact integer arithmetic: use BigInt here`);
        return x;
      };
      let qty = 0;
      let buy = 0;
      let sell = 0;
      /** Σ q·(last − p) = last·Σq − Σ p·q, exactly (the products pass 2^53). */
      let lastMinusNotional = 0n;
      let notional = 0;
      for (const x of inWindow) {
        qty = exact(qty + x.qty);
        if (x.buyerMaker) sell = exact(sell + x.qty);
        else buy = exact(buy + x.qty);
        lastMinusNotional += BigInt(x.qty) * BigInt(lastTrade!.price - x.price);
        notional += x.qty * x.price;
      }
      // last / vwap − 1 = (last·Σq − Σ p·q) / Σ p·q: the numerator exact, the denominator to a rounding
      f.set(`vwap_dev_bps_${w}s`, qty > 0 ? (Number(lastMinusNotional) / notional) * 1e4 : 0);
      f.set(`trade_count_${w}s`, inWindow.length);
      f.set(`buy_volume_${w}s`, buy * SCALE);
      f.set(`sell_volume_${w}s`, sell * SCALE);
      f.set(`volume_imbalance_${w}s`, buy + sell > 0 ? (buy - sell) / (buy + sell) : 0);
      f.set(`mean_trade_size_${w}s`, inWindow.length > 0 ? (qty / inWindow.length) * SCALE : 0);
      let sumR2 = 0;
      trades.forEach((x, i) => {
        if (x.timeUs > cutoff) sumR2 += returns[i]! * returns[i]!;
      });
      f.set(`realized_vol_bps_${w}s`, Math.sqrt(sumR2) * 1e4);
    }

    f.set('time_since_last_trade_s', lastTrade === undefined ? Number.NaN : (t - lastTrade.timeUs) / US);

    for (const [name, value] of this.bookFeatures()) f.set(name, value);

    for (const w of OFI_WINDOWS_S) {
      const cutoff = t - w * US;
      let ofi = 0;
      for (let n = 1; n < this.tops.length; n++) {
        const cur = this.tops[n]!;
        if (cur.timeUs <= cutoff) continue;
        const prev = this.tops[n - 1]!;
        // Cont, Kukanov & Stoikov (2014), e_n
        let e = 0;
        if (cur.bid >= prev.bid) e += cur.bidQty;
        if (cur.bid <= prev.bid) e -= prev.bidQty;
        if (cur.ask <= prev.ask) e -= cur.askQty;
        if (cur.ask >= prev.ask) e += prev.askQty;
        ofi += e;
      }
      f.set(`ofi_${w}s`, ofi * SCALE);
    }

    const recentSnapshot = !Number.isNaN(this.lastSnapshotUs) && t - this.lastSnapshotUs < 10 * US;
    f.set('price_discontinuity', recentSnapshot || Math.abs(f.get('ret_mid_bps_1s')!) > 20 ? 1 : 0);

    for (const name of FEATURE_NAMES) if (!f.has(name)) throw new Error(`reference has no definition of ${name}`);
    if (f.size !== FEATURE_NAMES.length) throw new Error('reference defines features the set does not have');
    return f;
  }
}
