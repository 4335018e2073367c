/**
 * KPL aggregation (amazon-kinesis-producer/aggregation-format.md): many user
 * records in one Kinesis record, which the KCL and the KPL deaggregators
 * unpack transparently:
 *
 *   magic F3 89 9A C2 | protobuf AggregatedRecord | MD5(protobuf)
 *
 *   message AggregatedRecord { repeated string partition_key_table = 1;
 *                              repeated string explicit_hash_key_table = 2;
 *                              repeated Record records = 3; }
 *   message Record { required uint64 partition_key_index = 1;
 *                    optional uint64 explicit_hash_key_index = 2;
 *                    required bytes data = 3; repeated Tag tags = 4; }
 *
 * The protobuf subset is written by hand: it is tiny, and the producer's hot
 * path should not build message objects per user record.
 */
import { createHash } from 'node:crypto';
import type { KinesisErrorCode } from './errors.ts';

export const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const DIGEST_SIZE = 16;
/** Kinesis's limit for one record's data plus partition key. */
export const MAX_RECORD_BYTES = 1024 * 1024;

export interface UserRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
}

/** A Kinesis record that claims to be KPL-aggregated (magic) but does not parse: skipped, counted, logged. */
export class KplFormatError extends Error {
  override readonly name = 'KplFormatError';
  readonly code: KinesisErrorCode = 'malformed_kpl';
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes one length-delimited field (tag + length + body) takes. */
function fieldSize(bodyLength: number): number {
  return 1 + varintSize(bodyLength) + bodyLength;
}

/**
 * Collects user records into one aggregated Kinesis record. Callers keep
 * every record of one aggregate on one shard (KCL 2.x consumers silently
 * lose records of other shards packed into it), and ask `wouldFit` before
 * adding so the result stays under Kinesis's 1 MiB record limit.
 */
export class AggregatedRecordBuilder {
  private readonly keys: string[] = [];
  private readonly keyIndex = new Map<string, number>();
  private readonly hashKeys: string[] = [];
  private readonly hashKeyIndex = new Map<string, number>();
  private readonly records: { pk: number; ehk: number; data: Uint8Array }[] = [];
  private protobufBytes = 0;

  get count(): number {
    return this.records.length;
  }

  /** Size of the aggregated record if built now (magic + protobuf + digest). */
  get size(): number {
    return KPL_MAGIC.length + this.protobufBytes + DIGEST_SIZE;
  }

  /** Extra bytes `add(r)` would cost. */
  costOf(r: UserRecord): number {
    let cost = 0;
    let pk = this.keyIndex.get(r.partitionKey);
    if (pk === undefined) {
      cost += fieldSize(Buffer.byteLength(r.partitionKey));
      pk = this.keys.length;
    }
    let ehk = -1;
    if (r.explicitHashKey !== undefined) {
      const known = this.hashKeyIndex.get(r.explicitHashKey);
      if (known === undefined) {
        cost += fieldSize(Buffer.byteLength(r.explicitHashKey));
        ehk = this.hashKeys.length;
      } else ehk = known;
    }
    return cost + fieldSize(recordBodySize(pk, ehk, r.data.length));
  }

  /** True when adding `r` keeps the record within `limit` bytes (partition key of the Kinesis record included). */
  wouldFit(r: UserRecord, limit = MAX_RECORD_BYTES): boolean {
    const outerKey = this.keys[0] ?? r.partitionKey;
    return this.size + this.costOf(r) + Buffer.byteLength(outerKey) <= limit;
  }

  add(r: UserRecord): void {
    this.protobufBytes += this.costOf(r);
    let pk = this.keyIndex.get(r.partitionKey);
    if (pk === undefined) {
      pk = this.keys.length;
      this.keys.push(r.partitionKey);
      this.keyIndex.set(r.partitionKey, pk);
    }
    let ehk = -1;
    if (r.explicitHashKey !== undefined) {
      ehk = this.hashKeyIndex.get(r.explicitHashKey) ?? -1;
      if (ehk < 0) {
        ehk = this.hashKeys.length;
        this.hashKeys.push(r.explicitHashKey);
        this.hashKeyIndex.set(r.explicitHashKey, ehk);
      }
    }
    this.records.push({ pk, ehk, data: r.data });
  }

  /** The partition key to send the aggregated record under (the first user record's). */
  get partitionKey(): string | undefined {
    return this.keys[0];
  }

