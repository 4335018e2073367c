/**
 * Reads a whole stream (from TRIM_HORIZON, or from a time on) to its tip,
 * deaggregating KPL records: the verification side of tests and benches, and
 * the ingestor's look back at what it published before a restart (the leased,
 * checkpointed consumer is the aggregator's). Parent shards are read before
 * children.
 */
import { DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { DeadlineError, sleep } from '@hotpath/service';
import { listShards, userRecords } from './shard-reader.ts';
import { partitionHash } from './producer.ts';
import type { UserRecord } from './kpl.ts';

export interface ReadRecord extends UserRecord {
  shardId: string;
  sequenceNumber: string;
  subSequence: number;
  arrivalMs: number;
}

export interface ReadStreamOptions {
  /** Only records that arrived at or after this time (AT_TIMESTAMP); default: the whole retention. */
  since?: Date;
  /** Give up (DeadlineError) when the tip is not reached by then. */
  deadlineMs?: number;
  /** At least this long between GetRecords calls on a shard (AWS allows 5 per second, shared with every consumer). */
  pollMs?: number;
  /** Only the shards these partition keys hash to (default: every shard). */
  partitionKeys?: readonly string[];
  /** Malformed KPL records: counted here and skipped (untrusted input) instead of failing the read. */
  onMalformed?: (sequenceNumber: string, err: Error) => void;
}

export async function readStream(client: KinesisClient, streamName: string, options: ReadStreamOptions = {}): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  await visitStream(client, streamName, options, (records) => void out.push(...records));
  return out;
}

/** readStream without keeping the records: `visit` gets each GetRecords answer's user records in order (memory stays one answer). */
export async function visitStream(client: KinesisClient, streamName: string, options: ReadStreamOptions, visit: (records: ReadRecord[]) => void): Promise<void> {
  const until = options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.deadlineMs;
  const checkDeadline = (): void => {
    if (Date.now() > until) throw new DeadlineError(`reading ${streamName}`, options.deadlineMs!);
  };
  const hashes = options.partitionKeys?.map(partitionHash);
  const shards = await listShards(client, streamName);
  // (every shard keeps its place in the parents-first order; one that none of the keys hashes to is not read)
  const wanted = (s: Shard): boolean => hashes === undefined || hashes.some((h) => h >= BigInt(s.HashKeyRange!.StartingHashKey!) && h <= BigInt(s.HashKeyRange!.EndingHashKey!));
  // A time before the stream existed means its start: TRIM_HORIZON is then exact and cheaper.
  let since = options.since;
  if (since !== undefined) {
    const created = (await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary?.StreamCreationTimestamp;
    if (created !== undefined && since.getTime() <= created.getTime()) since = undefined;
  }
  const parentsOf = (s: Shard) => [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => p !== undefined && shards.some((x) => x.ShardId === p));
  // Parents (both of a merge) before children.
  const done = new Set<string>();
  const ordered: Shard[] = [];
  while (ordered.length < shards.length) {
    const ready = shards.filter((s) => !done.has(s.ShardId!) && parentsOf(s).every((p) => done.has(p)));
    if (ready.length === 0) break;
    for (const s of ready) {
      ordered.push(s);
      done.add(s.ShardId!);
    }
  }
  const malformed =
    options.onMalformed ??
    ((sequenceNumber: string, err: Error): never => {
      throw new Error(`record ${sequenceNumber}: ${err.message}`);
    });
  for (const shard of ordered) {
    if (!wanted(shard)) continue;
    checkDeadline();
    let iterator: string | undefined;
    if (since === undefined) {
      iterator = (await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    } else {
      // (the test emulator, kinesalite, is patched to answer this as AWS does: patches/kinesalite@3.3.3.patch)
      iterator = (await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: since }))).ShardIterator;
    }
    while (iterator !== undefined) {
      checkDeadline();
      const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      visit(userRecords(res.Records ?? [], { shardId: shard.ShardId!, onMalformed: malformed }));
      if ((res.Records?.length ?? 0) === 0 && (res.MillisBehindLatest ?? 0) === 0) break;
      iterator = res.NextShardIterator;
      if (options.pollMs !== undefined) await sleep(options.pollMs);
    }
  }
}
