/**
 * Messages between the aggregator's thread and the fetch worker, and the
 * packing of a batch into one transferable buffer (no copy across threads,
 * no structured clone of one object per record).
 */
import type { ConsumedRecord, StartPosition } from './shard-reader.ts';

export interface OpenShard {
  streamName: string;
  shardId: string;
  start: StartPosition;
  pollMs?: number;
  limit?: number;
  /** Set: read by enhanced fan-out (SubscribeToShard) as this consumer instead of polling. */
  consumerArn?: string;
}

export interface PackedBatch {
  /** Every record's data, back to back; record i is [ends[i-1] ?? 0, ends[i]). */
  data: ArrayBuffer;
  ends: Int32Array;
  subSequences: Int32Array;
  arrivalMs: Float64Array;
  /** Per record: index into `sequenceNumbers` / `partitionKeys` (few distinct values per batch). */
  sequenceIndex: Int32Array;
  keyIndex: Int32Array;
  sequenceNumbers: string[];
  partitionKeys: string[];
}

export type ToWorker = { type: 'open'; id: number; shard: OpenShard } | { type: 'ack'; id: number; ok: boolean } | { type: 'stop'; id: number };

export type FromWorker =
  | { type: 'batch'; id: number; batch: PackedBatch; millisBehindLatest: number }
  | { type: 'malformed'; id: number; sequenceNumber: string; message: string }
  | { type: 'polled'; id: number }
  /** A failed Kinesis call the reader backs off from (an Error does not cross threads as its class: its name does). */
  // an Error does not cross the thread boundary as its class: its name, text and stack do, and are put back together on the other side
  | { type: 'error'; id: number; name: string; message: string; stack?: string }
  | { type: 'done'; id: number; finished: boolean };

export function packBatch(records: ConsumedRecord[]): PackedBatch {
  let bytes = 0;
  for (const r of records) bytes += r.data.byteLength;
  const data = new ArrayBuffer(bytes);
  const view = new Uint8Array(data);
  const n = records.length;
  const batch: PackedBatch = {
    data,
    ends: new Int32Array(n),
    subSequences: new Int32Array(n),
    arrivalMs: new Float64Array(n),
    sequenceIndex: new Int32Array(n),
    keyIndex: new Int32Array(n),
    sequenceNumbers: [],
    partitionKeys: [],
  };
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    view.set(r.data, at);
    at += r.data.byteLength;
    batch.ends[i] = at;
    batch.subSequences[i] = r.subSequence;
    batch.arrivalMs[i] = r.arrivalMs;
    // records of one Kinesis record are adjacent: comparing with the last one seen is enough
    if (batch.sequenceNumbers[batch.sequenceNumbers.length - 1] !== r.sequenceNumber) batch.sequenceNumbers.push(r.sequenceNumber);
    batch.sequenceIndex[i] = batch.sequenceNumbers.length - 1;
    let k = batch.partitionKeys.indexOf(r.partitionKey);
    if (k < 0) k = batch.partitionKeys.push(r.partitionKey) - 1;
    batch.keyIndex[i] = k;
  }
  return batch;
}

export function unpackBatch(shardId: string, b: PackedBatch): ConsumedRecord[] {
  const out: ConsumedRecord[] = new Array(b.ends.length);
  let start = 0;
  for (let i = 0; i < b.ends.length; i++) {
    const end = b.ends[i]!;
    out[i] = {
      shardId,
      sequenceNumber: b.sequenceNumbers[b.sequenceIndex[i]!]!,
      subSequence: b.subSequences[i]!,
      partitionKey: b.partitionKeys[b.keyIndex[i]!]!,
      data: new Uint8Array(b.data, start, end - start),
      arrivalMs: b.arrivalMs[i]!,
    };
    start = end;
  }
  return out;
}
