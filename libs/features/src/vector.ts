/**
 * The feature vector's binary format, what the aggregator publishes and
 * inference reads (`@hotpath/state` keeps it in `feat:{SYMBOL}`): one value
 * read in one round trip, internally consistent (one version, one event time,
 * one schema hash, one status). It lives beside the feature set it carries;
 * nothing here knows Redis. Layout (little-endian), format 2:
 *
 *   0  "HPFV"        4  format u16   6  status u8   7  reserved
 *   8  version f64   16 eventTimeUs f64   24 writtenAtUs f64
 *   32 bestBid f64   40 bestAsk f64   48 schemaHash 16 ASCII bytes
 *   64 count u32     68 traceId 16 bytes   84 spanId 8 bytes   92 traceFlags u8   93 reserved 3
 *   96 features f64[count]
 *
 * The trace context (W3C, binary) is the newest SAMPLED event applied into the
 * vector: the span context of the aggregator's `redis publish` span that wrote
 * it, kept by later vectors of the symbol until a newer sampled event replaces
 * it (docs/tracing.md). All zero = none. Format 1 (no trace context, features
 * at 68) still decodes, with `trace` undefined; writers write format 2 only.
 * Status and version keep their offsets in both formats (in-place updates and
 * the Lua scripts in `@hotpath/state` read them without knowing the format).
 */
import type { FeaturesErrorCode } from './errors.ts';

export const VectorStatus = { Live: 0, Stale: 1, Reanchoring: 2 } as const;
export type VectorStatus = (typeof VectorStatus)[keyof typeof VectorStatus];
export const STATUS_NAMES = ['live', 'stale', 'reanchoring'] as const;

/** Byte offset of the status, for in-place status changes (Redis SETRANGE in `@hotpath/state`). */
export const STATUS_OFFSET = 6;
export const VERSION_OFFSET = 8;
const MAGIC = 0x56465048; // "HPFV"
/** The format every encoder writes. */
export const VECTOR_FORMAT = 2;
const HEADER_V1 = 68;
const HEADER = 96;
/** Where the features start in the format encoders write (format 2). */
export const FEATURES_OFFSET = HEADER;
/** Byte offsets of the trace context (format 2). */
export const TRACE_ID_OFFSET = 68;
const SPAN_ID_OFFSET = 84;
const TRACE_FLAGS_OFFSET = 92;

/** A W3C trace context as OpenTelemetry spells it: lower-case hex ids, the flags byte (1 = sampled). */
export interface VectorTraceContext {
  /** 32 hex characters. */
  traceId: string;
  /** 16 hex characters. */
  spanId: string;
  traceFlags: number;
}

export interface FeatureVectorRecord {
  status: VectorStatus;
  /** Monotonic per symbol: the number of events applied. */
  version: number;
  eventTimeUs: number;
  writtenAtUs: number;
  bestBid: number;
  bestAsk: number;
  schemaHash: string;
  features: Float64Array;
  /** The newest sampled event's trace context (the `redis publish` span that wrote it); undefined = none (or a format-1 vector). */
  trace?: VectorTraceContext | undefined;
}

/** Bytes that are not a feature vector in this format (read from Redis: untrusted). */
export class VectorFormatError extends Error {
  override readonly name = 'VectorFormatError';
  readonly code: FeaturesErrorCode = 'malformed_vector';
}

export function encodeVector(v: FeatureVectorRecord): Buffer {
  if (!/^[0-9a-f]{16}$/.test(v.schemaHash)) throw new RangeError('schemaHash must be 16 hex characters');
  const b = Buffer.alloc(HEADER + v.features.length * 8);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(VECTOR_FORMAT, 4);
  b.writeUInt8(v.status, STATUS_OFFSET);
  b.writeDoubleLE(v.version, VERSION_OFFSET);
  b.writeDoubleLE(v.eventTimeUs, 16);
  b.writeDoubleLE(v.writtenAtUs, 24);
  b.writeDoubleLE(v.bestBid, 32);
  b.writeDoubleLE(v.bestAsk, 40);
  b.write(v.schemaHash, 48, 'ascii');
  b.writeUInt32LE(v.features.length, 64);
  // (hex written straight into the buffer: no allocation; the bytes stay zero = none when there is no context)
  const t = v.trace;
  if (t !== undefined) {
    if (t.traceId.length !== 32 || b.write(t.traceId, TRACE_ID_OFFSET, 16, 'hex') !== 16) throw new RangeError('trace.traceId must be 32 hex characters');
    if (t.spanId.length !== 16 || b.write(t.spanId, SPAN_ID_OFFSET, 8, 'hex') !== 8) throw new RangeError('trace.spanId must be 16 hex characters');
    b.writeUInt8(t.traceFlags & 0xff, TRACE_FLAGS_OFFSET);
  }
  for (let i = 0; i < v.features.length; i++) b.writeDoubleLE(v.features[i]!, HEADER + i * 8);
  return b;
}

export function decodeVector(b: Buffer): FeatureVectorRecord {
  if (b.length < HEADER_V1 || b.readUInt32LE(0) !== MAGIC) throw new VectorFormatError('not a feature vector');
  const format = b.readUInt16LE(4);
  if (format !== 1 && format !== VECTOR_FORMAT) throw new VectorFormatError(`vector format ${format} unsupported`);
  const header = format === 1 ? HEADER_V1 : HEADER;
  const count = b.readUInt32LE(64);
  if (b.length !== header + count * 8) throw new VectorFormatError(`vector length ${b.length} does not match ${count} features`);
  const status = b.readUInt8(STATUS_OFFSET);
  if (status > 2) throw new VectorFormatError(`unknown status ${status}`);
  const features = new Float64Array(count);
  for (let i = 0; i < count; i++) features[i] = b.readDoubleLE(header + i * 8);
  return {
    status: status as VectorStatus,
    version: b.readDoubleLE(8),
    eventTimeUs: b.readDoubleLE(16),
    writtenAtUs: b.readDoubleLE(24),
    bestBid: b.readDoubleLE(32),
    bestAsk: b.readDoubleLE(40),
    schemaHash: b.toString('ascii', 48, 64),
    features,
    trace: format === 1 ? undefined : traceOf(b),
  };
}

/** The stored trace context; undefined when none (all zero) or when either id is zero (not a usable context: Redis contents are untrusted). */
function traceOf(b: Buffer): VectorTraceContext | undefined {
  if (allZero(b, TRACE_ID_OFFSET, 16) || allZero(b, SPAN_ID_OFFSET, 8)) return undefined;
  return { traceId: b.toString('hex', TRACE_ID_OFFSET, TRACE_ID_OFFSET + 16), spanId: b.toString('hex', SPAN_ID_OFFSET, SPAN_ID_OFFSET + 8), traceFlags: b.readUInt8(TRACE_FLAGS_OFFSET) };
}

function allZero(b: Buffer, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) if (b[i] !== 0) return false;
  return true;
}
