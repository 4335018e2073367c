/**
 * Binance JSON stream payloads → the equivalent SBE stream frames. Recorded
 * data (hftbacktest captures, archives) is JSON; the live path is SBE. This
 * lets benches, tests and replays drive the SBE path with real events, with
 * prices and quantities carried exactly (decimal strings → mantissas, no floats).
 */
import { BestBidAskStreamEventEncoder, BoolEnum, DepthDiffStreamEventEncoder, TradesStreamEventEncoder } from '../generated/spot_stream/index.ts';
import { DepthSnapshotEncoder } from '../generated/hotpath/index.ts';
import { decimalStringToMantissa } from '../runtime/decimal.ts';

export interface JsonTrade {
  e: 'trade';
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
}

export interface JsonBookTicker {
  u: number;
  s: string;
  b: string;
  B: string;
  a: string;
  A: string;
}

export interface JsonDepthUpdate {
  e: 'depthUpdate';
  E: number;
  s: string;
  U: number;
  u: number;
  b: [string, string][];
  a: [string, string][];
}

export interface JsonDepthSnapshot {
  lastUpdateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

export type StreamPayloadKind = 'trade' | 'bookTicker' | 'depthUpdate' | 'depthSnapshot';

export function classifyPayload(data: unknown): StreamPayloadKind | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const o = data as Record<string, unknown>;
  if (o['e'] === 'trade') return 'trade';
  if (o['e'] === 'depthUpdate') return 'depthUpdate';
  if (typeof o['lastUpdateId'] === 'number' && Array.isArray(o['bids'])) return 'depthSnapshot';
  if (typeof o['u'] === 'number' && typeof o['b'] === 'string' && typeof o['a'] === 'string') return 'bookTicker';
  return undefined;
}

/** A price/quantity level group encoder of any of the depth messages. */
interface LevelEncoder {
  next(): { priceMantissa(v: number): { qtyMantissa(v: number): unknown } };
}

/** Binance's JSON times are milliseconds; SBE times are microseconds. */
const MS_TO_US = 1000;

export class BinanceJsonTranscoder {
  private readonly trade = new TradesStreamEventEncoder();
  private readonly bbo = new BestBidAskStreamEventEncoder();
  private readonly diff = new DepthDiffStreamEventEncoder();
  private readonly snapshot = new DepthSnapshotEncoder();

  constructor(
    readonly priceExponent = -8,
    readonly qtyExponent = -8,
  ) {}

  private writeLevels(group: LevelEncoder, levels: [string, string][]): void {
    for (const [p, q] of levels) {
      group.next().priceMantissa(decimalStringToMantissa(p, this.priceExponent)).qtyMantissa(decimalStringToMantissa(q, this.qtyExponent));
    }
  }

  /** TradesStreamEvent (one trade per event, as the JSON stream sends them). Returns bytes written. */
  encodeTrade(t: JsonTrade, out: Uint8Array, offset = 0): number {
    const e = this.trade
      .wrapAndApplyHeader(out, offset)
      .eventTime(Math.round(t.E * MS_TO_US))
      .transactTime(Math.round(t.T * MS_TO_US))
      .priceExponent(this.priceExponent)
      .qtyExponent(this.qtyExponent);
    e.tradesCount(1)
      .next()
      .id(t.t)
      .priceMantissa(decimalStringToMantissa(t.p, this.priceExponent))
      .qtyMantissa(decimalStringToMantissa(t.q, this.qtyExponent))
      .isBuyerMaker(t.m ? BoolEnum.True : BoolEnum.False);
    e.symbol(t.s);
    return e.encodedLength;
  }

  /** BestBidAskStreamEvent. JSON spot bookTicker has no event time, so the caller supplies one (µs). */
  encodeBookTicker(t: JsonBookTicker, eventTimeUs: number, out: Uint8Array, offset = 0): number {
    const e = this.bbo
      .wrapAndApplyHeader(out, offset)
      .eventTime(eventTimeUs)
      .bookUpdateId(t.u)
      .priceExponent(this.priceExponent)
      .qtyExponent(this.qtyExponent)
      .bidPriceMantissa(decimalStringToMantissa(t.b, this.priceExponent))
      .bidQtyMantissa(decimalStringToMantissa(t.B, this.qtyExponent))
      .askPriceMantissa(decimalStringToMantissa(t.a, this.priceExponent))
      .askQtyMantissa(decimalStringToMantissa(t.A, this.qtyExponent));
    e.symbol(t.s);
    return e.encodedLength;
  }

  /** DepthDiffStreamEvent. */
  encodeDepthUpdate(d: JsonDepthUpdate, out: Uint8Array, offset = 0): number {
    const e = this.diff
      .wrapAndApplyHeader(out, offset)
      .eventTime(d.E * MS_TO_US)
      .firstBookUpdateId(d.U)
      .lastBookUpdateId(d.u)
      .priceExponent(this.priceExponent)
      .qtyExponent(this.qtyExponent);
    this.writeLevels(e.bidsCount(d.b.length), d.b);
    this.writeLevels(e.asksCount(d.a.length), d.a);
    e.symbol(d.s);
    return e.encodedLength;
  }

  /** A REST depth snapshot as the hotpath DepthSnapshot message. */
  encodeDepthSnapshot(symbol: string, s: JsonDepthSnapshot, requestTimeUs: number, receiveTimeUs: number, out: Uint8Array, offset = 0): number {
    const e = this.snapshot
      .wrapAndApplyHeader(out, offset)
      .lastUpdateId(s.lastUpdateId)
      .requestTimeUs(requestTimeUs)
      .receiveTimeUs(receiveTimeUs)
      .priceExponent(this.priceExponent)
      .qtyExponent(this.qtyExponent);
    this.writeLevels(e.bidsCount(s.bids.length), s.bids);
    this.writeLevels(e.asksCount(s.asks.length), s.asks);
    e.symbol(symbol);
    return e.encodedLength;
  }
}
