/**
 * Against a real local Redis Cluster (3 masters + 3 replicas from
 * redis-server --cluster-enabled yes, redis-cli --cluster create): the
 * connection factory in cluster mode follows MOVED and ASK; every Lua script
 * of libs/state keeps its keys in one slot (asked of the server: CLUSTER
 * KEYSLOT); state commits work; the {BTCUSDT} slot moves to another master
 * mid-writes with no write lost or doubled; its master is killed -9 and the
 * same client writes again by itself once the replica took over.
 */
import { Cluster } from 'ioredis';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnectionError, connectRedis, type RedisClient, type RedisConnectionSettings } from '../src/connection.ts';
import { FeatureStore, FencedWriteError, LeaseManager, PredictionStore, VectorStatus, encodeVector, keys, pingEveryMaster, scanKeys, watchRedisClient, type RedisClientEvent } from '../src/index.ts';
import { RedisCluster, waitUntil } from '../src/testing/cluster.ts';
import { RedisServer } from '../src/testing/redis-server.ts';
import { TlsRedisServer, makeTlsFiles, type TlsFiles } from '../src/testing/tls.ts';

/** A live vector of `version` (its version is what the stores compare). */
const LIVE = { status: VectorStatus.Live, writtenAtUs: 1, bestBid: 60000.01, bestAsk: 60000.02, schemaHash: '0123456789abcdef' } as const;
const vector = (version: number) => encodeVector({ ...LIVE, version, eventTimeUs: 1_750_000_000_000_000 + version, features: Float64Array.from([version]) });

