/**
 * The aggregator on a real local Redis Cluster (3 masters + 3 replicas, from libs/state's harness; one cluster
 * for the file). First the exactly-once drill of two instances sharing a stream, as on one redis-server
 * (aggregator.sharing.test.ts). Then, under load — the rest of the stream arriving while it happens:
 *  - kill -9 of the master owning {BTCUSDT}, with the lease table on it too: its replica is promoted, both
 *    instances lose every lease and take the shards again, each re-read from its committed checkpoint; the
 *    failover time (kill → first commit of BTCUSDT after) is measured and printed, and /health says the
 *    truth meanwhile (503 with the master down, 200 again by itself);
 *  - the {BTCUSDT} slot migrated to another master key by key (ASK, TRYAGAIN, then MOVED).
 * Each ends byte-identical to the offline replay: nothing applied twice or lost.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { KinesisProducer } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { FeatureStore, connectRedis, keys, type RedisClient } from '@hotpath/state';
import { RedisCluster, waitUntil, type ClusterNode } from '@hotpath/state/testing/cluster';
import { VERSION_OFFSET } from '@hotpath/features';
import type { Aggregator } from '../src/index.ts';
import { drillAggregator, envelopes, exactlyOnceDrill, expectReplayed, produce, replayOf, stopCleanly, vectorsAt, type RedisFields } from './support.ts';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'BNBUSDT', 'ADAUSDT'];

async function health(port: number): Promise<{ status: number; body: { ok: boolean; redis: string } }> {
  const r = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: r.status, body: (await r.json()) as { ok: boolean; redis: string } };
}

/** The sum of a metric's series in an aggregator's registry (0 when it has none). */
async function metricSum(agg: Aggregator, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await agg.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

describe('the aggregator on a real Redis Cluster (3 masters + 3 replicas)', { timeout: 300_000 }, () => {
  const emu = new KinesisEmulator();
  let cluster: RedisCluster;
  let client: RedisClient;
  let redis: RedisFields;
  /** Aggregators a test started and has not stopped yet: stopped after it, should it fail half-way. */
  const running = new Set<Aggregator>();

  beforeAll(async () => {
    cluster = new RedisCluster({ nodeTimeoutMs: 1_000 });
    await Promise.all([cluster.start(), emu.start()]);
    const seeds = cluster.startupNodes;
    redis = { redisUrl: 'redis://127.0.0.1', redisClusterNodes: seeds.map((n) => `${n.host}:${n.port}`).join(',') };
    client = await connectRedis({ url: redis.redisUrl, clusterNodes: seeds }, { name: 'drill-check', commandTimeout: 2_000, maxRetriesPerRequest: 2 });
    client.on('error', () => undefined); // a master is killed under it: the reads retry, and the test waits on what they return
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
    await emu.stop();
  });
  // every test starts from an empty cluster: checkpoints name shard ids, which each stream reuses
  beforeEach(async () => {
    await Promise.all((await cluster.liveMasters()).map((n) => n.call('FLUSHALL')));
  });
  afterEach(async () => {
    for (const agg of running) await agg.stop(5_000);
    running.clear();
  });

  /** Two aggregators on a new 4-shard stream, sharing it 2 + 2, committing state every 200 ms (so a commit follows any write closely). */
  async function pair(stream: string): Promise<{ a: Aggregator; b: Aggregator; producer: KinesisProducer }> {
    await emu.createStream(stream, 4);
    const [a, b] = ['a', 'b'].map((owner) => drillAggregator(owner, { redis, stream, endpoint: emu.endpoint, symbols: SYMBOLS }, { stateCommitMs: 200 })) as [Aggregator, Aggregator];
    for (const agg of [a, b]) {
      running.add(agg);
      await agg.start();
    }
    await vi.waitFor(() => expect([a.ownedShards.length, b.ownedShards.length]).toEqual([2, 2]), { timeout: 30_000, interval: 50 });
    const producer = new KinesisProducer(emu.client(), { streamName: stream });
    await producer.start();
    return { a, b, producer };
  }

  async function stopAll(...aggs: Aggregator[]): Promise<void> {
    for (const agg of aggs) {
      await stopCleanly(agg);
      running.delete(agg);
    }
  }

  /** A stream name whose lease keys ({stream} hash tag) are served by `master`. */
  async function streamServedBy(master: ClusterNode, prefix: string): Promise<string> {
    for (let i = 0; i < 1_000; i++) if ((await cluster.slotOwner(await cluster.keySlot(`lease:{${prefix}-${i}}:x`))) === master) return `${prefix}-${i}`;
    throw new Error(`no stream name ${prefix}-<n> hashes to the master on ${master.port}`);
  }

  it('exactly once: two instances split the shards, one is killed, its zombie is fenced off, every symbol ends as the offline replay', async () => {
    await exactlyOnceDrill({ emu, stream: 'shared', redis, client, symbols: SYMBOLS });
  });

  it('failover under load: kill -9 of the master owning {BTCUSDT} (and the leases): its replica takes over, every shard is re-read from its checkpoint, nothing applied twice or lost; /health 503 meanwhile', async () => {
    const master = await cluster.nodeOwningKey(keys.state('BTCUSDT'));
    const [replica] = await cluster.replicasOf(master);
    expect(replica).toBeDefined();
    const stream = await streamServedBy(master, 'failover');
    const base = envelopes();
    const third = Math.floor(base.length / 3);
    const { a, b, producer } = await pair(stream);
    const store = new FeatureStore(client);
    await produce(producer, SYMBOLS, base.slice(0, third));
    await vectorsAt(store, SYMBOLS, replayOf(base.slice(0, third)).version);
    const tokens = new Map([...a.leaseTokens(), ...b.leaseTokens()]);
    expect(tokens.size).toBe(4);

    // what the replica has of BTCUSDT: read directly (READONLY), so a write is seen the moment the new master takes it
    const watch = new Redis({ host: '127.0.0.1', port: replica!.port, maxRetriesPerRequest: 0, commandTimeout: 1_000 });
    watch.on('error', () => undefined);
    await watch.readonly();
    const checkpoint = async (): Promise<string> => {
      const b = await watch.getrangeBuffer(keys.state('BTCUSDT'), 0, 255);
      return b.toString('latin1', 4, 4 + b.readUInt32LE(0));
    };
    const version = async (): Promise<number> => (await watch.getrangeBuffer(keys.vector('BTCUSDT'), VERSION_OFFSET, VERSION_OFFSET + 7)).readDoubleLE(0);

    await cluster.killNode(master);
    const killedAt = master.killedAt!;
    // (the master is gone: nothing more reaches the replica but what it will take as master itself)
    const [cp0, v0] = [await checkpoint(), await version()];
    const rest = produce(producer, SYMBOLS, base.slice(third)); // the remaining two thirds arrive during the failover
    const [down, promoted, firstWrite, firstCommit] = await Promise.all([
      waitUntil('aggregator /health answering 503 with a master down', 10_000, async () => {
        const h = await health(a.httpPort);
        return h.status === 503 ? { ...h.body, atMs: Date.now() } : undefined;
      }),
      cluster.waitForFailover(keys.state('BTCUSDT')),
      waitUntil('a vector of BTCUSDT written after the kill', 30_000, async () => ((await version()) > v0 ? Date.now() : undefined), 10),
      waitUntil('a state commit of BTCUSDT after the kill', 30_000, async () => ((await checkpoint()) !== cp0 ? Date.now() : undefined), 10),
    ]);
    watch.disconnect();
    console.log(
      `failover of the master owning {BTCUSDT} (node timeout ${cluster.nodeTimeoutMs} ms): replica promoted ${promoted.ms} ms after the kill; ` +
        `first vector write ${firstWrite - killedAt} ms, first state commit ${firstCommit - killedAt} ms after it; /health 503 ${down.atMs - killedAt} ms after it (redis: ${down.redis})`,
    );
    expect(promoted.node).toBe(replica);
    expect(down.redis).not.toBe('ok'); // it says why: a master it cannot reach
    await rest;
    await expectReplayed(store, SYMBOLS, replayOf(base));
    // every lease was lost with the master that held the table and taken again with a newer token: its shard reopened from the checkpoint
    // (waited for: a shard whose lease was just lost is between owners until the next lease round takes it)
    await vi.waitFor(
      () => {
        const after = new Map([...a.leaseTokens(), ...b.leaseTokens()]);
        for (const [shard, token] of tokens) expect(after.get(shard), shard).toBeGreaterThan(token);
      },
      { timeout: 30_000, interval: 100 },
    );
    const reread =
      (await metricSum(a, 'aggregator_kinesis_records_processed_total', { status: 'already_applied' })) +
      (await metricSum(b, 'aggregator_kinesis_records_processed_total', { status: 'already_applied' }));
    console.log(`after the failover: ${reread} records re-read from checkpoints were skipped as already applied`);
    // healthy again, by itself
    await vi.waitFor(async () => expect(await health(a.httpPort)).toMatchObject({ status: 200, body: { ok: true, redis: 'ok' } }), { timeout: 30_000, interval: 100 });
    await producer.stop();
    await stopAll(a, b);
  });

  it('slot migration under load: the {BTCUSDT} slot moved to another master key by key mid-run, nothing applied twice or lost, the clients follow it', async () => {
    const slot = await cluster.keySlot(keys.state('BTCUSDT'));
    const from = await cluster.nodeOwningKey(keys.state('BTCUSDT'));
    const to = (await cluster.liveMasters()).find((n) => n !== from)!;
    const base = envelopes();
    const third = Math.floor(base.length / 3);
    const { a, b, producer } = await pair('reshard');
    const store = new FeatureStore(client);
    await produce(producer, SYMBOLS, base.slice(0, third));
    await vectorsAt(store, SYMBOLS, replayOf(base.slice(0, third)).version);
    // the second third arrives while the slot moves, the last once it has moved
    const during = produce(producer, SYMBOLS, base.slice(third, 2 * third));
    // one key per MIGRATE: the scripts' keys are split between the nodes for a while (TRYAGAIN), a key moved answers ASK
    const moved = await cluster.reshardSlot(slot, to, { batch: 1 });
    console.log(`slot ${slot} ({BTCUSDT}) moved from the master on ${from.port} to ${to.port} under load: ${moved.keys} keys in ${moved.ms} ms`);
    expect(moved.keys).toBe(3); // feat, state, fence
    expect(await cluster.slotOwner(slot)).toBe(to);
    await during;
    await produce(producer, SYMBOLS, base.slice(2 * third));
    await expectReplayed(store, SYMBOLS, replayOf(base));
    // the instance writing BTCUSDT met the move (MOVED) and counted it
    const slotsMoved = (await metricSum(a, 'aggregator_redis_cluster_slots_moved_total')) + (await metricSum(b, 'aggregator_redis_cluster_slots_moved_total'));
    expect(slotsMoved).toBeGreaterThanOrEqual(1);
    await producer.stop();
    await stopAll(a, b);
  });
});
