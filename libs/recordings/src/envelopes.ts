/**
 * Recorded data → the envelopes the ingestor would have put on Kinesis, so
 * offline consumers (trainer, benches, tests) replay through the same code
 * the live aggregator runs. Each envelope is a fresh Buffer (they are kept).
 */
import { BinanceJsonTranscoder, classifyPayload, hotpath, type JsonBookTicker, type JsonDepthSnapshot, type JsonDepthUpdate, type JsonTrade } from '@hotpath/sbe';
import type { ArchiveTrade } from './archive.ts';
import { type CapturedFrame, capturedEnvelopeSize, encodeCapturedEnvelope } from './capture.ts';
import { COIN_M_CONTRACT_USD, contractsToBase, futuresFirstUpdateId } from './futures.ts';
import { localTimeUs, RecordingFormatError, type RecordedLine } from './hftbacktest.ts';

export class EnvelopeWriter {
  private readonly enc = new hotpath.EnvelopeEncoder();
  private readonly out = Buffer.alloc(512 * 1024);
  private sequence = 0;

  constructor(
    readonly symbol: string,
    readonly connectionEpoch = 1,
    /** Offline sources are one writer each. */
    readonly writerId = 1,
  ) {}

  envelope(kind: hotpath.EnvelopeKind, receiveTimeUs: number, payload: Uint8Array): Buffer {
    const e = this.enc
      .wrapAndApplyHeader(this.out)
      .receiveTimeUs(receiveTimeUs)
      .sequence(++this.sequence)
      .connectionEpoch(this.connectionEpoch)
      .kind(kind)
      .writerId(this.writerId)
      .symbol(this.symbol)
      .payload(payload);
    return Buffer.from(this.out.subarray(0, e.encodedLength));
  }

  /** A `Connected` event: consumers start (re-)anchoring, as after a live connect. */
  connected(timeUs: number, reason: string): Buffer {
    const scratch = Buffer.alloc(256);
    const c = new hotpath.ConnectionEventEncoder()
      .wrapAndApplyHeader(scratch)
      .eventTimeUs(timeUs)
      .connectionEpoch(this.connectionEpoch)
      .previousEpoch(0)
      .lastSequence(0)
      .type(hotpath.ConnectionEventType.Connected)
      .symbol(this.symbol)
      .reason(reason);
    return this.envelope(hotpath.EnvelopeKind.ConnectionEvent, timeUs, scratch.subarray(0, c.encodedLength));
  }

  /** A depth snapshot from integer mantissas (exponent −8), as the ingestor's REST fetch would carry it. */
  snapshot(timeUs: number, lastUpdateId: number, bids: readonly (readonly [number, number])[], asks: readonly (readonly [number, number])[]): Buffer {
    const scratch = Buffer.alloc(64 + (bids.length + asks.length) * 16 + this.symbol.length);
    const s = new hotpath.DepthSnapshotEncoder().wrapAndApplyHeader(scratch).lastUpdateId(lastUpdateId).requestTimeUs(timeUs).receiveTimeUs(timeUs).priceExponent(-8).qtyExponent(-8);
    const b = s.bidsCount(bids.length);
    for (const [p, q] of bids) b.next().priceMantissa(p).qtyMantissa(q);
    const a = s.asksCount(asks.length);
    for (const [p, q] of asks) a.next().priceMantissa(p).qtyMantissa(q);
    s.symbol(this.symbol);
    return this.envelope(hotpath.EnvelopeKind.DepthSnapshot, timeUs, scratch.subarray(0, s.encodedLength));
  }
}

/** What `recordingEnvelopes` met, by kind (the caller passes one to count into). */
export interface RecordingCounts {
  trade: number;
  bookTicker: number;
  depthUpdate: number;
  depthSnapshot: number;
  /** Futures `markPrice` events: not a feature input, skipped. */
  markPrice: number;
  /** Events of another symbol than `only` (a combined stream of several), skipped. */
  otherSymbol: number;
  /** Anything else (unknown streams), skipped. */
  other: number;
}

export function emptyRecordingCounts(): RecordingCounts {
  return { trade: 0, bookTicker: 0, depthUpdate: 0, depthSnapshot: 0, markPrice: 0, otherSymbol: 0, other: 0 };
}

type Levels = [string, string][];

/** A COIN-M payload's quantities in base units (futures.ts); a quantity or price that is not a decimal is a RecordingFormatError. */
function toBase(contracts: string, price: string, usd: number): string {
  const q = contractsToBase(contracts, price, usd);
  if (q === undefined) throw new RecordingFormatError(`COIN-M quantity ${JSON.stringify(contracts)} at price ${JSON.stringify(price)} is not a decimal pair`);
  return q;
}
const levelsToBase = (levels: Levels, usd: number): Levels => levels.map(([p, q]) => [p, toBase(q, p, usd)]);

