/**
 * Reads a whole stream from TRIM_HORIZON, deaggregating KPL records: the
 * verification side of tests and benches (the leased, checkpointed consumer
 * is the aggregator's, issue 5). Parent shards are read before children.
 */
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { deaggregate, type UserRecord } from './kpl.ts';

export interface ReadRecord extends UserRecord {
  shardId: string;
  sequenceNumber: string;
  subSequence: number;
  arrivalMs: number;
}

export async function readStream(client: KinesisClient, streamName: string): Promise<ReadRecord[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListShardsCommand(token === undefined ? { StreamName: streamName } : { NextToken: token }));
    shards.push(...(res.Shards ?? []));
    token = res.NextToken;
  } while (token !== undefined);
  const done = new Set<string>();
  const ordered: Shard[] = [];
  while (ordered.length < shards.length) {
    const ready = shards.filter((s) => !done.has(s.ShardId!) && (s.ParentShardId === undefined || done.has(s.ParentShardId) || !shards.some((p) => p.ShardId === s.ParentShardId)));
    if (ready.length === 0) break;
    for (const s of ready) {
      ordered.push(s);
      done.add(s.ShardId!);
    }
  }
  const out: ReadRecord[] = [];
  for (const shard of ordered) {
    let iterator = (
      await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    while (iterator !== undefined) {
      const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of res.Records ?? []) {
        const { records } = deaggregate(r.Data!, r.PartitionKey ?? '');
        records.forEach((u, i) =>
          out.push({ ...u, shardId: shard.ShardId!, sequenceNumber: r.SequenceNumber!, subSequence: i, arrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? 0 }),
        );
      }
      if ((res.Records?.length ?? 0) === 0 && (res.MillisBehindLatest ?? 0) === 0) break;
      iterator = res.NextShardIterator;
    }
  }
  return out;
}
