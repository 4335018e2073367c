/**
 * The compose stack's Redis, for real: deploy/redis/start.sh (what the redis
 * container runs) renders deploy/redis/users.acl.in with passwords from
 * temporary secret files and execs a real redis-server with it. Each service
 * then connects the way it does in compose (REDIS_URL naming its ACL user +
 * REDIS_PASSWORD_FILE, through its own config schema) and runs what it runs:
 * the aggregator its lease and fenced-write scripts (libs/state), inference its
 * claim/write scripts, pub/sub and model pointer — and a whole InferenceServer
 * writes predictions. What a user must not do is refused.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { freePort } from '@hotpath/service';
import { FEATURE_COUNT, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { ClaimOutcome, FeatureStore, LeaseManager, MODEL_POINTER_KEY, PredictionStore, VectorStatus, connectRedis, encodeVector, keys, predictionKeys, type RedisClient } from '@hotpath/state';
import { aggregatorConfigFromEnv } from 'aggregator';
import { inferenceConfigFromEnv, InferenceServer } from 'inference';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const START = root('deploy/redis/start.sh');
const SYMBOL = 'BTCUSDT';
const dir = mkdtempSync(join(tmpdir(), 'deploy-redis-'));
const secrets = join(dir, 'secrets');
const aclFile = join(dir, 'acl', 'users.acl');
/** Passwords the operator put there before the first start (the others are generated). */
const GIVEN = { aggregator: 'given-aggregator-password-0123456789', inference: 'given-inference-p@ss:w/rd%41!' };
const EXPORTER_ADDR = 'redis://redis:6379';

let port = 0;
let server: ChildProcess | undefined;
const clients: RedisClient[] = [];
const passwordOf = (user: string): string => readFileSync(join(secrets, user, 'password'), 'utf8').trim();
const startEnv = { ...process.env, REDIS_SECRETS_DIR: secrets, REDIS_ACL_FILE: aclFile, REDIS_EXPORTER_ADDR: EXPORTER_ADDR };

function client(user: string, password = passwordOf(user)): Redis {
  const r = new Redis({ port, host: '127.0.0.1', username: user, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  clients.push(r);
  return r;
}

/** The reply to one RESP command on a fresh, unauthenticated connection. */
async function rawReply(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`${command}\r\n`));
    s.setTimeout(5_000, () => s.destroy(new Error('no reply')));
    s.once('data', (d) => {
      resolve(d.toString('utf8').trim());
      s.end();
    });
    s.once('error', reject);
  });
}

/** Polls `probe` until it answers (a generous deadline). */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await probe(); // (a probe that throws is tried again; at the deadline its last error is reported)
      if (v === undefined) throw new Error(`timed out waiting for ${what}`);
      return v;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

const vector = (version: number) => {
  const now = Date.now();
  return encodeVector({
    status: VectorStatus.Live,
    version,
    eventTimeUs: now * 1000,
    writtenAtUs: now * 1000,
    bestBid: 60_000,
    bestAsk: 60_000.01,
    schemaHash: FEATURE_SCHEMA_HASH,
    features: new Float64Array(FEATURE_COUNT).fill(0.1),
  });
};