/**
 * hftbacktest recording lines → envelopes (stream frames transcoded to SBE,
 * REST snapshots as DepthSnapshot), one per trade, bookTicker, depth diff or
 * snapshot line, in order, under the writer's symbol (benches replay one
 * recording as many symbols); with `only`, lines naming another symbol are
 * skipped (a combined stream of several). Spot and futures alike:
 * a futures diff (it has `pu`) is written with firstBookUpdateId = pu + 1, so
 * the live book's spot rules sequence it by Binance's futures rules
 * (futures.ts says why that is exact); a futures bookTicker keeps its
 * exchange time `E` (spot's has none: the recorder's clock); `markPrice`
 * lines are skipped. For a COIN-M writer symbol (COIN_M_CONTRACT_USD) every
 * quantity is converted from contracts to base units.
 */
export function* recordingEnvelopes(lines: Iterable<RecordedLine>, writer: EnvelopeWriter, counts: RecordingCounts = emptyRecordingCounts(), only?: string): Generator<Buffer> {
  const tr = new BinanceJsonTranscoder();
  const buf = Buffer.alloc(256 * 1024);
  const usd = COIN_M_CONTRACT_USD[writer.symbol];
  const symbol = only?.toUpperCase();
  for (const l of lines) {
    const t = localTimeUs(l.localTime);
    const o = l.data as Record<string, unknown>;
    const kind = classifyPayload(l.data);
    if (kind === undefined) {
      if (o['e'] === 'markPriceUpdate') counts.markPrice++;
      else counts.other++;
      continue;
    }
    // a snapshot names its symbol only on COIN-M (`symbol`); stream payloads always do (`s`)
    const named = kind === 'depthSnapshot' ? o['symbol'] : o['s'];
    if (symbol !== undefined && typeof named === 'string' && named.toUpperCase() !== symbol) {
      counts.otherSymbol++;
      continue;
    }
    counts[kind]++;
    if (kind === 'depthSnapshot') {
      let s = l.data as JsonDepthSnapshot;
      if (usd !== undefined) s = { ...s, bids: levelsToBase(s.bids, usd), asks: levelsToBase(s.asks, usd) };
      const n = tr.encodeDepthSnapshot(writer.symbol, s, t, t, buf);
      yield writer.envelope(hotpath.EnvelopeKind.DepthSnapshot, t, buf.subarray(0, n));
      continue;
    }
    let n = 0;
    if (kind === 'trade') {
      let trade = l.data as JsonTrade;
      if (usd !== undefined) trade = { ...trade, q: toBase(trade.q, trade.p, usd) };
      n = tr.encodeTrade(trade, buf);
    } else if (kind === 'bookTicker') {
      let b = l.data as JsonBookTicker & { E?: unknown };
      if (usd !== undefined) b = { ...b, B: toBase(b.B, b.b, usd), A: toBase(b.A, b.a, usd) };
      n = tr.encodeBookTicker(b, typeof b.E === 'number' ? b.E * 1000 : t, buf);
    } else {
      let d = l.data as JsonDepthUpdate & { pu?: unknown };
      if (typeof d.pu === 'number') d = { ...d, U: futuresFirstUpdateId({ U: d.U, u: d.u, pu: d.pu }) };
      if (usd !== undefined) d = { ...d, b: levelsToBase(d.b, usd), a: levelsToBase(d.a, usd) };
      n = tr.encodeDepthUpdate(d, buf);
    }
    yield writer.envelope(hotpath.EnvelopeKind.StreamFrame, t, buf.subarray(0, n));
  }
}

/** Archive trades → trade stream envelopes (no book: book features stay undefined). */
export function* archiveTradeEnvelopes(trades: Iterable<ArchiveTrade>, writer: EnvelopeWriter): Generator<Buffer> {
  const tr = new BinanceJsonTranscoder();
  const buf = Buffer.alloc(1024);
  for (const t of trades) {
    const ms = t.timeUs / 1000;
    const n = tr.encodeTrade({ e: 'trade', E: ms, s: writer.symbol, t: t.id, p: t.price, q: t.qty, T: ms, m: t.isBuyerMaker }, buf);
    yield writer.envelope(hotpath.EnvelopeKind.StreamFrame, t.timeUs, buf.subarray(0, n));
  }
}

/** A captured frame back into the envelope it was captured from (same epoch, sequence, kind, times). */
export function captureEnvelope(c: CapturedFrame): Buffer {
  const out = Buffer.alloc(capturedEnvelopeSize(c));
  return out.subarray(0, encodeCapturedEnvelope(new hotpath.EnvelopeEncoder(), out, 0, c).encodedLength);
}
