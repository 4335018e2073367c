/** readStream across a merge: both parents (ParentShardId and AdjacentParentShardId) are read before the child. */
import { DescribeStreamSummaryCommand, MergeShardsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KinesisProducer, listShards, readStream } from '../src/index.ts';
import { KinesisEmulator } from '../src/testing/emulator.ts';

describe('readStream', () => {
  const emu = new KinesisEmulator();
  beforeAll(() => emu.start());
  afterAll(() => emu.stop());

  it('returns every key in write order across a shard merge', async () => {
    await emu.createStream('m', 2);
    const put = async (from: number, to: number) => {
      const producer = new KinesisProducer(emu.client(), { streamName: 'm' });
      await producer.start();
      for (let i = from; i < to; i++) for (const key of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) producer.put(key, Buffer.from(`${key}:${i}`));
      await producer.flush();
    };
    await put(0, 50);
    const [a, b] = await listShards(emu.client(), 'm');
    await emu.client().send(new MergeShardsCommand({ StreamName: 'm', ShardToMerge: a!.ShardId!, AdjacentShardToMerge: b!.ShardId! }));
    await vi.waitFor(async () => expect((await emu.client().send(new DescribeStreamSummaryCommand({ StreamName: 'm' }))).StreamDescriptionSummary!.StreamStatus).toBe('ACTIVE'), { timeout: 20_000 });
    const child = (await listShards(emu.client(), 'm')).find((s) => s.AdjacentParentShardId !== undefined)!;
    expect([child.ParentShardId, child.AdjacentParentShardId].sort()).toEqual([a!.ShardId, b!.ShardId].sort());
    await put(50, 100);
    const records = await readStream(emu.client(), 'm');
    for (const key of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) {
      expect(records.filter((r) => r.partitionKey === key).map((r) => Buffer.from(r.data).toString())).toEqual(Array.from({ length: 100 }, (_, i) => `${key}:${i}`));
    }
    expect(records.filter((r) => r.shardId === child.ShardId)).toHaveLength(150);
  });

  it('reads only the shards of the given keys, and only records since a time', async () => {
    await emu.createStream('recent', 4);
    const producer = new KinesisProducer(emu.client(), { streamName: 'recent' });
    await producer.start();
    const keys = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT'];
    for (const key of keys) producer.put(key, Buffer.from(`${key}:old`));
    await producer.flush();
    const shardOf = new Map((await readStream(emu.client(), 'recent')).map((r) => [r.partitionKey, r.shardId]));
    const mine = keys.filter((k) => shardOf.get(k) === shardOf.get('BTCUSDT'));
    const onlyMine = await readStream(emu.client(), 'recent', { partitionKeys: ['BTCUSDT'] });
    expect(new Set(onlyMine.map((r) => r.partitionKey))).toEqual(new Set(mine));
    // kinesalite's arrival times are whole milliseconds: the new records are put once the clock is past the old ones'
    const newest = Math.max(...(await readStream(emu.client(), 'recent')).map((r) => r.arrivalMs));
    const since = new Date(newest + 1);
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(since.getTime()));
    for (const key of keys) producer.put(key, Buffer.from(`${key}:new`));
    await producer.flush();
    const recent = await readStream(emu.client(), 'recent', { since, partitionKeys: ['BTCUSDT'] });
    expect(recent.map((r) => Buffer.from(r.data).toString()).sort()).toEqual(mine.map((k) => `${k}:new`).sort());
    await expect(readStream(emu.client(), 'recent', { deadlineMs: -1 })).rejects.toThrow(/did not finish/); // a deadline already past
    // nothing that recent (after every record put): the iterator is at the tip, the shard reads as empty (kinesalite as
    // patched; unpatched it never answered)
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(Math.max(...recent.map((r) => r.arrivalMs))));
    expect(await readStream(emu.client(), 'recent', { since: new Date(Date.now()), partitionKeys: ['BTCUSDT'] })).toEqual([]);
  });
});
