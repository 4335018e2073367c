/** Against a private redis-server: fenced atomic commits, statuses, leases with expiry and stealing, durability across kill -9. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FeatureStore, FencedWriteError, LeaseManager, VectorStatus, encodeVector, keys, watchRedisClient, type RedisClientEvent } from '../src/index.ts';
import { RedisServer } from '../src/testing/redis-server.ts';

const vector = (version: number, status: VectorStatus = VectorStatus.Live) =>
  encodeVector({
    status,
    version,
    eventTimeUs: 1_750_000_000_000_000 + version,
    writtenAtUs: 1,
    bestBid: 60000.01,
    bestAsk: 60000.02,
    schemaHash: '0123456789abcdef',
    features: Float64Array.from([version, Math.PI, Number.NaN, -0]),
  });

describe('libs/state', () => {
  const server = new RedisServer();
  let redis: Redis;
  beforeAll(async () => {
    await server.start();
    redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 3 });
    redis.on('error', () => undefined); // the crash test restarts the server under it
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('commits vector, state and checkpoint together; a lower token is fenced off', async () => {
    const store = new FeatureStore(redis, 30_000);
    await store.commit('BTCUSDT', 5, vector(1), 'shardId-000:4960:0', Buffer.from([1, 2, 3]));
    expect((await store.readVector('BTCUSDT'))!.version).toBe(1);
    expect(await store.loadState('BTCUSDT')).toEqual({ checkpoint: 'shardId-000:4960:0', state: Buffer.from([1, 2, 3]) });
    await store.commit('BTCUSDT', 6, vector(2), 'shardId-000:4961:0', Buffer.from([4])); // a new owner raises the fence
    await expect(store.commit('BTCUSDT', 5, vector(99), 'zombie', Buffer.from([9]))).rejects.toBeInstanceOf(FencedWriteError);
    // (refused again, nothing written: the code is the metric label aggregator_redis_operations_total{status="fenced"})
    await expect(store.commit('BTCUSDT', 5, vector(99), 'zombie', Buffer.from([9]))).rejects.toMatchObject({ code: 'fenced' });
    expect((await store.readVector('BTCUSDT'))!.version).toBe(2);
    expect((await store.loadState('BTCUSDT'))!.checkpoint).toBe('shardId-000:4961:0');
    const ttl = await redis.pttl(keys.vector('BTCUSDT'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect(await redis.pttl(keys.state('BTCUSDT'))).toBe(-1); // recoverable state does not expire
  });

  it('publishes vectors between state commits, never going back to a lower version (a replay after a crash)', async () => {
    const store = new FeatureStore(redis);
    await store.commit('ADAUSDT', 1, vector(10), 'cp-10', Buffer.from([10]));
    expect(await store.publish('ADAUSDT', 1, vector(12))).toBe(true);
    expect((await store.loadState('ADAUSDT'))!.checkpoint).toBe('cp-10'); // publishing leaves state and checkpoint alone
    // a new owner replays from cp-10: older vectors are refused, its state still lands
    expect(await store.publish('ADAUSDT', 2, vector(11))).toBe(false);
    expect(await store.setStatus('ADAUSDT', 2, VectorStatus.Reanchoring, 11)).toBe(false);
    expect(await store.commit('ADAUSDT', 2, vector(11), 'cp-11', Buffer.from([11]))).toBe(false);
    expect((await store.readVector('ADAUSDT'))!).toMatchObject({ version: 12, status: VectorStatus.Live });
    expect((await store.loadState('ADAUSDT'))!.checkpoint).toBe('cp-11');
    expect(await store.publish('ADAUSDT', 2, vector(12))).toBe(true); // caught up: the same version again is idempotent
    expect(await store.commit('ADAUSDT', 2, vector(13), 'cp-13', Buffer.from([13]))).toBe(true);
    expect((await store.readVector('ADAUSDT'))!.version).toBe(13);
    await expect(store.publish('ADAUSDT', 1, vector(99))).rejects.toBeInstanceOf(FencedWriteError);
  });

  it('flips the status in place; readers see it in the same single read', async () => {
    const store = new FeatureStore(redis);
    await store.commit('ETHUSDT', 1, vector(3), 'cp', Buffer.alloc(0));
    expect(await store.setStatus('ETHUSDT', 1, VectorStatus.Reanchoring)).toBe(true);
    const v = (await store.readVector('ETHUSDT'))!;
    expect(v.status).toBe(VectorStatus.Reanchoring);
    expect(v.version).toBe(3);
    await expect(store.setStatus('ETHUSDT', 0, VectorStatus.Live)).rejects.toBeInstanceOf(FencedWriteError);
    expect(await store.setStatus('NOPEUSDT', 1, VectorStatus.Stale)).toBe(false);
    // a status flip by a new owner raises the fence like any write: the old owner is shut out
    expect(await store.setStatus('ETHUSDT', 4, VectorStatus.Live)).toBe(true);
    await expect(store.publish('ETHUSDT', 3, vector(4))).rejects.toBeInstanceOf(FencedWriteError);
  });

  it('leases: exclusive while alive, renewable by the holder only, stolen after expiry with a higher token', async () => {
    // (a lease that outlives the test: nothing here depends on how fast the machine is)
    const a = new LeaseManager(redis, 'market-events', 'agg-a', 60_000);
    const b = new LeaseManager(redis, 'market-events', 'agg-b', 60_000);
    const la = (await a.acquire('shardId-000000000000'))!;
    expect(la).toBeDefined();
    expect(await b.acquire('shardId-000000000000')).toBeUndefined();
    expect(await a.renew(la)).toBe(true);
    expect(await b.renew({ leaseKey: la.leaseKey, leaseCounter: la.leaseCounter })).toBe(false);

    // a lease its holder stops renewing (short-lived here) is taken, only once it expired, with a higher token
    const dying = new LeaseManager(redis, 'market-events', 'agg-a', 300);
    const ld = (await dying.acquire('shardId-000000000001'))!;
    const { expiresMs } = (await b.owners(['shardId-000000000001'])).get('shardId-000000000001')!;
    let lb: Awaited<ReturnType<LeaseManager['acquire']>>;
    await vi.waitFor(async () => expect((lb = await b.acquire('shardId-000000000001'))).toBeDefined(), { timeout: 30_000, interval: 20 });
    expect(lb!.leaseCounter).toBeGreaterThan(ld.leaseCounter);
    expect(lb!.leaseCounter).toBeGreaterThanOrEqual(expiresMs * 1000); // a token is at least the Redis time (µs) it was issued at: after the expiry
    expect(await dying.renew(ld)).toBe(false); // the zombie learns it lost the lease
    expect((await b.owners(['shardId-000000000001'])).get('shardId-000000000001')!.owner).toBe('agg-b');
    await b.release(lb!);
    expect((await a.acquire('shardId-000000000001'))!.leaseCounter).toBeGreaterThan(lb!.leaseCounter);
  });

  it('lease tokens never go back, even after Redis lost every key', async () => {
    const a = new LeaseManager(redis, 'tokens-stream', 'agg-a', 60_000);
    const first = (await a.acquire('shardId-000000000000'))!;
    await a.release(first);
    const second = (await a.acquire('shardId-000000000000'))!;
    expect(second.leaseCounter).toBeGreaterThan(first.leaseCounter);
    await redis.flushall(); // what a Redis restarted without its data looks like
    const b = new LeaseManager(redis, 'tokens-stream', 'agg-b', 60_000);
    const third = (await b.acquire('shardId-000000000000'))!;
    expect(third.leaseCounter).toBeGreaterThan(second.leaseCounter);
    expect(Number.isSafeInteger(third.leaseCounter)).toBe(true);
    // stored digit for digit (a 16-digit token written by Lua's own number-to-string would read back as 1.78e+15)
    expect(await redis.hget('lease:{tokens-stream}:shardId-000000000000', 'token')).toBe(String(third.leaseCounter));
    expect(await b.renew(third)).toBe(true);
  });

  it("watchRedisClient reports a client's connection events until it is told to stop, then leaves no listener behind", async () => {
    const client = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
    const before = ['error', 'reconnecting', 'ready'].map((e) => client.listenerCount(e));
    const events: RedisClientEvent[] = [];
    const unwatch = watchRedisClient(client, { event: (e) => events.push(e) });
    await client.connect();
    await vi.waitFor(() => expect(events).toContain('ready'));
    unwatch();
    expect(['error', 'reconnecting', 'ready'].map((e) => client.listenerCount(e))).toEqual(before);
    client.disconnect();
  });

  it('acknowledged commits survive a kill -9 of redis-server', async () => {
    const store = new FeatureStore(redis);
    await store.commit('SOLUSDT', 1, vector(42), 'before-crash', Buffer.from('state'));
    const killed = server.pid;
    await server.restart(50);
    expect(server.pid, 'a new redis-server process').not.toBe(killed);
    expect(killed).toBeGreaterThan(0);
    const fresh = new Redis(server.port, '127.0.0.1');
    const again = new FeatureStore(fresh);
    expect((await again.loadState('SOLUSDT'))!.checkpoint).toBe('before-crash');
    expect((await again.readVector('SOLUSDT'))!.version).toBe(42);
    fresh.disconnect();
  });
});
