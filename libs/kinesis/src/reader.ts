/**
 * Reads a whole stream from TRIM_HORIZON, deaggregating KPL records: the
 * verification side of tests and benches (the leased, checkpointed consumer
 * is the aggregator's, issue 5). Parent shards are read before children.
 */
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { listShards, userRecords } from './consumer.ts';
import type { UserRecord } from './kpl.ts';

export interface ReadRecord extends UserRecord {
  shardId: string;
  sequenceNumber: string;
  subSequence: number;
  arrivalMs: number;
}

export async function readStream(client: KinesisClient, streamName: string): Promise<ReadRecord[]> {
  const shards = await listShards(client, streamName);
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
  const out: ReadRecord[] = [];
  const malformed = (sequenceNumber: string, err: Error): never => {
    throw new Error(`record ${sequenceNumber}: ${err.message}`);
  };
  for (const shard of ordered) {
    let iterator = (
      await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    while (iterator !== undefined) {
      const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      out.push(...userRecords(res.Records ?? [], { shardId: shard.ShardId!, onMalformed: malformed }));
      if ((res.Records?.length ?? 0) === 0 && (res.MillisBehindLatest ?? 0) === 0) break;
      iterator = res.NextShardIterator;
    }
  }
  return out;
}
