/**
 * The lease table `pnpm leases` prints, read from a real redis-server: leases
 * (held and expired) from libs/state's LeaseManager, checkpoints from the
 * symbols' committed states, finished shards as SHARD_END.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { FeatureStore, LeaseManager, VectorStatus, encodeVector } from '@hotpath/state';
import { RedisServer } from '@hotpath/state/testing';
import { formatLeaseTable, leaseTable } from '../src/index.ts';

describe('lease table', () => {
  const server = new RedisServer();
  let redis: Redis;

  beforeAll(async () => {
    await server.start();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  const vector = encodeVector({ status: VectorStatus.Live, version: 1, eventTimeUs: 1, writtenAtUs: 1, bestBid: 1, bestAsk: 2, schemaHash: '0123456789abcdef', features: new Float64Array(2) });

  it('leases held and expired, the oldest checkpoint of each shard, SHARD_END for shards read to their end', async () => {
    const a = new LeaseManager(redis, 'table', 'agg-a', 60_000);
    const b = new LeaseManager(redis, 'table', 'agg-b', 60_000);
    const held = (await a.acquire('shardId-000000000001'))!;
    const other = (await b.acquire('shardId-000000000002'))!;
    // a dead owner's lease, expired a while ago (as the Redis hash holds it)
    const [seconds] = await redis.time();
    await redis.hset('lease:{table}:shardId-000000000003', { owner: 'agg-dead', token: '7', expires: String(Number(seconds) * 1000 - 30_000) });
    await b.markFinished('shardId-000000000000');
    const store = new FeatureStore(redis);
    await store.commit('BTCUSDT', held.leaseCounter, vector, 'shardId-000000000001/49650000000000000000000000000000000000000000000000000012:3', Buffer.from('state'));
    await store.commit('ETHUSDT', held.leaseCounter, vector, 'shardId-000000000001/49650000000000000000000000000000000000000000000000000009:0', Buffer.from('state'));
    await store.commit('SOLUSDT', 1, vector, 'shardId-000000000004/5:0', Buffer.from('state')); // a shard nobody holds now
    await store.commit('XRPUSDT', 1, vector, '', Buffer.from('state')); // nothing applied yet: no checkpoint
    // another stream's leases are not this table's
    await new LeaseManager(redis, 'elsewhere', 'agg-x', 60_000).acquire('shardId-000000000009');

    const rows = await leaseTable(redis, 'table');
    expect(rows.map(({ expiresInMs, ...r }) => ({ ...r, live: expiresInMs === undefined ? undefined : expiresInMs > 0 }))).toEqual([
      { leaseKey: 'shardId-000000000000', leaseOwner: '-', leaseCounter: undefined, live: undefined, checkpoint: 'SHARD_END' },
      { leaseKey: 'shardId-000000000001', leaseOwner: 'agg-a', leaseCounter: held.leaseCounter, live: true, checkpoint: '49650000000000000000000000000000000000000000000000000009:0' },
      { leaseKey: 'shardId-000000000002', leaseOwner: 'agg-b', leaseCounter: other.leaseCounter, live: true, checkpoint: '-' },
      { leaseKey: 'shardId-000000000003', leaseOwner: 'agg-dead', leaseCounter: 7, live: false, checkpoint: '-' },
      { leaseKey: 'shardId-000000000004', leaseOwner: '-', leaseCounter: undefined, live: undefined, checkpoint: '5:0' },
    ]);
    expect(rows[1]!.expiresInMs).toBeLessThanOrEqual(60_000);
    expect(rows[3]!.expiresInMs).toBeLessThanOrEqual(-30_000);

    const text = formatLeaseTable(rows).split('\n');
    expect(text[0]!.split(/\s{2,}/)).toEqual(['leaseKey', 'leaseOwner', 'leaseCounter', 'expires in', 'checkpoint']);
    expect(text[1]!.split(/\s{2,}/)).toEqual(['shardId-000000000000', '-', '-', '-', 'SHARD_END']);
    expect(text[2]).toMatch(new RegExp(`^shardId-000000000001 +agg-a +${held.leaseCounter} +\\d+\\.\\d s +${rows[1]!.checkpoint}$`));
    expect(text[4]).toMatch(/^shardId-000000000003 +agg-dead +7 +expired \d+\.\d s ago +-$/);
    // a lease released is gone from the table
    await a.release(held);
    expect((await a.list()).map((r) => r.leaseKey)).toEqual(['shardId-000000000002', 'shardId-000000000003']);
  });
});
