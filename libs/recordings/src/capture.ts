/**
 * Capture files: what the ingestor records of a live session, replayable by
 * the simulator and the trainer. A capture is a sequence of hotpath Envelope
 * frames (sbe-schemas/hotpath/envelope_1_0.xml: receive time µs, sequence,
 * connection epoch, kind, symbol, the raw frame as received), each preceded
 * by its length as a little-endian u32. Files may be gzip-compressed (.gz).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { DecodeStatus, hotpath } from '@hotpath/sbe';
import type { RecordingsErrorCode } from './errors.ts';
import { gunzipFile } from './gzip.ts';

export interface CapturedFrame {
  receiveTimeUs: number;
  sequence: number;
  connectionEpoch: number;
  /** The ingestor process that wrote it (0 = a capture from before writer ids, or none given). */
  writerId?: number;
  kind: number;
  symbol: string;
  /** The embedded frame (a Binance stream frame for kind StreamFrame). */
  payload: Buffer;
}

/** An ingestor capture file that is not gzip, or a truncated or corrupt record. */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
  readonly code: RecordingsErrorCode = 'malformed_capture';
}

/** Appends envelopes to an in-memory capture; `toBuffer()` gives the file bytes. */
/** Message header (8), the envelope's fixed block (it grows with the schema version), the symbol's and payload's length prefixes (1 + 4). */
const ENVELOPE_OVERHEAD = 8 + hotpath.EnvelopeEncoder.BLOCK_LENGTH + 1 + 4;

/** The bytes a captured frame's envelope takes (exactly: every field is fixed but the two var-data ones). */
export function capturedEnvelopeSize(frame: CapturedFrame): number {
  return ENVELOPE_OVERHEAD + Buffer.byteLength(frame.symbol) + frame.payload.length;
}

/** A captured frame as the envelope it was captured from (same epoch, sequence, kind, times), at `offset` of `buf`. */
export function encodeCapturedEnvelope(encoder: hotpath.EnvelopeEncoder, buf: Buffer, offset: number, frame: CapturedFrame): hotpath.EnvelopeEncoder {
  return encoder
    .wrapAndApplyHeader(buf, offset)
    .receiveTimeUs(frame.receiveTimeUs)
    .sequence(frame.sequence)
    .connectionEpoch(frame.connectionEpoch)
    .kind(frame.kind as hotpath.EnvelopeKind)
    .writerId(frame.writerId ?? 0)
    .symbol(frame.symbol)
    .payload(frame.payload);
}

export class CaptureWriter {
  private readonly chunks: Buffer[] = [];
  private readonly encoder = new hotpath.EnvelopeEncoder();
  private scratch = Buffer.alloc(64 * 1024);

  add(frame: CapturedFrame): void {
    const need = 4 + capturedEnvelopeSize(frame);
    if (this.scratch.length < need) this.scratch = Buffer.alloc(need * 2);
    const e = encodeCapturedEnvelope(this.encoder, this.scratch, 4, frame);
    this.scratch.writeUInt32LE(e.encodedLength, 0);
    this.chunks.push(Buffer.from(this.scratch.subarray(0, 4 + e.encodedLength)));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }

  writeFile(path: string): void {
    const bytes = this.toBuffer();
    writeFileSync(path, path.endsWith('.gz') ? gzipSync(bytes) : bytes);
  }
}

/** Reads a capture; a file that is not gzip (.gz), or a truncated or corrupt record, is a CaptureFormatError naming the file (and the record's offset). */
export function readCapture(path: string): CapturedFrame[] {
  const raw = readFileSync(path);
  return parseCapture(path.endsWith('.gz') ? gunzipFile(raw, path, CaptureFormatError) : raw, path);
}

/** `source` (a file name) starts every error message when given. */
export function parseCapture(bytes: Buffer, source?: string): CapturedFrame[] {
  const at = source === undefined ? '' : `${source}: `;
  const out: CapturedFrame[] = [];
  const dec = new hotpath.EnvelopeDecoder();
  let p = 0;
  while (p < bytes.length) {
    if (p + 4 > bytes.length) throw new CaptureFormatError(`${at}truncated length prefix at offset ${p}`);
    const n = bytes.readUInt32LE(p);
    if (p + 4 + n > bytes.length) throw new CaptureFormatError(`${at}record at offset ${p} runs past the end (${n} bytes)`);
    const status = dec.wrap(bytes, p + 4, n);
    if (status !== DecodeStatus.Ok) throw new CaptureFormatError(`${at}record at offset ${p}: ${dec.error()?.message}`);
    out.push({
      receiveTimeUs: dec.receiveTimeUs,
      sequence: dec.sequence,
      connectionEpoch: dec.connectionEpoch,
      writerId: dec.writerId ?? 0,
      kind: dec.kind,
      symbol: dec.symbol(),
      payload: Buffer.from(dec.payload()),
    });
    p += 4 + n;
  }
  return out;
}
