/**
 * Polling consumer for one shard: GetShardIterator from a checkpoint
 * (AFTER_SEQUENCE_NUMBER) or TRIM_HORIZON / LATEST, GetRecords within the
 * per-shard limit (at most one call every `pollMs`, caught up or not: AWS
 * allows 5 calls/s per shard, shared by every polling consumer),
 * KPL de-aggregation, re-creating expired iterators from the last record
 * handed over, backoff on throttling and errors. Leases and checkpoints
 * belong to the caller: `handle` is awaited before the next poll, so a batch
 * is committed before more is read.
 */
import { backoffDelay } from '@hotpath/service';
import { ExpiredIteratorException, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, ListShardsCommand, type Shard, type _Record } from '@aws-sdk/client-kinesis';
import { KplFormatError, forEachUserRecord } from './kpl.ts';

export interface ConsumedRecord {
  shardId: string;
  sequenceNumber: string;
  /** Index of the user record inside its (aggregated) Kinesis record. */
  subSequence: number;
  partitionKey: string;
  data: Uint8Array;
  arrivalMs: number;
}

/** Where a shard is read from: after a checkpoint (`sequence:subSequence`), or the start/end of the shard. */
export type StartPosition = { after: string } | 'TRIM_HORIZON' | 'LATEST';

export interface ShardReaderOptions {
  streamName: string;
  shardId: string;
  start: StartPosition;
  pollMs?: number;
  /** Kinesis records per GetRecords (1–10,000; each may hold many aggregated user records). */
  limit?: number;
  handle: (records: ConsumedRecord[], millisBehindLatest: number) => Promise<void>;
  /** A Kinesis record that is not a valid KPL aggregate: skipped (it can never be applied), reported here. */
  onMalformed?: (sequenceNumber: string, err: KplFormatError) => void;
  /** Checked before every call; false stops the reader (lease lost, shutdown). */
  active: () => boolean;
  /** After every answer Kinesis gave (GetRecords, or a fan-out event, empty ones included): the reader is reading. */
  onPoll?: () => void;
  /**
   * A failed Kinesis call (throttled, endpoint down, …), reported before the reader backs off and tries again:
   * count it, log it. An error thrown by `handle` (a refused batch) is the caller's own and not reported.
   */
  onError?: (err: unknown) => void;
}

/** Checkpoint text for a user record: Kinesis sequence number and sub-sequence. */
export function checkpointOf(r: { sequenceNumber: string; subSequence: number }): string {
  return `${r.sequenceNumber}:${r.subSequence}`;
}

/**
 * -1, 0, 1 comparing two checkpoints. Sequence numbers are decimal strings of
 * up to 56 digits without leading zeros, so the longer one is larger and equal
 * lengths compare digit by digit; no BigInt or split per record (hot path).
 */