describe('libs/state on a real Redis Cluster (3 masters + 3 replicas)', () => {
  // (made in beforeAll: a describe body also runs when a filter skips its tests, and would leave the dirs behind)
  let cluster: RedisCluster;
  const clients: RedisClient[] = [];
  /** One seed only: the client must learn the other nodes itself. */
  const settings = (extra: Partial<RedisConnectionSettings> = {}): RedisConnectionSettings => ({ url: 'redis://127.0.0.1', clusterNodes: [cluster.startupNodes[0]!], ...extra });
  const connect = async (name: string, extra: Partial<RedisConnectionSettings> = {}): Promise<RedisClient> => {
    const c = await connectRedis(settings(extra), { name, commandTimeout: 2_000, maxRetriesPerRequest: 2 });
    c.on('error', () => undefined); // the failover test kills a node under it: errors are what the test measures
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const started = Date.now();
    cluster = new RedisCluster({ nodeTimeoutMs: 1_000 });
    await cluster.start();
    console.log(`cluster of 6 nodes up and serving every slot in ${Date.now() - started} ms`);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster.stop();
  });

  it('starts: 3 masters each with a replica, all 16384 slots served on every node', async () => {
    const masters = await cluster.liveMasters();
    expect(masters).toHaveLength(3);
    for (const m of masters) expect(await cluster.replicasOf(m)).toHaveLength(1);
    for (const n of cluster.nodes) expect(await n.info('cluster')).toMatchObject({ cluster_state: 'ok', cluster_slots_ok: '16384', cluster_known_nodes: '6' });
    // each node is its own process, kept by pid (stop() ends them by pid, never by name)
    const pids = cluster.nodes.map((n) => n.pid);
    expect(new Set(pids).size).toBe(6);
    for (const n of cluster.nodes) expect(Number((await n.info('server'))['process_id'])).toBe(n.pid);
  });

  it('the factory connects in cluster mode from one seed and reads and writes keys of every master through MOVED', async () => {
    const client = await connect('moved-test');
    expect(client).toBeInstanceOf(Cluster);
    const keysWritten = Array.from({ length: 60 }, (_, i) => `moved-test:${i}`);
    for (const k of keysWritten) await client.set(k, k.toUpperCase());
    for (const k of keysWritten) expect(await client.get(k)).toBe(k.toUpperCase());
    // they are spread over all three masters: a plain connection to the seed is redirected for most
    const owners = new Set(await Promise.all(keysWritten.map(async (k) => (await cluster.nodeOwningKey(k)).port)));
    expect(owners.size).toBe(3);
    const seed = cluster.nodes[0]!;
    const redirected = await Promise.all(
      keysWritten.map((k) =>
        seed.call('GET', k).then(
          () => false,
          (err: Error) => /^MOVED \d+ 127\.0\.0\.1:\d+/.test(err.message),
        ),
      ),
    );
    expect(redirected.filter(Boolean).length).toBeGreaterThan(20);
  });

  it('every Lua script of libs/state keeps its keys in one slot (CLUSTER KEYSLOT), for several symbols and shards', async () => {
    const client = await connect('slots-test');
    // every script the stores define, and the keys each call passes (EVALSHA/EVAL: sha, numkeys, keys…)
    const defined = new Set<string>();
    const define = client.defineCommand.bind(client);
    client.defineCommand = ((name: string, definition: { lua: string; numberOfKeys?: number }) => {
      defined.add(name);
      define(name, definition);
    }) as typeof client.defineCommand;
    const calls: { script: string; keys: string[] }[] = [];
    const send = client.sendCommand.bind(client) as (...a: unknown[]) => unknown;
    (client as unknown as { sendCommand: (...a: unknown[]) => unknown }).sendCommand = (command: unknown, ...rest: unknown[]) => {
      const c = command as { name: string; args: unknown[] };
      if (c.name === 'evalsha' || c.name === 'eval') calls.push({ script: String(c.args[0]).slice(0, 12), keys: c.args.slice(2, 2 + Number(c.args[1])).map(String) });
      return send(command, ...rest);
    };
    const store = new FeatureStore(client);
    const predictions = new PredictionStore(client);
    for (const symbol of ['BTCUSDT', 'ETHUSDT', '1000SHIBUSDT']) {
      await store.commit(symbol, 1, vector(1), 'cp', Buffer.from([1]));
      await store.publish(symbol, 1, vector(2));
      await store.setStatus(symbol, 1, VectorStatus.Reanchoring, 2);
      await predictions.claim(symbol, 1_000, 'replica-a', 5_000);
      await predictions.write(symbol, 1_000, '{"p":1}');
    }
    for (const stream of ['market-events', 'market-events-eu']) {
      const leases = new LeaseManager(client, stream, 'agg-a', 60_000);
      for (const shard of ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000007']) {
        const lease = await leases.acquire(shard);
        expect(lease).toBeDefined();
        expect(await leases.renew(lease!)).toBe(true);
        await leases.release(lease!);
      }
      expect(await leases.heartbeat()).toBe(1);
    }
    // each script ran (Redis would have refused a cross-slot one with CROSSSLOT), and each call's keys share one slot
    expect([...defined].sort()).toEqual(['hpClaimTick', 'hpCommit', 'hpHeartbeat', 'hpLeaseAcquire', 'hpLeaseRelease', 'hpLeaseRenew', 'hpPublish', 'hpSetStatus', 'hpWritePrediction']);
    expect(new Set(calls.map((c) => c.script)).size).toBe(defined.size);
    for (const call of calls) {
      const slots = new Set(await Promise.all(call.keys.map((k) => cluster.keySlot(k))));
      expect(slots.size, `${call.keys.join(' ')}`).toBe(1);
    }
    // and the slot is the tag's: a symbol's keys live with {SYMBOL}, a stream's leases with {stream}
    expect(await cluster.keySlot(keys.state('BTCUSDT'))).toBe(await cluster.keySlot('{BTCUSDT}'));
    expect(await cluster.keySlot('lease:{market-events}:shardId-000000000007')).toBe(await cluster.keySlot('{market-events}'));
  });

  it('a prediction written by the script reaches a subscriber on another cluster client', async () => {
    const sub = await connectRedis(settings(), { name: 'subscriber', enableOfflineQueue: true, maxRetriesPerRequest: null });
    clients.push(sub);
    const got: string[] = [];
    sub.on('message', (_channel: string, message: string) => got.push(message));
    await sub.subscribe('pred:{BTCUSDT}');
    const writer = await connect('publisher');
    await new PredictionStore(writer).write('BTCUSDT', 2_000, '{"p":2}');
    await waitUntil('the published prediction', 5_000, async () => (got.includes('{"p":2}') ? true : undefined));
  });

  it('a fenced state commit works on the cluster: state, checkpoint and fence together, a lower token refused', async () => {
    const store = new FeatureStore(await connect('commit-test'));
    await store.commit('SOLUSDT', 5, vector(1), 'shardId-000:1:0', Buffer.from([1, 2, 3]));
    await store.commit('SOLUSDT', 6, vector(2), 'shardId-000:2:0', Buffer.from([4]));
    await expect(store.commit('SOLUSDT', 5, vector(9), 'zombie', Buffer.from([9]))).rejects.toBeInstanceOf(FencedWriteError);
    expect(await store.loadState('SOLUSDT')).toEqual({ checkpoint: 'shardId-000:2:0', state: Buffer.from([4]) });
    expect((await store.readVector('SOLUSDT'))!.version).toBe(2);
  });

  it('LeaseManager.list and scanKeys read every master: lease tables whose {stream} slots live on three masters, state keys on all', async () => {
    const client = await connect('scan-test');
    // streams whose {stream} slot is on each master in turn (one SCAN reads one node: two of three tables would be empty)
    const streams: string[] = [];
    const masters = new Set<number>();
    for (let i = 0; masters.size < 3; i++) {
      const port = (await cluster.nodeOwningKey(`{scan-stream-${i}}`)).port;
      if (!masters.has(port)) {
        masters.add(port);
        streams.push(`scan-stream-${i}`);
      }
    }
    for (const stream of streams) {
      const leases = new LeaseManager(client, stream, 'agg-scan', 60_000);
      for (const shard of ['shardId-000000000000', 'shardId-000000000001']) expect(await leases.acquire(shard)).toBeDefined();
    }
    for (let round = 0; round < 3; round++) {
      for (const stream of streams) {
        const rows = await new LeaseManager(client, stream, 'reader', 1).list();
        expect([stream, rows.map((r) => `${r.leaseKey}:${r.leaseOwner}`)]).toEqual([stream, ['shardId-000000000000:agg-scan', 'shardId-000000000001:agg-scan']]);
      }
    }
    // symbols' state keys are spread over every master: all of them found, each once
    const symbols = Array.from({ length: 30 }, (_, i) => `SCAN${i}USDT`);
    for (const symbol of symbols) await client.set(keys.state(symbol), 'x');
    expect(new Set(await Promise.all(symbols.map(async (s) => (await cluster.nodeOwningKey(keys.state(s))).port))).size).toBe(3);
    const found = await scanKeys(client, 'state:{SCAN*');
    expect(found.sort()).toEqual(symbols.map((s) => keys.state(s)).sort());
  });

  it('AUTH reaches every node (redisOptions): an ACL user works on all masters; a user that may not run CLUSTER fails at start naming REDIS_USERNAME', async () => {
    for (const n of cluster.nodes) {
      await n.call('ACL', 'SETUSER', 'svc', 'on', '>svc-password-0123456789', '~*', '&*', '+@all');
      await n.call('ACL', 'SETUSER', 'nocluster', 'on', '>svc-password-0123456789', '~*', '&*', '+@all', '-cluster');
    }
    const passwordFile = join(cluster.dir, 'svc-password');
    writeFileSync(passwordFile, 'svc-password-0123456789\n', { mode: 0o600 });
    const client = await connect('acl-test', { username: 'svc', passwordFile });
    for (let i = 0; i < 30; i++) await client.set(`acl-test:${i}`, String(i)); // keys on every master: each connection authenticated
    expect(await client.get('acl-test:29')).toBe('29');
    const err = await connectRedis(settings({ username: 'nocluster', passwordFile }), { name: 'acl-test', readyTimeoutMs: 5_000 }).then(
      (c) => {
        c.disconnect();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisConnectionError);
    expect(err).toMatchObject({ code: 'redis_auth_failed', variable: 'REDIS_USERNAME' });
    expect((err as Error).message).not.toContain('svc-password');
    // a wrong password: the node connections only say "Connection is closed"; the factory finds out why
    const wrongFile = join(cluster.dir, 'wrong-password');
    writeFileSync(wrongFile, 'not-the-svc-password-42\n', { mode: 0o600 });
    const started = Date.now();
    const wrong = await connectRedis(settings({ username: 'svc', passwordFile: wrongFile }), { name: 'acl-test', readyTimeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'redis_auth_failed', variable: 'REDIS_PASSWORD_FILE' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((wrong as Error).message).not.toContain('not-the-svc-password-42');
  });

  it('the wrong mode fails at start naming REDIS_CLUSTER_NODES: one server as a cluster, a cluster node as one server, a cluster not serving its slots', async () => {
    const plain = new RedisServer();
    await plain.start();
    const lone = new RedisCluster({ masters: 1, replicasPerMaster: 0 });
    try {
      const notCluster = await connectRedis({ url: plain.url, clusterNodes: [{ host: '127.0.0.1', port: plain.port }] }, { name: 'mode-test', readyTimeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(notCluster).toMatchObject({ code: 'redis_setting_invalid', variable: 'REDIS_CLUSTER_NODES' });
      expect((notCluster as Error).message).toMatch(/is not a Redis Cluster node: unset REDIS_CLUSTER_NODES/);

      const single = await connectRedis({ url: `redis://127.0.0.1:${cluster.nodes[0]!.port}` }, { name: 'mode-test' }).catch((e: unknown) => e);
      expect(single).toMatchObject({ code: 'redis_setting_invalid', variable: 'REDIS_CLUSTER_NODES' });
      expect((single as Error).message).toMatch(/is a Redis Cluster node: set REDIS_CLUSTER_NODES/);

      await lone.spawnNodes(); // cluster-enabled, no slot assigned: cluster_state fail
      const started = Date.now();
      const down = await connectRedis({ url: 'redis://127.0.0.1', clusterNodes: lone.startupNodes }, { name: 'mode-test', readyTimeoutMs: 1_500 }).catch((e: unknown) => e);
      expect(down).toMatchObject({ code: 'redis_cluster_down', variable: 'REDIS_CLUSTER_NODES' });
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await plain.stop();
      await lone.stop();
    }
  });

  it('moving the {BTCUSDT} slot to another master mid-writes: every acknowledged write is there, once', async () => {
    const client = await connect('reshard-test');
    const store = new FeatureStore(client);
    let slotsMoved = 0;
    watchRedisClient(client, { event: () => undefined, slotsMoved: (n) => (slotsMoved += n) });
    const slot = await cluster.keySlot('{BTCUSDT}');
    const from = await cluster.nodeOwningKey('{BTCUSDT}');
    const to = (await cluster.liveMasters()).find((m) => m !== from)!;
    // enough keys in the slot that the move takes many MIGRATE batches: the writer meets ASK and TRYAGAIN
    const fill = client.pipeline();
    for (let i = 0; i < 2_000; i++) fill.set(`fill:{BTCUSDT}:${i}`, i);
    await fill.exec();

    const acked: number[] = [];
    const failed: { n: number; err: string }[] = [];
    let stop = false;
    const writer = (async () => {
      for (let n = 0; !stop; n++) {
        try {
          await client.rpush('log:{BTCUSDT}', String(n)); // not idempotent: a write applied twice shows as a duplicate
          await client.set(`w:{BTCUSDT}:${n}`, String(n));
          await store.commit('BTCUSDT', 1, vector(n + 1), `cp-${n}`, Buffer.from(String(n)));
          acked.push(n);
        } catch (err) {
          failed.push({ n, err: (err as Error).message });
        }
      }
    })();
    await waitUntil('writes before the move', 10_000, async () => (acked.length >= 20 ? true : undefined));
    const before = acked.length;
    const moved = await cluster.reshardSlot(slot, to, { batch: 10 });
    const during = acked.length - before;
    await waitUntil('writes after the move', 10_000, async () => (acked.length >= before + during + 20 ? true : undefined));
    stop = true;
    await writer;
    console.log(
      `reshard of slot ${slot} (${moved.keys} keys) from :${from.port} to :${to.port}: ${moved.ms} ms, ${during} writes acknowledged during it, ${acked.length} in all, ${failed.length} failed`,
    );

    expect(await cluster.nodeOwningKey('{BTCUSDT}')).toBe(to);
    expect(Number(await to.call('CLUSTER', 'COUNTKEYSINSLOT', slot))).toBeGreaterThanOrEqual(2_000 + acked.length);
    expect(Number(await from.call('CLUSTER', 'COUNTKEYSINSLOT', slot))).toBe(0);
    expect(failed).toEqual([]); // ASK and TRYAGAIN are the client's business: no write failed
    expect(during).toBeGreaterThan(0);
    const log = (await client.lrange('log:{BTCUSDT}', 0, -1)).map(Number);
    expect(log).toEqual(acked); // each acknowledged write once, in order; nothing else
    const values = await Promise.all(acked.map((n) => client.get(`w:{BTCUSDT}:${n}`)));
    expect(values).toEqual(acked.map(String));
    expect(await store.loadState('BTCUSDT')).toEqual({ checkpoint: `cp-${acked.at(-1)}`, state: Buffer.from(String(acked.at(-1))) });
    // the client's slot map saw the one slot change master (what a service counts in <svc>_redis_cluster_slots_moved_total)
    await waitUntil('the slot move seen in the client slot map', 10_000, async () => (slotsMoved >= 1 ? true : undefined));
    expect(slotsMoved).toBe(1);
  });

  it('kill -9 of the master owning {BTCUSDT}: its replica takes over and the same client writes again by itself', async () => {
    const client = await connect('failover-test');
    const store = new FeatureStore(client);
    const victim = await cluster.nodeOwningKey('{BTCUSDT}');
    const [replica] = await cluster.replicasOf(victim);
    expect(replica).toBeDefined();
    await store.commit('BTCUSDT', 2, vector(100_000), 'before-kill', Buffer.from('x'));
    const events: RedisClientEvent[] = [];
    let slotsMoved = 0;
    watchRedisClient(client, { event: (e) => events.push(e), slotsMoved: (n) => (slotsMoved += n) });
    await pingEveryMaster(client);

    await cluster.killNode(victim);
    // what /health asks: a master down is seen at once, though most slots still answer
    await expect(pingEveryMaster(client)).rejects.toThrow();
    let n = 0;
    let failures = 0;
    let last = '';
    await waitUntil('a commit through the same client after the kill', 30_000, async () => {
      n += 1;
      try {
        await store.commit('BTCUSDT', 2, vector(100_000 + n), `after-kill-${n}`, Buffer.from('y'));
        return true;
      } catch (err) {
        failures += 1;
        last = (err as Error).message;
        return undefined;
      }
    });
    const recoveredMs = Date.now() - victim.killedAt!;
    const failover = await cluster.waitForFailover('{BTCUSDT}');
    console.log(
      `failover of :${victim.port} (node timeout ${cluster.nodeTimeoutMs} ms): replica :${failover.node.port} promoted ${failover.ms} ms after the kill; the client wrote again ${recoveredMs} ms after it (${failures} commits failed meanwhile, last: ${last})`,
    );

    expect(failover.node).toBe(replica);
    expect(recoveredMs).toBeLessThan(15_000);
    // seen by the client's events: the node's connection failed, its slots moved to the replica; every master answers again
    expect(events).toContain('node_error');
    await waitUntil('the victim slots moved in the client slot map', 10_000, async () => (slotsMoved >= 1 ? true : undefined));
    await waitUntil('every master answering PING again', 10_000, async () => ((await pingEveryMaster(client).then(() => true)) ? true : undefined));
    console.log(`slots moved in the client slot map by the failover: ${slotsMoved}; connection events: ${[...new Set(events)].join(', ')}`);
    expect(await store.loadState('BTCUSDT')).toEqual({ checkpoint: `after-kill-${n}`, state: Buffer.from('y') });
    // the promoted replica serves it now, by every live node's slot map
    for (const node of cluster.nodes.filter((x) => x.alive)) {
      await waitUntil(`:${node.port} sees :${replica!.port} serving {BTCUSDT}`, 10_000, async () =>
        (await cluster.slotOwner(await cluster.keySlot('{BTCUSDT}'), node)) === replica ? true : undefined,
      );
    }
  });
});

describe('a TLS-only cluster whose nodes announce names only a NAT map resolves (ElastiCache with TLS, a cluster in docker)', () => {
  let certs: string;
  let files: TlsFiles;
  let cluster: RedisCluster;
  const settings = (extra: Partial<RedisConnectionSettings> = {}): RedisConnectionSettings => ({
    url: 'rediss://localhost',
    clusterNodes: [{ host: 'localhost', port: cluster.nodes[0]!.port }],
    tlsCaFile: files.caFile,
    ...extra,
  });
  beforeAll(async () => {
    const started = Date.now();
    certs = mkdtempSync(join(tmpdir(), 'redis-cluster-tls-'));
    // a certificate for a DNS name only, and a seed by that name: ElastiCache's configuration endpoint
    files = makeTlsFiles(certs, ['DNS:localhost']);
    cluster = new RedisCluster({ masters: 3, replicasPerMaster: 0, tls: files, announceHostnames: true });
    await cluster.start();
    console.log(`TLS cluster of 3 masters up in ${Date.now() - started} ms`);
  });
  afterAll(async () => {
    await cluster.stop();
    rmSync(certs, { recursive: true, force: true });
  });

  it('connects over TLS to every master through the NAT map and reads and writes keys of all three', async () => {
    expect(String(await cluster.nodes[0]!.call('CLUSTER', 'SLOTS'))).toContain('.cluster.invalid'); // what the client is told
    const client = await connectRedis(settings({ natMap: cluster.natMap('localhost') }), { name: 'tls-cluster', commandTimeout: 2_000 });
    try {
      for (let i = 0; i < 30; i++) await client.set(`tls-cluster:${i}`, String(i));
      for (let i = 0; i < 30; i++) expect(await client.get(`tls-cluster:${i}`)).toBe(String(i));
      expect(
        (client as Cluster)
          .nodes('master')
          .map((n) => n.options.port)
          .sort(),
      ).toEqual(cluster.nodes.map((n) => n.port).sort());
    } finally {
      client.disconnect();
    }
  });

  it('without the NAT map the named nodes are out of reach: redis_cluster_down within the deadline, pointing at REDIS_CLUSTER_NAT_MAP', async () => {
    const err = await connectRedis(settings(), { name: 'tls-cluster', readyTimeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'redis_cluster_down', variable: 'REDIS_CLUSTER_NODES' });
    expect((err as Error).message).toMatch(/REDIS_CLUSTER_NAT_MAP/);
  });

  it('a wrong CA fails at start, at once: redis_tls_failed naming REDIS_TLS_CA_FILE', async () => {
    const started = Date.now();
    const err = await connectRedis(settings({ natMap: cluster.natMap('localhost'), tlsCaFile: files.wrongCaFile }), { name: 'tls-cluster', readyTimeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'redis_tls_failed', variable: 'REDIS_TLS_CA_FILE' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('the harnesses fail with an error that says what did not happen, within their deadline', () => {
  it('a node that cannot start, a cluster redis-cli refuses, a start past its deadline, a TLS server with a bad configuration', async () => {
    const started = Date.now();
    // (a failed start stops what it started: nothing is left running; stop() again is harmless)
    const badNode = new RedisCluster({ masters: 3, replicasPerMaster: 0, nodeArgs: ['--no-such-option', 'x'] });
    const tooSmall = new RedisCluster({ masters: 2, replicasPerMaster: 0 });
    const late = new RedisCluster({ startTimeoutMs: 300 });
    const tls = new TlsRedisServer({ users: [{ name: 'x', password: 'p', rules: 'bogus-rule' }] });
    try {
      await expect(badNode.start()).rejects.toThrow(/^redis-server on \d+ exited: .*no-such-option/);
      await expect(tooSmall.start()).rejects.toThrow(/^redis-cli --cluster create: exit 1: .*At least 3 nodes are required/);
      await expect(late.start()).rejects.toThrow(/not (done )?within \d+ ms/);
      await expect(tls.start()).rejects.toThrow(/^redis-server exited with code 1: .*Error in user declaration/);
      for (const c of [badNode, tooSmall, late]) expect(c.nodes.filter((n) => n.alive)).toEqual([]);
    } finally {
      await Promise.all([badNode.stop(), tooSmall.stop(), late.stop(), tls.stop()]);
    }
    await expect(waitUntil('a condition that never holds', 50, async () => Promise.reject(new Error('still no')))).rejects.toThrow('a condition that never holds: not within 50 ms (last: still no)');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