beforeAll(async () => {
  for (const [user, pw] of Object.entries(GIVEN)) {
    mkdirSync(join(secrets, user), { recursive: true });
    writeFileSync(join(secrets, user, 'password'), `${pw}\n`);
  }
  port = await freePort();
  server = spawn('/bin/sh', [START, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', ''], {
    env: startEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor('redis-server with the rendered ACL', async () => {
    if (server!.exitCode !== null) throw new Error(`start.sh exited ${server!.exitCode}: ${stderr}`);
    if (!existsSync(join(secrets, 'admin', 'password'))) return undefined;
    const probe = new Redis({ port, host: '127.0.0.1', username: 'admin', password: passwordOf('admin'), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG' ? true : undefined;
    } finally {
      probe.disconnect();
    }
  });
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  const p = server;
  if (p && p.exitCode === null) {
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('deploy/redis: the rendered ACL', () => {
  it('uses the passwords given, generates the missing ones, and holds only their hashes', () => {
    expect(passwordOf('aggregator')).toBe(GIVEN.aggregator);
    expect(passwordOf('inference')).toBe(GIVEN.inference);
    for (const user of ['admin', 'exporter']) {
      expect(passwordOf(user)).toMatch(/^[0-9a-f]{64}$/);
      expect(statSync(join(secrets, user, 'password')).mode & 0o777).toBe(0o444);
    }
    const acl = readFileSync(aclFile, 'utf8');
    for (const user of ['admin', 'aggregator', 'inference', 'exporter']) {
      expect(acl).not.toContain(passwordOf(user));
      expect(acl).toMatch(new RegExp(`^user ${user} on .* #[0-9a-f]{64}$`, 'm'));
    }
    expect(acl).toMatch(/^user default off /m);
    // redis_exporter reads its password file as a JSON map from address to password
    expect(JSON.parse(readFileSync(join(secrets, 'exporter', 'password-map.json'), 'utf8'))).toEqual({ [EXPORTER_ADDR]: passwordOf('exporter') });
  });

  it('keeps the passwords across restarts, and refuses a weak one without printing it', () => {
    const before = ['admin', 'exporter'].map(passwordOf);
    const again = spawnSync('/bin/sh', [START, 'true'], { env: startEnv, encoding: 'utf8' });
    expect(again.status).toBe(0);
    expect(['admin', 'exporter'].map(passwordOf)).toEqual(before);

    const weak = join(dir, 'weak');
    mkdirSync(join(weak, 'aggregator'), { recursive: true });
    writeFileSync(join(weak, 'aggregator', 'password'), 'hunter2\n');
    const refused = spawnSync('/bin/sh', [START, 'true'], { env: { ...startEnv, REDIS_SECRETS_DIR: weak, REDIS_ACL_FILE: join(weak, 'users.acl') }, encoding: 'utf8' });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/aggregator\/password: a password has at least 16 characters/);
    expect(refused.stderr + refused.stdout).not.toContain('hunter2');
  });
});

describe('deploy/redis: who may do what', () => {
  it('the default user is off: without a user and password nothing runs', async () => {
    expect(await rawReply('PING')).toMatch(/^-NOAUTH/);
    expect(await rawReply('GET feat:{BTCUSDT}')).toMatch(/^-NOAUTH/);
    expect(await rawReply('AUTH default anything')).toMatch(/^-WRONGPASS/);
    expect(await rawReply('AUTH aggregator not-the-password')).toMatch(/^-WRONGPASS/);
  });

  it('aggregator (REDIS_URL + REDIS_PASSWORD_FILE through its config): leases and fenced writes; nothing of inference, nothing dangerous', async () => {
    const cfg = aggregatorConfigFromEnv({ REDIS_URL: `redis://aggregator@127.0.0.1:${port}`, REDIS_PASSWORD_FILE: join(secrets, 'aggregator', 'password'), AGGREGATOR_SYMBOLS: SYMBOL });
    // through the services' connection factory, as the aggregator connects (CLIENT SETNAME, ioredis' ready check: INFO)
    const redis = await connectRedis(cfg.redis, { name: 'aggregator', maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    clients.push(redis);
    // a cluster client's discovery (CLUSTER INFO, CLUSTER SLOTS) is allowed: this server answers that it is no cluster, not NOPERM
    for (const sub of ['INFO', 'SLOTS']) await expect(redis.call('CLUSTER', sub), `CLUSTER ${sub}`).rejects.toThrow(/cluster support disabled/);

    const leases = new LeaseManager(redis, 'market-events', 'agg-1', 5_000);
    const lease = await leases.acquire('shardId-000000000000');
    expect(lease).toBeDefined();
    expect(await leases.renew(lease!)).toBe(true);
    expect(await leases.heartbeat()).toBe(1);
    await leases.markFinished('shardId-000000000009');
    expect(await leases.finishedShards()).toEqual(new Set(['shardId-000000000009']));
    expect((await leases.owners(['shardId-000000000000'])).get('shardId-000000000000')?.owner).toBe('agg-1');

    const store = new FeatureStore(redis, 60_000);
    expect(await store.commit(SYMBOL, lease!.leaseCounter, vector(1), 'shardId-000000000000/1:0', Buffer.from('state'))).toBe(true);
    expect(await store.publish(SYMBOL, lease!.leaseCounter, vector(2))).toBe(true);
    expect(await store.setStatus(SYMBOL, lease!.leaseCounter, VectorStatus.Reanchoring, 2)).toBe(true);
    expect((await store.readVector(SYMBOL))?.status).toBe(VectorStatus.Reanchoring);
    expect(await store.publish(SYMBOL, lease!.leaseCounter, vector(3))).toBe(true);
    expect((await store.loadState(SYMBOL))?.checkpoint).toBe('shardId-000000000000/1:0');
    await leases.release(lease!);
    await leases.leave();

    const refused: [string, () => Promise<unknown>][] = [
      ['write a prediction', () => redis.set(predictionKeys.latest(SYMBOL), '{}')],
      ['read the model pointer', () => redis.get(MODEL_POINTER_KEY)],
      ['publish to a prediction channel', () => redis.publish(predictionKeys.channel(SYMBOL), 'x')],
      ['a script touching a key outside its patterns', () => redis.eval("return redis.call('SET', KEYS[1], 'x')", 1, 'other:key')],
      ['FLUSHALL', () => redis.flushall()],
      ['CONFIG GET', () => redis.config('GET', 'maxmemory')],
      ['CONFIG SET', () => redis.config('SET', 'maxmemory', '1')],
      ['KEYS', () => redis.keys('*')],
      ['ACL LIST', () => redis.call('ACL', 'LIST')],
      ['CLIENT KILL', () => redis.call('CLIENT', 'KILL', 'ID', '999999')],
      ['CLIENT LIST', () => redis.call('CLIENT', 'LIST')],
      ['SWAPDB', () => redis.call('SWAPDB', '0', '1')],
      ['SCRIPT FLUSH', () => redis.call('SCRIPT', 'FLUSH')],
      ['FUNCTION FLUSH', () => redis.call('FUNCTION', 'FLUSH')],
      ['SHUTDOWN', () => redis.call('SHUTDOWN', 'NOSAVE')],
    ];
    for (const [what, run] of refused) await expect(run(), what).rejects.toThrow(/NOPERM|can't access/);
  });

  it('inference (through its config): reads features, claims and writes predictions, pub/sub, model pointer; never writes features, never reads state', async () => {
    const cfg = inferenceConfigFromEnv({ REDIS_URL: `redis://inference@127.0.0.1:${port}`, REDIS_PASSWORD_FILE: join(secrets, 'inference', 'password') });
    const [redis, sub] = await Promise.all([
      connectRedis(cfg.redis, { name: 'inference', maxRetriesPerRequest: 0 }),
      connectRedis(cfg.redis, { name: 'inference-subscriber', maxRetriesPerRequest: 0 }),
    ]);
    for (const c of [redis, sub]) {
      c.on('error', () => undefined);
      clients.push(c);
    }
    for (const sub of ['INFO', 'SLOTS']) await expect(redis.call('CLUSTER', sub), `CLUSTER ${sub}`).rejects.toThrow(/cluster support disabled/);

    const store = new PredictionStore(redis, 100);
    const tick = 1_900_000_000_000;
    const claim = await store.claim(SYMBOL, tick, 'inf-1', 1_000); // the claim script reads feat:{S} (written above by the aggregator)
    expect(claim.outcome).toBe(ClaimOutcome.Claimed);
    expect(claim.vector).not.toBeNull();
    await sub.subscribe(predictionKeys.channel(SYMBOL));
    const pushed = new Promise<string>((resolve) => sub.once('message', (_c: string, m: string) => resolve(m)));
    expect(await store.write(SYMBOL, tick, '{"tickMs":1900000000000}')).toBe(true);
    expect(await pushed).toBe('{"tickMs":1900000000000}');
    expect(await store.latest(SYMBOL)).toBe('{"tickMs":1900000000000}');
    expect(await store.history(SYMBOL, tick, 10)).toEqual(['{"tickMs":1900000000000}']);
    expect((await store.claim(SYMBOL, tick, 'inf-2', 1_000)).outcome).toBe(ClaimOutcome.Done);
    expect(await redis.set(MODEL_POINTER_KEY, JSON.stringify({ path: '/app/models/m.onnx' }))).toBe('OK');
    expect(await redis.getBuffer(keys.vector(SYMBOL))).not.toBeNull();

    const refused: [string, () => Promise<unknown>][] = [
      ['SET feat', () => redis.set(keys.vector(SYMBOL), 'forged')],
      ['DEL feat', () => redis.del(keys.vector(SYMBOL))],
      ['a script that writes feat', () => redis.eval("return redis.call('SET', KEYS[1], 'forged')", 1, keys.vector(SYMBOL))],
      ['a script that deletes feat', () => redis.eval("return redis.call('DEL', KEYS[1])", 1, keys.vector(SYMBOL))],
      ['read the aggregator state', () => redis.getBuffer(keys.state(SYMBOL))],
      ['write a fence', () => redis.set(keys.fence(SYMBOL), '999999')],
      ['steal a lease', () => redis.hset('lease:{market-events}:shardId-000000000000', 'owner', 'inference')],
      ['publish elsewhere', () => redis.publish('other', 'x')],
      ['FLUSHALL', () => redis.flushall()],
      ['CONFIG SET', () => redis.config('SET', 'appendonly', 'no')],
      ['KEYS', () => redis.keys('*')],
    ];
    for (const [what, run] of refused) await expect(run(), what).rejects.toThrow(/NOPERM|can't access/);
    await expect(sub.subscribe('other'), 'subscribe elsewhere').rejects.toThrow(/NOPERM/);
    expect((await redis.getBuffer(keys.vector(SYMBOL)))!.length).toBeGreaterThan(64); // untouched
  });

  it('a whole InferenceServer configured as in compose writes predictions under its ACL user', async () => {
    const cfg = inferenceConfigFromEnv({
      REDIS_URL: `redis://inference@127.0.0.1:${port}`,
      REDIS_PASSWORD_FILE: join(secrets, 'inference', 'password'),
      INFERENCE_SYMBOLS: 'ETHUSDT',
      INFERENCE_HOST: '127.0.0.1',
      INFERENCE_PORT: '0',
      INFERENCE_INTERVAL_MS: '200',
      LOG_LEVEL: 'silent',
    });
    const aggregator = client('aggregator');
    const feeding = setInterval(() => void new FeatureStore(aggregator, 60_000).publish('ETHUSDT', 1, vector(Date.now())).catch(() => undefined), 100);
    const admin = client('admin');
    const inference = new InferenceServer(cfg);
    try {
      await inference.start();
      const latest = await waitFor('a prediction written by the service', async () => (await admin.get(predictionKeys.latest('ETHUSDT'))) ?? undefined);
      expect(JSON.parse(latest)).toMatchObject({ symbol: 'ETHUSDT' });
    } finally {
      clearInterval(feeding);
      await inference.stop();
    }
  });

  it('exporter: INFO and the introspection redis_exporter scrapes; no keys, nothing that changes anything', async () => {
    const redis = client('exporter');
    await redis.connect();
    expect(await redis.info('memory')).toMatch(/used_memory:/);
    expect(await redis.config('GET', 'maxmemory')).toEqual(['maxmemory', '0']);
    await redis.call('SLOWLOG', 'GET', '10');
    await redis.call('LATENCY', 'LATEST');
    expect(typeof (await redis.dbsize())).toBe('number');
    const refused: [string, () => Promise<unknown>][] = [
      ['GET feat', () => redis.get(keys.vector(SYMBOL))],
      ['SET', () => redis.set('x', '1')],
      ['CONFIG SET', () => redis.config('SET', 'maxmemory', '1')],
      ['KEYS', () => redis.keys('*')],
      ['FLUSHALL', () => redis.flushall()],
      ['EVAL', () => redis.eval('return 1', 0)],
    ];
    for (const [what, run] of refused) await expect(run(), what).rejects.toThrow(/NOPERM/);
  });

  it('admin can do anything (operators; the compose healthcheck)', async () => {
    const redis = client('admin');
    expect(await redis.call('ACL', 'WHOAMI')).toBe('admin');
    expect((await redis.call('ACL', 'USERS')) as string[]).toEqual(['admin', 'aggregator', 'default', 'exporter', 'inference']);
  });
});
