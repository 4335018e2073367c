/** The Redis connection settings as the environment gives them: parsed, and refused naming the variable to fix. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, type ConfigSpec } from '@hotpath/config';
import {
  CLUSTER_RETRY_CAP_MS,
  REDIS_CONNECTION_ENV,
  RedisConnectionSchema,
  checkedRedisSettings,
  createRedisClient,
  parseHostPort,
  reconnectDelay,
  redisConnectionEnv,
  redisConnectionFields,
  settingProblems,
} from '../src/connection.ts';
import { RedisServer } from '../src/testing/redis-server.ts';
import { configRefusal } from '../../../test/support/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'redis-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The env variables as an app's env map turns them into settings. */
const fromEnv = (env: Record<string, string>) =>
  RedisConnectionSchema.safeParse(Object.fromEntries(Object.entries(env).map(([k, v]) => [REDIS_CONNECTION_ENV[k as keyof typeof REDIS_CONNECTION_ENV], v])));

/** "VARIABLE: message" per issue, through the env map turned around (as loadConfig names them). */
const refusals = (env: Record<string, string>): string[] => {
  const r = fromEnv(env);
  expect(r.success).toBe(false);
  const variableOf = new Map(Object.entries(REDIS_CONNECTION_ENV).map(([variable, setting]) => [setting as string, variable]));
  return r.success ? [] : r.error.issues.map((i) => `${variableOf.get(String(i.path[0]))}: ${i.message}`);
};

