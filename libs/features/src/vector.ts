/**
 * The feature vector's binary format, what the aggregator publishes and
 * inference reads (`@hotpath/state` keeps it in `feat:{SYMBOL}`): one value
 * read in one round trip, internally consistent (one version, one event time,
 * one schema hash, one status). It lives beside the feature set it carries;
 * nothing here knows Redis. Layout (little-endian):
 *
 *   0  "HPFV"        4  format u16   6  status u8   7  reserved
 *   8  version f64   16 eventTimeUs f64   24 writtenAtUs f64
 *   32 bestBid f64   40 bestAsk f64   48 schemaHash 16 ASCII bytes
 *   64 count u32     68 features f64[count]
 */
import type { FeaturesErrorCode } from './errors.ts';

export const VectorStatus = { Live: 0, Stale: 1, Reanchoring: 2 } as const;
export type VectorStatus = (typeof VectorStatus)[keyof typeof VectorStatus];
export const STATUS_NAMES = ['live', 'stale', 'reanchoring'] as const;

/** Byte offset of the status, for in-place status changes (Redis SETRANGE in `@hotpath/state`). */
export const STATUS_OFFSET = 6;
export const VERSION_OFFSET = 8;
const MAGIC = 0x56465048; // "HPFV"
const FORMAT = 1;
const HEADER = 68;

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
  b.writeUInt16LE(FORMAT, 4);
  b.writeUInt8(v.status, STATUS_OFFSET);
  b.writeDoubleLE(v.version, VERSION_OFFSET);
  b.writeDoubleLE(v.eventTimeUs, 16);
  b.writeDoubleLE(v.writtenAtUs, 24);
  b.writeDoubleLE(v.bestBid, 32);
  b.writeDoubleLE(v.bestAsk, 40);
  b.write(v.schemaHash, 48, 'ascii');
  b.writeUInt32LE(v.features.length, 64);
  for (let i = 0; i < v.features.length; i++) b.writeDoubleLE(v.features[i]!, HEADER + i * 8);
  return b;
}

export function decodeVector(b: Buffer): FeatureVectorRecord {
  if (b.length < HEADER || b.readUInt32LE(0) !== MAGIC) throw new VectorFormatError('not a feature vector');
  if (b.readUInt16LE(4) !== FORMAT) throw new VectorFormatError(`vector format ${b.readUInt16LE(4)} unsupported`);
  const count = b.readUInt32LE(64);
  if (b.length !== HEADER + count * 8) throw new VectorFormatError(`vector length ${b.length} does not match ${count} features`);
  const status = b.readUInt8(STATUS_OFFSET);
  if (status > 2) throw new VectorFormatError(`unknown status ${status}`);
  const features = new Float64Array(count);
  for (let i = 0; i < count; i++) features[i] = b.readDoubleLE(HEADER + i * 8);
  return {
    status: status as VectorStatus,
    version: b.readDoubleLE(8),
    eventTimeUs: b.readDoubleLE(16),
    writtenAtUs: b.readDoubleLE(24),
    bestBid: b.readDoubleLE(32),
    bestAsk: b.readDoubleLE(40),
    schemaHash: b.toString('ascii', 48, 64),
    features,
  };
}
