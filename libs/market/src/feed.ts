/**
 * Turns the market models into Binance's SBE stream frames, in simulated
 * time: trades as they happen (one TradesStreamEvent per taker order, all of
 * its fills), bestBidAsk when the top of book changes, @depth diffs every
 * 20 ms and @depth20 snapshots every 50 ms — Binance's documented cadences.
 * Also keeps what REST needs: recent trades, aggregate trades, book snapshots.
 * Deterministic: the frames depend only on (seed, start time, symbols, params).
 */
import { spot } from '@hotpath/sbe';
import type { Level } from './book.ts';
import { MarketModel, type ModelParams, type TakerOrder } from './model.ts';
import { MARKET_PROFILES, type MarketProfile, type MarketProfileName } from './profiles.ts';
import { Rng } from './rng.ts';
import { PRICE_EXPONENT, QTY_EXPONENT, SYMBOLS, unitMantissa, type SymbolSpec } from './symbols.ts';

export type StreamKind = 'trade' | 'bestBidAsk' | 'depth' | 'depth20';

export interface Frame {
  symbol: string;
  kind: StreamKind;
  timeUs: number;
  bytes: Buffer;
}

export interface TradeRecord {
  id: number;
  tick: number;
  lots: number;
  timeUs: number;
  isBuyerMaker: boolean;
}

export interface AggTradeRecord {
  aggId: number;
  tick: number;
  lots: number;
  firstId: number;
  lastId: number;
  timeUs: number;
  isBuyerMaker: boolean;
}

/** What the server needs from a market: the synthetic one or a replay. */
export interface MarketSource {
  readonly symbols: readonly string[];
  /** Current simulated time, µs. */
  readonly simTimeUs: number;
  advanceTo(untilUs: number, emit: (frame: Frame) => void): void;
  has(symbol: string): boolean;
  spec(symbol: string): SymbolSpec;
  /** Mantissa (exponent -8) of one price tick / one quantity lot of the levels and trades below. */
  units(symbol: string): { tickMantissa: number; lotMantissa: number };
  depthSnapshot(symbol: string, limit: number): { lastUpdateId: number; bids: Level[]; asks: Level[] };
  recentTrades(symbol: string): readonly TradeRecord[];
  recentAggTrades(symbol: string): readonly AggTradeRecord[];
  setFrozen(symbol: string, frozen: boolean): void;
}

export interface FeedOptions {
  symbols: string[];
  seed: number;
  /** Simulated clock origin, µs since the epoch. */
  startTimeUs: number;
  /** A named parameter set (profiles.ts; default `default`); `params` and `specs` override it. */
  profile?: MarketProfileName;
  params?: ModelParams;
  /** Per-symbol overrides of the instrument's spec (SYMBOLS): volatility, taker rate, order size… */
  specs?: Readonly<Record<string, Partial<SymbolSpec>>>;
  /**
   * Regime changes: from `atUs` (simulated time) on, every symbol's model takes these parameters, e.g.
   * `{ informedness: -0.9 }` flips the informed flow's sign (the lifecycle soak's decay). Default none.
   */
  schedule?: readonly { atUs: number; params: Partial<ModelParams> }[];
}

const STEP_US = 1000;
const DIFF_EVERY_MS = 20;
const SNAPSHOT_EVERY_MS = 50;
const TRADE_HISTORY = 10_000;
/** Binance stamps an event after the match; a fixed delay keeps frames deterministic. */
const EVENT_DELAY_US = 150;

class SymbolFeed {
  readonly model: MarketModel;
  readonly tickMantissa: number;
  readonly lotMantissa: number;
  readonly trades: TradeRecord[] = [];
  readonly aggTrades: AggTradeRecord[] = [];
  private nextAggId = 1;
  lastBboKey = '';

  constructor(
    readonly spec: SymbolSpec,
    seed: number,
    params: ModelParams,
  ) {
    this.model = new MarketModel(spec, new Rng(seed), params, 1_000_000, 10_000_000);
    this.tickMantissa = unitMantissa(spec.tickSize, PRICE_EXPONENT);
    this.lotMantissa = unitMantissa(spec.stepSize, QTY_EXPONENT);
  }

  record(order: TakerOrder): void {
    let agg: AggTradeRecord | undefined;
    for (const f of order.fills) {
      this.trades.push({ id: f.id, tick: f.tick, lots: f.lots, timeUs: order.timeUs, isBuyerMaker: f.isBuyerMaker });
      if (agg !== undefined && agg.tick === f.tick) {
        agg.lots += f.lots;
        agg.lastId = f.id;
      } else {
        agg = { aggId: this.nextAggId++, tick: f.tick, lots: f.lots, firstId: f.id, lastId: f.id, timeUs: order.timeUs, isBuyerMaker: f.isBuyerMaker };
        this.aggTrades.push(agg);
      }
    }
    if (this.trades.length > TRADE_HISTORY * 1.5) this.trades.splice(0, this.trades.length - TRADE_HISTORY);
    if (this.aggTrades.length > TRADE_HISTORY * 1.5) this.aggTrades.splice(0, this.aggTrades.length - TRADE_HISTORY);
  }
}