describe('Redis connection settings', () => {
  it('parses a single server, a TLS cluster with its NAT map, user and files', () => {
    expect(fromEnv({})).toMatchObject({ success: true, data: { url: 'redis://127.0.0.1:6379' } });
    const r = fromEnv({
      REDIS_URL: 'rediss://aggregator@clustercfg.hotpath.abc123.use1.cache.amazonaws.com:6379',
      REDIS_CLUSTER_NODES: 'clustercfg.hotpath.abc123.use1.cache.amazonaws.com:6379, 10.0.1.5:6380,[fd00::1]:7000',
      REDIS_CLUSTER_NAT_MAP: '172.18.0.2:6379=127.0.0.1:7000,redis-1:6379=127.0.0.1:7001',
      REDIS_TLS_CA_FILE: '/run/secrets/redis-ca.pem',
      REDIS_PASSWORD_FILE: '/run/secrets/redis/aggregator/password',
    });
    expect(r.success).toBe(true);
    expect(r.data).toEqual({
      url: 'rediss://aggregator@clustercfg.hotpath.abc123.use1.cache.amazonaws.com:6379',
      clusterNodes: [
        { host: 'clustercfg.hotpath.abc123.use1.cache.amazonaws.com', port: 6379 },
        { host: '10.0.1.5', port: 6380 },
        { host: 'fd00::1', port: 7000 },
      ],
      natMap: { '172.18.0.2:6379': { host: '127.0.0.1', port: 7000 }, 'redis-1:6379': { host: '127.0.0.1', port: 7001 } },
      tlsCaFile: '/run/secrets/redis-ca.pem',
      username: undefined,
      passwordFile: '/run/secrets/redis/aggregator/password',
    });
    expect(parseHostPort('redis:0')).toBeUndefined();
    expect(parseHostPort('redis:65536')).toBeUndefined();
    expect(parseHostPort('redis')).toBeUndefined();
  });

  it('refuses what cannot work, naming the variable and never quoting the URL (it may hold a password)', () => {
    expect(refusals({ REDIS_URL: 'http://secret@redis:6379' })).toEqual(['REDIS_URL: not a redis:// or rediss:// URL']);
    expect(refusals({ REDIS_URL: 'redis:6379' })).toEqual(['REDIS_URL: has no host']);
    expect(refusals({ REDIS_URL: 'not a url p4ss' })).toEqual(['REDIS_URL: not a URL (redis://host:port or rediss://host:port)']);
    expect(refusals({ REDIS_URL: 'redis://:p4ss@redis:6379', REDIS_PASSWORD_FILE: '/run/secrets/pw' })).toEqual([
      'REDIS_URL: already has a password; give it in the URL or in REDIS_PASSWORD_FILE, not both',
    ]);
    expect(refusals({ REDIS_URL: 'redis://aggregator@redis:6379', REDIS_USERNAME: 'inference' })).toEqual(['REDIS_USERNAME: differs from the user REDIS_URL names; give it in one place']);
    expect(refusals({ REDIS_TLS_CA_FILE: '/ca.pem' })).toEqual(['REDIS_TLS_CA_FILE: is set but REDIS_URL is not rediss:// (TLS)']);
    expect(refusals({ REDIS_URL: 'redis://redis:6379/2', REDIS_CLUSTER_NODES: 'redis:6379' })).toEqual(['REDIS_URL: names a database; a Redis Cluster has only database 0']);
    expect(refusals({ REDIS_CLUSTER_NAT_MAP: 'a:1=b:2' })).toEqual(['REDIS_CLUSTER_NAT_MAP: is set but REDIS_CLUSTER_NODES is not (a NAT map is for a Cluster)']);
    expect(refusals({ REDIS_CLUSTER_NODES: 'redis-1:6379,redis-2' })).toEqual(['REDIS_CLUSTER_NODES: "redis-2" is not host:port']);
    expect(refusals({ REDIS_CLUSTER_NODES: ' , ' })).toEqual(['REDIS_CLUSTER_NODES: names no node (host:port,host:port)']);
    expect(refusals({ REDIS_CLUSTER_NODES: 'a:1', REDIS_CLUSTER_NAT_MAP: 'a:1=b:2=c:3,a:1' })).toEqual([
      'REDIS_CLUSTER_NAT_MAP: "a:1=b:2=c:3" is not from-host:port=to-host:port',
      'REDIS_CLUSTER_NAT_MAP: "a:1" is not from-host:port=to-host:port',
    ]);
    // the same user twice is no conflict; database 0 in a cluster URL is none
    expect(settingProblems({ url: 'redis://svc@redis:6379/0', username: 'svc', clusterNodes: [{ host: 'redis', port: 6379 }] })).toEqual([]);
  });

  it('redisConnectionEnv gives the variables back: read again, they are the same settings (IPv6 hosts in brackets)', () => {
    const settings = {
      url: 'rediss://svc@redis:6379',
      clusterNodes: [
        { host: 'redis-1', port: 6379 },
        { host: 'fd00::1', port: 7000 },
      ],
      natMap: { 'fd00::2:6379': { host: '127.0.0.1', port: 7001 }, '172.18.0.2:6379': { host: 'localhost', port: 7002 } },
      tlsCaFile: '/ca.pem',
      passwordFile: '/pw',
    };
    const env = redisConnectionEnv(settings);
    expect(env).toEqual({
      REDIS_URL: 'rediss://svc@redis:6379',
      REDIS_CLUSTER_NODES: 'redis-1:6379,[fd00::1]:7000',
      REDIS_CLUSTER_NAT_MAP: '[fd00::2]:6379=127.0.0.1:7001,172.18.0.2:6379=localhost:7002',
      REDIS_TLS_CA_FILE: '/ca.pem',
      REDIS_PASSWORD_FILE: '/pw',
    });
    expect(fromEnv(env as Record<string, string>)).toEqual({ success: true, data: { ...settings, username: undefined } });
    expect(redisConnectionEnv({ url: 'redis://h:1' })).toEqual({ REDIS_URL: 'redis://h:1' });
  });

  it('checkedRedisSettings through loadConfig (what every app does): any URL and any password file give settings, or a ConfigError naming REDIS_URL or REDIS_PASSWORD_FILE with neither the secret nor the URL anywhere', () => {
    let n = 0;
    const schema = z.object(redisConnectionFields).transform(checkedRedisSettings);
    const spec: ConfigSpec = { name: 'app', schema, env: REDIS_CONNECTION_ENV, secrets: ['redisUrl'] };
    fc.assert(
      fc.property(
        fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 }), fc.constantFrom('redis://redis:6379', 'rediss://svc@redis:6380/1', 'redis://:inline-secret@h:1', 'redis://h:1/x')),
        fc.option(fc.uint8Array({ maxLength: 80 })),
        (u, content) => {
          let file: string | undefined;
          if (content !== null) writeFileSync((file = join(dir, `pw-${n++}`)), content);
          const err = configRefusal(() => loadConfig(spec, { env: { REDIS_URL: u, ...(file !== undefined ? { REDIS_PASSWORD_FILE: file } : {}) } }));
          if (err === undefined) return;
          for (const line of err.message.split('\n').slice(1)) expect(line).toMatch(/^ {2}(REDIS_URL|REDIS_PASSWORD_FILE): /);
          // (where the URL was, "[redacted]" stands: a URL may be part of that word)
          const text = err.issues.map((i) => i.message.replaceAll('[redacted]', '\0')).join('\n');
          if (u !== '') expect(text).not.toContain(u);
          const secret = Buffer.from(content ?? [])
            .toString('utf8')
            .trim();
          if (secret.length >= 8 && !u.includes(secret) && !file!.includes(secret)) expect(text).not.toContain(secret);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('checkedRedisSettings reads the files as the connection will: unreadable, empty or not PEM is an issue naming the variable', () => {
    const schema = z.object(redisConnectionFields).transform(checkedRedisSettings);
    const spec: ConfigSpec = { name: 'app', schema, env: REDIS_CONNECTION_ENV, secrets: ['redisUrl'] };
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'not-pem'), 'hello');
    const err = configRefusal(() => loadConfig(spec, { env: { REDIS_URL: 'rediss://redis:6380', REDIS_PASSWORD_FILE: join(dir, 'empty'), REDIS_TLS_CA_FILE: join(dir, 'not-pem') } }));
    // (the CA is read first: one issue per connection attempt, the first that fails)
    expect(err?.message.split('\n').slice(1)).toEqual([`  REDIS_TLS_CA_FILE: ${join(dir, 'not-pem')}: not a PEM certificate`]);
    const empty = configRefusal(() => loadConfig(spec, { env: { REDIS_PASSWORD_FILE: join(dir, 'empty') } }));
    expect(empty?.message.split('\n').slice(1)).toEqual([`  REDIS_PASSWORD_FILE: ${join(dir, 'empty')}: empty`]);
    const missing = configRefusal(() => loadConfig(spec, { env: { REDIS_PASSWORD_FILE: join(dir, 'nope') } }));
    expect(missing?.message.split('\n').slice(1)).toEqual([`  REDIS_PASSWORD_FILE: ${join(dir, 'nope')}: cannot open (ENOENT)`]);
  });

  it('reconnects after a delay that doubles from 100 ms up to a cap, forever', () => {
    expect([1, 2, 3, 4, 5, 6].map(reconnectDelay)).toEqual([100, 200, 400, 800, 1600, CLUSTER_RETRY_CAP_MS]);
    expect(reconnectDelay(10_000)).toBe(CLUSTER_RETRY_CAP_MS);
  });

  it('createRedisClient: a lazy client that connects at its first command', async () => {
    const server = new RedisServer();
    await server.start();
    try {
      const client = createRedisClient({ url: server.url }, { name: 'lazy', lazyConnect: true });
      expect(client.status).toBe('wait');
      expect(await client.ping()).toBe('PONG');
      expect(await client.client('GETNAME')).toBe('lazy');
      client.disconnect();
    } finally {
      await server.stop();
    }
  });
});
