/**
 * One symbol's synthetic market, stepped in 1 ms of simulated time.
 *
 * - A latent fair price F (ticks) follows a random walk whose volatility
 *   switches between a quiet and a volatile regime (Markov).
 * - Liquidity providers quote around a reference R that follows F with a lag
 *   (R += (F - R)·dt/τ): new limit orders are placed around R, and quotes left
 *   on the wrong side of R are pulled. The book therefore trails F.
 * - Takers are partly informed: buy intensity ∝ exp(κ·(F - mid)/s), sell
 *   intensity ∝ exp(-κ·(F - mid)/s), each multiplied by a self-exciting
 *   (Hawkes) term, so trades cluster and order-flow imbalance points at F.
 * Hence order-flow imbalance, book imbalance and microprice carry real but
 * modest information about the mid 10 s ahead; docs/exchange-sim.md gives
 * the numbers. Everything random comes from one seeded Rng.
 */
import { OrderBook, type Side } from './book.ts';
import type { Rng } from './rng.ts';
import type { SymbolSpec } from './symbols.ts';

export interface ModelParams {
  /** Seconds for the quote reference to close 63% of its gap to the fair price. */
  quoteLagSeconds: number;
  /** Sensitivity of taker intensity to the (fair - mid) gap, per typical gap. */
  informedness: number;
  /** Hawkes jump added to a side's taker intensity (orders/s) per taker order; jump/decay < 1 keeps it stationary. */
  hawkesJump: number;
  /** Hawkes decay rate, per second. */
  hawkesDecay: number;
  /** Limit orders and cancels per second per side. */
  limitRate: number;
  cancelRate: number;
  /** Volatility multiplier and mean durations (s) of the volatile regime. */
  volatileMultiplier: number;
  quietMeanSeconds: number;
  volatileMeanSeconds: number;
}

export const DEFAULT_PARAMS: ModelParams = {
  quoteLagSeconds: 4,
  informedness: 0.9,
  hawkesJump: 1.2,
  hawkesDecay: 2,
  limitRate: 45,
  cancelRate: 40,
  volatileMultiplier: 2.5,
  quietMeanSeconds: 600,
  volatileMeanSeconds: 120,
};

export interface Fill {
  id: number;
  tick: number;
  lots: number;
  /** Binance's isBuyerMaker: true when the taker sold. */
  isBuyerMaker: boolean;
}

export interface TakerOrder {
  timeUs: number;
  fills: Fill[];
}

const STEP_S = 0.001;
const FAIR_STEP_MS = 10;

export class MarketModel {
  readonly book: OrderBook;
  /** Latent fair price in ticks (not observable by clients; exposed for calibration). */
  fair: number;
  private reference: number;
  private volatile = false;
  private buyExcitation = 0;
  private sellExcitation = 0;
  private nextTradeId: number;
  private stepCount = 0;
  /** Taker orders executed since the caller last drained them. */
  readonly takerOrders: TakerOrder[] = [];
  readonly tickSigma: number;
  private readonly typicalGap: number;
  private readonly medianLots: number;
  private frozen = false;

  constructor(
    readonly spec: SymbolSpec,
    private readonly rng: Rng,
    private params: ModelParams = DEFAULT_PARAMS,
    firstTradeId = 1,
    firstUpdateId = 1,
  ) {
    const tick = Number(spec.tickSize);
    this.fair = Math.round(spec.initialPrice / tick);
    this.reference = this.fair;
    this.book = new OrderBook(firstUpdateId);
    this.nextTradeId = firstTradeId;
    this.tickSigma = (spec.dailyVol * spec.initialPrice) / Math.sqrt(86400) / tick;
    this.typicalGap = this.tickSigma * Math.sqrt(params.quoteLagSeconds / 2);
    this.medianLots = Math.max(1, Math.round(spec.medianOrderSize / Number(spec.stepSize)));
    this.seedBook();
  }

  get mid(): number {
    return (this.book.bestBid + this.book.bestAsk) / 2;
  }

  get isVolatile(): boolean {
    return this.volatile;
  }

  /** A regime change (FeedOptions.schedule): later steps use these parameters; book, fair price and excitation carry over. */
  setParams(change: Partial<ModelParams>): void {
    this.params = { ...this.params, ...change };
  }

  /** Freeze: no more book or trade activity until unfrozen (fault injection). */
  setFrozen(frozen: boolean): void {
    this.frozen = frozen;
  }

  private seedBook(): void {
    const r = Math.round(this.reference);
    for (let i = 0; i < 400; i++) {
      const d = 1 + this.rng.geometric(i < 100 ? 3 : 150);
      this.book.add('bid', r - d, this.orderLots());
      this.book.add('ask', r + d, this.orderLots());
    }
  }

  private orderLots(): number {
    return Math.max(1, Math.round(this.rng.logNormal(this.medianLots * 1.5, 1.1)));
  }