export function compareCheckpoints(a: string, b: string): number {
  let ia = a.indexOf(':');
  let ib = b.indexOf(':');
  if (ia < 0) ia = a.length;
  if (ib < 0) ib = b.length;
  if (ia !== ib) return ia < ib ? -1 : 1;
  for (let i = 0; i < ia; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return Math.sign(subSequence(a, ia) - subSequence(b, ib));
}

function subSequence(c: string, colon: number): number {
  let n = 0;
  for (let i = colon + 1; i < c.length; i++) n = n * 10 + (c.charCodeAt(i) - 48);
  return n;
}

export class ShardReader {
  /** True once the shard is closed (resharded) and read to its end: its children may start. */
  finished = false;
  private lastCheckpoint: string | undefined;

  constructor(
    private readonly client: KinesisClient,
    private readonly o: ShardReaderOptions,
  ) {
    if (typeof o.start === 'object') this.lastCheckpoint = o.start.after;
  }

  private async iterator(): Promise<string | undefined> {
    const base = { StreamName: this.o.streamName, ShardId: this.o.shardId };
    const cp = this.lastCheckpoint;
    const res = await this.client.send(
      new GetShardIteratorCommand(
        cp !== undefined
          ? // AT the checkpoint's record: its later sub-records may still be unread; the caller skips what it applied.
            { ...base, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: cp.split(':')[0] }
          : { ...base, ShardIteratorType: this.o.start === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON' },
      ),
    );
    return res.ShardIterator;
  }

  /** Runs until the shard ends or `active()` turns false. */
  async run(): Promise<void> {
    const pollMs = this.o.pollMs ?? 200;
    let iterator: string | undefined;
    let atCheckpoint = false;
    let failures = 0;
    let lastCallMs = Number.NEGATIVE_INFINITY;
    let handing = false;
    while (this.o.active()) {
      try {
        if (iterator === undefined) {
          iterator = await this.iterator();
          atCheckpoint = this.lastCheckpoint !== undefined;
        }
        if (iterator === undefined) {
          this.finished = true;
          return;
        }
        const wait = lastCallMs + pollMs - performance.now();
        if (wait > 0) await sleep(wait);
        if (!this.o.active()) return;
        lastCallMs = performance.now();
        const res = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.o.limit ?? 10_000 }));
        failures = 0;
        this.o.onPoll?.();
        const out = userRecords(res.Records ?? [], this.o);
        // Only the first records of an iterator opened AT the checkpoint can be ones already handed over.
        const fresh = atCheckpoint ? out.filter((r) => compareCheckpoints(checkpointOf(r), this.lastCheckpoint!) > 0) : out;
        if ((res.Records?.length ?? 0) > 0) atCheckpoint = false;
        if (fresh.length > 0 && this.o.active()) {
          handing = true;
          await this.o.handle(fresh, res.MillisBehindLatest ?? 0);
          handing = false;
          this.lastCheckpoint = checkpointOf(fresh[fresh.length - 1]!);
        }
        iterator = res.NextShardIterator;
        if (iterator === undefined) {
          this.finished = true; // closed shard read to its end
          return;
        }
      } catch (err) {
        if (err instanceof ExpiredIteratorException || (err as { name?: string }).name === 'ExpiredIteratorException') {
          iterator = undefined; // re-create from the last record handed over
          continue;
        }
        if (handing) {
          handing = false;
          iterator = undefined; // refused: read the batch again from the last record handed over
        } else {
          this.o.onError?.(err);
          // A throttled or failed GetRecords leaves its iterator good (5 minutes): it is tried again. Opened anew it would
          // start at the start position again, and on a LATEST start skip what arrived in between.
          if (!keepsIterator(err)) iterator = undefined;
        }
        await sleep(backoffDelay(failures++, READER_BACKOFF));
      }
    }
  }
}

/** After this error of a GetRecords call its iterator is still good: throttling, a server error, a lost connection (no answer at all). */
function keepsIterator(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'ProvisionedThroughputExceededException' || e.name === 'KMSThrottlingException') return true;
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}

/** Kinesis records → the user records in them (KPL de-aggregated), with their checkpoints; malformed aggregates reported and skipped. */
export function userRecords(records: _Record[], o: Pick<ShardReaderOptions, 'shardId' | 'onMalformed'>): ConsumedRecord[] {
  const out: ConsumedRecord[] = [];
  const shardId = o.shardId;
  for (const r of records) {
    const sequenceNumber = r.SequenceNumber!;
    const arrivalMs = r.ApproximateArrivalTimestamp?.getTime() ?? 0;
    let subSequence = 0;
    try {
      forEachUserRecord(r.Data!, r.PartitionKey ?? '', (partitionKey, data) => {
        out.push({ shardId, sequenceNumber, subSequence: subSequence++, partitionKey, data, arrivalMs });
      });
    } catch (err) {
      if (!(err instanceof KplFormatError)) throw err;
      o.onMalformed?.(sequenceNumber, err);
    }
  }
  return out;
}

/** Shards of a stream, parents before children (resharding: finish a parent before reading its children). */
export async function listShards(client: KinesisClient, streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListShardsCommand(token === undefined ? { StreamName: streamName } : { NextToken: token }));
    shards.push(...(res.Shards ?? []));
    token = res.NextToken;
  } while (token !== undefined);
  return shards;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Throttling and errors of a shard reader: the one backoff policy (full jitter), 100 ms doubling to 5 s. */
export const READER_BACKOFF = { baseMs: 100, maxMs: 5_000 } as const;