/** Stable per-symbol seed so adding a symbol never changes another symbol's market. */
function symbolSeed(seed: number, symbol: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < symbol.length; i++) h = Math.imul(h ^ symbol.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class MarketFeed implements MarketSource {
  readonly symbols: readonly string[];
  private readonly feeds = new Map<string, SymbolFeed>();
  /** Simulated time of the next step, µs. */
  simTimeUs: number;
  private stepIndex = 0;
  private readonly schedule: readonly { atUs: number; params: Partial<ModelParams> }[];
  private nextChange = 0;
  private readonly scratch = Buffer.alloc(64 * 1024);
  private readonly trade = new spot.TradesStreamEventEncoder();
  private readonly bbo = new spot.BestBidAskStreamEventEncoder();
  private readonly diff = new spot.DepthDiffStreamEventEncoder();
  private readonly snap = new spot.DepthSnapshotStreamEventEncoder();
  private readonly levelsBid: Level[] = [];
  private readonly levelsAsk: Level[] = [];

  constructor(options: FeedOptions) {
    this.symbols = options.symbols.map((s) => s.toUpperCase());
    this.schedule = [...(options.schedule ?? [])].sort((a, b) => a.atUs - b.atUs);
    for (const symbol of this.symbols) {
      const base = SYMBOLS[symbol];
      if (base === undefined) throw new Error(`unknown symbol ${symbol}; known: ${Object.keys(SYMBOLS).join(', ')}`);
      const profile: MarketProfile = MARKET_PROFILES[options.profile ?? 'default'];
      const spec = { ...base, ...profile.specs[symbol], ...options.specs?.[symbol], symbol };
      this.feeds.set(symbol, new SymbolFeed(spec, symbolSeed(options.seed, symbol), options.params ?? profile.params));
    }
    this.simTimeUs = options.startTimeUs;
  }

  model(symbol: string): MarketModel {
    return this.feedOf(symbol).model;
  }

  spec(symbol: string): SymbolSpec {
    return this.feedOf(symbol).spec;
  }

  private feedOf(symbol: string): SymbolFeed {
    const f = this.feeds.get(symbol.toUpperCase());
    if (f === undefined) throw new RangeError(`symbol ${symbol} is not simulated`);
    return f;
  }

  has(symbol: string): boolean {
    return this.feeds.has(symbol.toUpperCase());
  }

  setFrozen(symbol: string, frozen: boolean): void {
    this.feedOf(symbol).model.setFrozen(frozen);
  }

  /** Runs the market up to (excluding) `untilUs`, emitting every frame in order. */
  advanceTo(untilUs: number, emit: (frame: Frame) => void): void {
    while (this.simTimeUs < untilUs) {
      const t = this.simTimeUs;
      const ms = this.stepIndex;
      while (this.nextChange < this.schedule.length && this.schedule[this.nextChange]!.atUs <= t) {
        for (const feed of this.feeds.values()) feed.model.setParams(this.schedule[this.nextChange]!.params);
        this.nextChange++;
      }
      for (const symbol of this.symbols) {
        const feed = this.feeds.get(symbol)!;
        const model = feed.model;
        model.step(t);
        for (const order of model.takerOrders) {
          feed.record(order);
          emit({ symbol, kind: 'trade', timeUs: t, bytes: this.encodeTrade(feed, order) });
        }
        model.takerOrders.length = 0;
        const book = model.book;
        const bboKey = `${book.bestBid}:${book.lotsAt('bid', book.bestBid)}:${book.bestAsk}:${book.lotsAt('ask', book.bestAsk)}`;
        if (bboKey !== feed.lastBboKey) {
          feed.lastBboKey = bboKey;
          emit({ symbol, kind: 'bestBidAsk', timeUs: t, bytes: this.encodeBbo(feed, t) });
        }
        if ((ms + 1) % DIFF_EVERY_MS === 0) {
          const frame = this.encodeDiff(feed, t);
          if (frame !== undefined) emit({ symbol, kind: 'depth', timeUs: t, bytes: frame });
        }
        if ((ms + 1) % SNAPSHOT_EVERY_MS === 0) emit({ symbol, kind: 'depth20', timeUs: t, bytes: this.encodeDepth20(feed, t) });
      }
      this.stepIndex++;
      this.simTimeUs += STEP_US;
    }
  }

  private encodeTrade(feed: SymbolFeed, order: TakerOrder): Buffer {
    const e = this.trade
      .wrapAndApplyHeader(this.scratch)
      .eventTime(order.timeUs + EVENT_DELAY_US)
      .transactTime(order.timeUs)
      .priceExponent(PRICE_EXPONENT)
      .qtyExponent(QTY_EXPONENT);
    const g = e.tradesCount(order.fills.length);
    for (const f of order.fills) {
      g.next()
        .id(f.id)
        .priceMantissa(f.tick * feed.tickMantissa)
        .qtyMantissa(f.lots * feed.lotMantissa)
        .isBuyerMaker(f.isBuyerMaker ? spot.BoolEnum.True : spot.BoolEnum.False);
    }
    e.symbol(feed.spec.symbol);
    return Buffer.from(this.scratch.subarray(0, e.encodedLength));
  }

  private encodeBbo(feed: SymbolFeed, t: number): Buffer {
    const book = feed.model.book;
    const e = this.bbo
      .wrapAndApplyHeader(this.scratch)
      .eventTime(t + EVENT_DELAY_US)
      .bookUpdateId(book.updateId)
      .priceExponent(PRICE_EXPONENT)
      .qtyExponent(QTY_EXPONENT)
      .bidPriceMantissa(book.bestBid * feed.tickMantissa)
      .bidQtyMantissa(book.lotsAt('bid', book.bestBid) * feed.lotMantissa)
      .askPriceMantissa(book.bestAsk * feed.tickMantissa)
      .askQtyMantissa(book.lotsAt('ask', book.bestAsk) * feed.lotMantissa)
      .symbol(feed.spec.symbol);
    return Buffer.from(this.scratch.subarray(0, e.encodedLength));
  }

  private encodeDiff(feed: SymbolFeed, t: number): Buffer | undefined {
    const diff = feed.model.book.cutDiff();
    if (diff === undefined) return undefined;
    // groupSize16Encoding caps a side at 65535 levels; a 20 ms window never comes close.
    const e = this.diff
      .wrapAndApplyHeader(this.scratch)
      .eventTime(t + EVENT_DELAY_US)
      .firstBookUpdateId(diff.firstId)
      .lastBookUpdateId(diff.lastId)
      .priceExponent(PRICE_EXPONENT)
      .qtyExponent(QTY_EXPONENT);
    this.writeLevels(feed, e.bidsCount(diff.bids.length), diff.bids);
    this.writeLevels(feed, e.asksCount(diff.asks.length), diff.asks);
    e.symbol(feed.spec.symbol);
    return Buffer.from(this.scratch.subarray(0, e.encodedLength));
  }

  private encodeDepth20(feed: SymbolFeed, t: number): Buffer {
    const book = feed.model.book;
    const e = this.snap
      .wrapAndApplyHeader(this.scratch)
      .eventTime(t + EVENT_DELAY_US)
      .bookUpdateId(book.updateId)
      .priceExponent(PRICE_EXPONENT)
      .qtyExponent(QTY_EXPONENT);
    const bids = book.top('bid', 20, this.levelsBid);
    this.writeLevels(feed, e.bidsCount(bids.length), bids);
    const asks = book.top('ask', 20, this.levelsAsk);
    this.writeLevels(feed, e.asksCount(asks.length), asks);
    e.symbol(feed.spec.symbol);
    return Buffer.from(this.scratch.subarray(0, e.encodedLength));
  }

  private writeLevels(feed: SymbolFeed, group: { next(): { priceMantissa(v: number): { qtyMantissa(v: number): unknown } } }, levels: Level[]): void {
    for (const l of levels)
      group
        .next()
        .priceMantissa(l.tick * feed.tickMantissa)
        .qtyMantissa(l.lots * feed.lotMantissa);
  }

  /** REST /api/v3/depth: the book now, with the id of the last update it includes. */
  depthSnapshot(symbol: string, limit: number): { lastUpdateId: number; bids: Level[]; asks: Level[] } {
    const book = this.feedOf(symbol).model.book;
    return { lastUpdateId: book.updateId, bids: book.sorted('bid', limit), asks: book.sorted('ask', limit) };
  }

  recentTrades(symbol: string): readonly TradeRecord[] {
    return this.feedOf(symbol).trades;
  }

  recentAggTrades(symbol: string): readonly AggTradeRecord[] {
    return this.feedOf(symbol).aggTrades;
  }

  units(symbol: string): { tickMantissa: number; lotMantissa: number } {
    const f = this.feedOf(symbol);
    return { tickMantissa: f.tickMantissa, lotMantissa: f.lotMantissa };
  }
}