  /** Advances 1 ms; taker orders land in `takerOrders`, book changes in the book. */
  step(timeUs: number): void {
    this.stepCount++;
    const rng = this.rng;
    if (rng.next() < STEP_S / (this.volatile ? this.params.volatileMeanSeconds : this.params.quietMeanSeconds)) {
      this.volatile = !this.volatile;
    }
    if (this.stepCount % FAIR_STEP_MS === 0) {
      const sigma = this.tickSigma * (this.volatile ? this.params.volatileMultiplier : 1);
      this.fair += sigma * Math.sqrt(STEP_S * FAIR_STEP_MS) * rng.normal();
    }
    this.reference += ((this.fair - this.reference) * STEP_S) / this.params.quoteLagSeconds;
    if (this.frozen) return;

    const decay = Math.exp(-this.params.hawkesDecay * STEP_S);
    this.buyExcitation *= decay;
    this.sellExcitation *= decay;
    const gap = Math.max(-2, Math.min(2, (this.fair - this.mid) / this.typicalGap));
    const activity = this.volatile ? this.params.volatileMultiplier : 1;
    const base = this.spec.takerRate * activity;
    if (rng.next() < (base * Math.exp(this.params.informedness * gap) + this.buyExcitation) * STEP_S) {
      this.buyExcitation += this.params.hawkesJump;
      this.take('bid', timeUs);
    }
    if (rng.next() < (base * Math.exp(-this.params.informedness * gap) + this.sellExcitation) * STEP_S) {
      this.sellExcitation += this.params.hawkesJump;
      this.take('ask', timeUs);
    }

    const limitP = this.params.limitRate * activity * STEP_S;
    if (rng.next() < limitP) this.placeLimit('bid');
    if (rng.next() < limitP) this.placeLimit('ask');
    const cancelP = this.params.cancelRate * activity * STEP_S;
    if (rng.next() < cancelP) this.cancelNearTouch('bid');
    if (rng.next() < cancelP) this.cancelNearTouch('ask');
    this.pullStaleQuotes();
    if (this.stepCount % 1000 === 0) this.book.prune(6000);
  }

  /** A taker order of side `takerSide` (bid = buy) walking the opposite side of the book. */
  private take(takerSide: Side, timeUs: number): void {
    let remaining = Math.max(1, Math.round(this.rng.logNormal(this.medianLots, 1.2)));
    const fills: Fill[] = [];
    const book = this.book;
    for (let levels = 0; remaining > 0 && levels < 20; levels++) {
      const tick = takerSide === 'bid' ? book.bestAsk : book.bestBid;
      if (!Number.isFinite(tick)) break;
      const makerSide: Side = takerSide === 'bid' ? 'ask' : 'bid';
      const available = book.lotsAt(makerSide, tick);
      const lots = Math.min(available, remaining);
      book.set(makerSide, tick, available - lots);
      remaining -= lots;
      fills.push({ id: this.nextTradeId++, tick, lots, isBuyerMaker: takerSide === 'ask' });
    }
    if (fills.length > 0) this.takerOrders.push({ timeUs, fills });
  }

  private placeLimit(side: Side): void {
    const rng = this.rng;
    const book = this.book;
    const u = rng.next();
    const r = this.reference;
    let tick: number;
    if (u < 0.45) {
      // quote at the reference: joins the touch, or improves it when the spread is open
      tick = side === 'bid' ? Math.floor(r - 0.5) : Math.ceil(r + 0.5);
      if (side === 'bid' && Number.isFinite(book.bestBid) && tick < book.bestBid - 2) tick = book.bestBid;
      if (side === 'ask' && Number.isFinite(book.bestAsk) && tick > book.bestAsk + 2) tick = book.bestAsk;
    } else if (u < 0.85) {
      const d = 1 + rng.geometric(4);
      tick = side === 'bid' ? Math.floor(r) - d : Math.ceil(r) + d;
    } else {
      const d = 1 + rng.geometric(250);
      tick = side === 'bid' ? Math.floor(r) - d : Math.ceil(r) + d;
    }
    // Never cross the book: a passive order rests strictly inside its own side.
    if (side === 'bid' && tick >= book.bestAsk) tick = book.bestAsk - 1;
    if (side === 'ask' && tick <= book.bestBid) tick = book.bestBid + 1;
    book.add(side, tick, this.orderLots());
  }

  private cancelNearTouch(side: Side): void {
    const book = this.book;
    const best = side === 'bid' ? book.bestBid : book.bestAsk;
    if (!Number.isFinite(best) || book.levelCount(side) < 60) return;
    const d = this.rng.geometric(6);
    const tick = side === 'bid' ? best - d : best + d;
    const lots = book.lotsAt(side, tick);
    if (lots === 0) return;
    const keep = this.rng.next() < 0.5 ? 0 : Math.floor(lots * this.rng.next());
    book.set(side, tick, keep);
  }

  /** Makers re-quote orders left on the wrong side of the reference: the touch follows R. */
  private pullStaleQuotes(): void {
    const book = this.book;
    const r = this.reference;
    if (book.bestAsk < r - 1 && book.levelCount('ask') > 20 && this.rng.next() < 0.35) this.requote('ask', book.bestAsk);
    if (book.bestBid > r + 1 && book.levelCount('bid') > 20 && this.rng.next() < 0.35) this.requote('bid', book.bestBid);
    // Keep both sides populated so takers always find liquidity.
    if (book.levelCount('ask') < 60) book.add('ask', Math.max(book.bestBid + 1, Math.ceil(r) + 1 + this.rng.geometric(20)), this.orderLots());
    if (book.levelCount('bid') < 60) book.add('bid', Math.min(book.bestAsk - 1, Math.floor(r) - 1 - this.rng.geometric(20)), this.orderLots());
  }

  private requote(side: Side, tick: number): void {
    const book = this.book;
    const lots = book.lotsAt(side, tick);
    book.set(side, tick, 0);
    const r = this.reference;
    const d = this.rng.geometric(3);
    let to = side === 'bid' ? Math.floor(r) - 1 - d : Math.ceil(r) + 1 + d;
    if (side === 'bid' && to >= book.bestAsk) to = book.bestAsk - 1;
    if (side === 'ask' && to <= book.bestBid) to = book.bestBid + 1;
    book.add(side, to, lots);
  }

  get lastTradeId(): number {
    return this.nextTradeId - 1;
  }
}