  /** Serialises and resets. */
  build(): Buffer {
    const out = Buffer.allocUnsafe(this.size);
    KPL_MAGIC.copy(out, 0);
    let p = KPL_MAGIC.length;
    const writeVarint = (v: number): void => {
      while (v >= 0x80) {
        out[p++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
      out[p++] = v;
    };
    const writeString = (tag: number, s: string): void => {
      out[p++] = tag;
      const n = Buffer.byteLength(s);
      writeVarint(n);
      p += out.write(s, p, 'utf8');
    };
    for (const k of this.keys) writeString(0x0a, k); // field 1, length-delimited
    for (const k of this.hashKeys) writeString(0x12, k); // field 2
    for (const r of this.records) {
      out[p++] = 0x1a; // field 3
      writeVarint(recordBodySize(r.pk, r.ehk, r.data.length));
      out[p++] = 0x08; // Record.partition_key_index, varint
      writeVarint(r.pk);
      if (r.ehk >= 0) {
        out[p++] = 0x10; // Record.explicit_hash_key_index
        writeVarint(r.ehk);
      }
      out[p++] = 0x1a; // Record.data
      writeVarint(r.data.length);
      out.set(r.data, p);
      p += r.data.length;
    }
    createHash('md5').update(out.subarray(KPL_MAGIC.length, p)).digest().copy(out, p);
    this.reset();
    return out;
  }

  reset(): void {
    this.keys.length = 0;
    this.keyIndex.clear();
    this.hashKeys.length = 0;
    this.hashKeyIndex.clear();
    this.records.length = 0;
    this.protobufBytes = 0;
  }
}

function recordBodySize(pk: number, ehk: number, dataLength: number): number {
  return 1 + varintSize(pk) + (ehk >= 0 ? 1 + varintSize(ehk) : 0) + 1 + varintSize(dataLength) + dataLength;
}

/**
 * Unpacks a Kinesis record. Like the KCL: without the magic prefix or with a
 * digest mismatch the record is a plain record and comes back as is (with
 * `aggregated: false`); a record whose digest matches but whose protobuf is
 * corrupt is an error.
 */
export function deaggregate(data: Uint8Array, outerPartitionKey = ''): { aggregated: boolean; records: UserRecord[] } {
  const records: UserRecord[] = [];
  const aggregated = forEachUserRecord(data, outerPartitionKey, (partitionKey, bytes, explicitHashKey) => {
    records.push(explicitHashKey === undefined ? { partitionKey, data: bytes } : { partitionKey, explicitHashKey, data: bytes });
  });
  return { aggregated, records };
}

/**
 * `deaggregate` for the hot path: calls `visit` for each user record in
 * order, with no per-record allocation beyond the data view. Returns whether
 * the record was a KPL aggregate. All-or-nothing: a corrupt aggregate throws
 * before anything is visited.
 */
export function forEachUserRecord(data: Uint8Array, outerPartitionKey: string, visit: (partitionKey: string, data: Uint8Array, explicitHashKey: string | undefined) => void): boolean {
  if (!isAggregate(data)) {
    visit(outerPartitionKey, data, undefined);
    return false;
  }
  const keys: string[] = [];
  const hashKeys: string[] = [];
  spans.length = 0;
  outer.reset(data, KPL_MAGIC.length, data.length - DIGEST_SIZE);
  while (!outer.done) {
    const tag = outer.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire !== 2) {
      outer.skip(wire);
      continue;
    }
    const n = outer.varint();
    const start = outer.take(n);
    if (field === 1) keys.push(textOf(data, start, n));
    else if (field === 2) hashKeys.push(textOf(data, start, n));
    else if (field === 3) readRecordSpan(data, start, start + n);
  }
  for (let i = 0; i < spans.length; i += 4) {
    const pk = spans[i]!;
    const ehk = spans[i + 1]!;
    if (keys[pk] === undefined) throw new KplFormatError(`partition key index ${pk} out of range (${keys.length} keys)`);
    if (ehk >= 0 && hashKeys[ehk] === undefined) throw new KplFormatError(`explicit hash key index ${ehk} out of range`);
  }
  for (let i = 0; i < spans.length; i += 4) {
    const ehk = spans[i + 1]!;
    visit(keys[spans[i]!]!, data.subarray(spans[i + 2]!, spans[i + 3]!), ehk >= 0 ? hashKeys[ehk] : undefined);
  }
  return true;
}

function isAggregate(data: Uint8Array): boolean {
  if (data.length < KPL_MAGIC.length + DIGEST_SIZE) return false;
  for (let i = 0; i < KPL_MAGIC.length; i++) if (data[i] !== KPL_MAGIC[i]) return false;
  const body = data.subarray(KPL_MAGIC.length, data.length - DIGEST_SIZE);
  const digest = createHash('md5').update(body).digest();
  return digest.equals(data.subarray(data.length - DIGEST_SIZE));
}

function textOf(data: Uint8Array, start: number, length: number): string {
  return Buffer.from(data.buffer, data.byteOffset + start, length).toString('utf8');
}

/** One Record message (partition_key_index, explicit_hash_key_index, data) → four numbers in `spans`. */
function readRecordSpan(data: Uint8Array, from: number, to: number): void {
  inner.reset(data, from, to);
  let pk = -1;
  let ehk = -1;
  let start = -1;
  let end = -1;
  while (!inner.done) {
    const tag = inner.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 1 && wire === 0) pk = inner.varint();
    else if (field === 2 && wire === 0) ehk = inner.varint();
    else if (field === 3 && wire === 2) {
      const n = inner.varint();
      start = inner.take(n);
      end = start + n;
    } else inner.skip(wire);
  }
  if (pk < 0 || start < 0) throw new KplFormatError('record without partition_key_index or data');
  spans.push(pk, ehk, start, end);
}

class Reader {
  private b: Uint8Array = new Uint8Array(0);
  private p = 0;
  private end = 0;

  reset(b: Uint8Array, from: number, to: number): void {
    this.b = b;
    this.p = from;
    this.end = to;
  }

  get done(): boolean {
    return this.p >= this.end;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.p >= this.end) throw new KplFormatError('truncated varint');
      const byte = this.b[this.p++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
    throw new KplFormatError('varint longer than 53 bits');
  }

  /** Skips `n` bytes; returns where they start. */
  take(n: number): number {
    if (this.p + n > this.end) throw new KplFormatError(`length ${n} runs past the record`);
    const start = this.p;
    this.p += n;
    return start;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.take(8);
    else if (wire === 2) this.take(this.varint());
    else if (wire === 5) this.take(4);
    else throw new KplFormatError(`unsupported wire type ${wire}`);
  }
}

// Reused by every call (single-threaded, not re-entrant): where each user record lies, as numbers, not objects.
const outer = new Reader();
const inner = new Reader();
const spans: number[] = [];
