/**
 * SymbolProcessor tests' input: real SBE envelopes as the ingestor publishes them (EnvelopeWriter + the Binance
 * JSON transcoder), a small two-level book, and what the tests read back.
 */
import { EnvelopeWriter } from '@hotpath/recordings';
import { BinanceJsonTranscoder, hotpath } from '@hotpath/sbe';
import { FEATURE_COUNT, FEATURE_NAMES, type VectorStatus } from '@hotpath/features';
import { expect } from 'vitest';
import { SymbolProcessor } from '../../src/index.ts';

export const SYMBOL = 'BTCUSDT';
/** Decimal → mantissa at exponent −8 (the test's own small prices are exact in binary at this scale). */
export const m = (x: number): number => Math.round(x * 1e8);

export interface BackfillTrade {
  id: number;
  price: string;
  qty: string;
  timeUs: number;
  buyerMaker: boolean;
}

/** One writer's envelopes, as the ingestor would publish them (sequence advancing). */
export class Stream {
  readonly writer: EnvelopeWriter;
  private readonly tr = new BinanceJsonTranscoder();
  private readonly scratch = Buffer.alloc(64 * 1024);

  constructor(writerId = 1, epoch = 1) {
    this.writer = new EnvelopeWriter(SYMBOL, epoch, writerId);
  }

  /** A depth diff at event time `ms` (Binance JSON times are ms). */
  diff(ms: number, U: number, u: number, b: [string, string][] = [], a: [string, string][] = []): Buffer {
    const n = this.tr.encodeDepthUpdate({ e: 'depthUpdate', E: ms, s: SYMBOL, U, u, b, a }, this.scratch);
    return this.writer.envelope(hotpath.EnvelopeKind.StreamFrame, ms * 1000, this.scratch.subarray(0, n));
  }

  trade(ms: number, id: number, price: string, qty: string, buyerMaker = false): Buffer {
    const n = this.tr.encodeTrade({ e: 'trade', E: ms, s: SYMBOL, t: id, p: price, q: qty, T: ms, m: buyerMaker }, this.scratch);
    return this.writer.envelope(hotpath.EnvelopeKind.StreamFrame, ms * 1000, this.scratch.subarray(0, n));
  }

  bookTicker(ms: number): Buffer {
    const n = this.tr.encodeBookTicker({ u: 1, s: SYMBOL, b: '100.00', B: '1', a: '100.01', A: '1' }, ms * 1000, this.scratch);
    return this.writer.envelope(hotpath.EnvelopeKind.StreamFrame, ms * 1000, this.scratch.subarray(0, n));
  }

  snapshot(ms: number, lastUpdateId: number, bids: [number, number][], asks: [number, number][]): Buffer {
    return this.writer.snapshot(
      ms * 1000,
      lastUpdateId,
      bids.map(([p, q]) => [m(p), m(q)]),
      asks.map(([p, q]) => [m(p), m(q)]),
    );
  }

  connected(ms: number): Buffer {
    return this.writer.connected(ms * 1000, 'test');
  }

  disconnected(ms: number): Buffer {
    const c = new hotpath.ConnectionEventEncoder()
      .wrapAndApplyHeader(this.scratch)
      .eventTimeUs(ms * 1000)
      .connectionEpoch(this.writer.connectionEpoch)
      .previousEpoch(0)
      .lastSequence(0)
      .type(hotpath.ConnectionEventType.Disconnected)
      .symbol(SYMBOL)
      .reason('test');
    return this.writer.envelope(hotpath.EnvelopeKind.ConnectionEvent, ms * 1000, this.scratch.subarray(0, c.encodedLength));
  }

  gapNotice(ms: number, kind: hotpath.GapKind): Buffer {
    const g = new hotpath.GapNoticeEncoder()
      .wrapAndApplyHeader(this.scratch)
      .detectedAtUs(ms * 1000)
      .expectedId(1)
      .receivedId(5)
      .kind(kind)
      .symbol(SYMBOL);
    return this.writer.envelope(hotpath.EnvelopeKind.GapNotice, ms * 1000, this.scratch.subarray(0, g.encodedLength));
  }

  backfill(ms: number, trades: BackfillTrade[]): Buffer {
    const e = new hotpath.TradeBackfillEncoder()
      .wrapAndApplyHeader(this.scratch)
      .fromId(trades[0]!.id)
      .toId(trades.at(-1)!.id)
      .receiveTimeUs(ms * 1000)
      .complete(hotpath.BoolEnum.True)
      .priceExponent(-8)
      .qtyExponent(-8);
    const g = e.tradesCount(trades.length);
    for (const t of trades) {
      g.next()
        .id(t.id)
        .priceDecimal(t.price)
        .qtyDecimal(t.qty)
        .timeUs(t.timeUs)
        .isBuyerMaker(t.buyerMaker ? hotpath.BoolEnum.True : hotpath.BoolEnum.False)
        .isBestMatch(hotpath.BoolEnum.True);
    }
    e.symbol(SYMBOL);
    return this.writer.envelope(hotpath.EnvelopeKind.TradeBackfill, ms * 1000, this.scratch.subarray(0, e.encodedLength));
  }

  /** A valid envelope of `kind` around arbitrary payload bytes. */
  raw(kind: hotpath.EnvelopeKind, ms: number, payload: Uint8Array): Buffer {
    return this.writer.envelope(kind, ms * 1000, payload);
  }
}

export const BIDS: [number, number][] = [
  [100, 1],
  [99.99, 2],
];
export const ASKS: [number, number][] = [
  [100.01, 1.5],
  [100.02, 3],
];

export function top(p: SymbolProcessor): [number, number, number, number] {
  const b = p.engine.book;
  return [b.bestBid, b.bestBidQty, b.bestAsk, b.bestAskQty];
}

export function feature(p: SymbolProcessor, name: string, tUs: number): number {
  const k = FEATURE_NAMES.indexOf(name);
  expect(k).toBeGreaterThanOrEqual(0);
  return p.engine.compute(tUs, new Float64Array(FEATURE_COUNT))[k]!;
}

/** What must not move when an input is refused: the engine's whole state, the version and the status. */
export function observable(p: SymbolProcessor): { engine: Buffer; version: number; status: VectorStatus; late: number } {
  return { engine: p.engine.serialize(), version: p.version, status: p.status, late: p.lateBackfillTrades };
}

/** A processor anchored at update id 102 (snapshot 100 + a buffered diff 100..102), status Live. */
export function anchored(): { p: SymbolProcessor; s: Stream } {
  const p = new SymbolProcessor(SYMBOL);
  const s = new Stream();
  expect(p.apply(s.connected(1_000), '')).toBe('reanchor_started');
  expect(p.apply(s.diff(1_100, 95, 99, [['99.98', '7']]), '')).toBe('applied'); // buffered; ends before the snapshot: dropped
  expect(p.apply(s.diff(1_200, 100, 102, [['100.00', '4']]), '')).toBe('applied'); // buffered; straddles 101: applied onto it
  expect(p.apply(s.snapshot(1_250, 100, BIDS, ASKS), '')).toBe('reanchored');
  return { p, s };
}
