/**
 * Recorded data → the envelopes the ingestor would have put on Kinesis, so
 * offline consumers (trainer, benches, tests) replay through the same code
 * the live aggregator runs. Each envelope is a fresh Buffer (they are kept).
 */
import { BinanceJsonTranscoder, classifyPayload, hotpath, type JsonBookTicker, type JsonDepthSnapshot, type JsonDepthUpdate, type JsonTrade } from '@hotpath/sbe';
import type { ArchiveTrade } from './archive.ts';
import type { CapturedFrame } from './capture.ts';
import type { RecordedLine } from './hftbacktest.ts';

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

/** hftbacktest recording lines → envelopes (stream frames transcoded to SBE, REST snapshots as DepthSnapshot). */
export function* recordingEnvelopes(lines: Iterable<RecordedLine>, writer: EnvelopeWriter): Generator<Buffer> {
  const tr = new BinanceJsonTranscoder();
  const buf = Buffer.alloc(256 * 1024);
  for (const l of lines) {
    // recorder clock: ns in the 2024 files, µs in the 2023 ones
    const t = l.localTime >= 1e18 ? Math.floor(l.localTime / 1000) : l.localTime;
    const kind = classifyPayload(l.data);
    if (kind === 'depthSnapshot') {
      const n = tr.encodeDepthSnapshot(writer.symbol, l.data as JsonDepthSnapshot, t, t, buf);
      yield writer.envelope(hotpath.EnvelopeKind.DepthSnapshot, t, buf.subarray(0, n));
      continue;
    }
    let n = 0;
    if (kind === 'trade') n = tr.encodeTrade(l.data as JsonTrade, buf);
    else if (kind === 'bookTicker') n = tr.encodeBookTicker(l.data as JsonBookTicker, t, buf);
    else if (kind === 'depthUpdate') n = tr.encodeDepthUpdate(l.data as JsonDepthUpdate, buf);
    else continue;
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
  const out = Buffer.alloc(64 + c.symbol.length + c.payload.length);
  const e = new hotpath.EnvelopeEncoder()
    .wrapAndApplyHeader(out)
    .receiveTimeUs(c.receiveTimeUs)
    .sequence(c.sequence)
    .connectionEpoch(c.connectionEpoch)
    .kind(c.kind as hotpath.EnvelopeKind)
    .writerId(c.writerId ?? 0)
    .symbol(c.symbol)
    .payload(c.payload);
  return out.subarray(0, e.encodedLength);
}
