/**
 * TLS and AUTH for every service, for real (issue 18 item 3): a redis-server
 * that speaks TLS only, with a CA and server certificate made by openssl here
 * (@hotpath/state/testing/tls), the default user's password and the compose
 * ACL users (deploy/redis/users.acl.in: aggregator, inference). The services
 * run as their bins do in a deployment — processes configured by environment
 * variables alone (REDIS_URL rediss://, REDIS_TLS_CA_FILE, REDIS_USERNAME or
 * the user in the URL, REDIS_PASSWORD_FILE) — against kinesalite in this process:
 *  - the aggregator commits vectors and checkpoints, inference writes
 *    predictions, `pnpm leases` and `pnpm read:vector` read them back, all over TLS;
 *  - a wrong CA or a wrong password makes each service fail at start (exit
 *    code 1) with the typed error naming REDIS_TLS_CA_FILE or
 *    REDIS_PASSWORD_FILE; the scripts say the same and exit 1;
 *  - no password appears in anything any process printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KinesisProducer } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { freePort } from '@hotpath/service';
import { connectRedis, keys, predictionKeys, type RedisClient } from '@hotpath/state';
import { TlsRedisServer } from '@hotpath/state/testing/tls';
import { waitUntil } from '@hotpath/state/testing/cluster';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const STREAM = 'market-events';
const SYMBOL = 'BTCUSDT';
const secret = (): string => randomBytes(18).toString('base64url');
const passwords = { admin: secret(), aggregator: secret(), inference: secret() };
const allPasswords = Object.values(passwords);

/** A user's rules exactly as the compose stack's ACL file has them (everything after `user <name> on`). */
function composeRules(user: string): string {
  const line = readFileSync(root('deploy/redis/users.acl.in'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`user ${user} on `));
  if (line === undefined) throw new Error(`deploy/redis/users.acl.in has no user ${user}`);
  return line.slice(`user ${user} on `.length);
}

interface Proc {
  proc: ChildProcess;
  startedAt: number;
  /** Everything the process wrote, stdout and stderr. */
  output(): string;
  exited: Promise<number | null>;
}

/** A bin or script as a process with only the environment given (and PATH/HOME): nothing of this shell's REDIS_* leaks in. */
function run(entry: string, env: Record<string, string>, args: string[] = []): Proc {
  const startedAt = Date.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', root(entry), ...args], {
    cwd: root(''),
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return { proc, startedAt, output: () => out, exited };
}

/** Its exit code, within `timeoutMs` (else killed, and the test fails saying so). */
async function exitOf(p: Proc, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const code = await Promise.race([p.exited, late]);
  clearTimeout(timer);
  if (code === 'late') {
    p.proc.kill('SIGKILL');
    throw new Error(`still running after ${timeoutMs} ms; its output:\n${p.output()}`);
  }
  return code;
}

async function stop(p: Proc): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill('SIGTERM');
  await exitOf(p, 15_000).catch(() => undefined); // (killed if it overran: a slow stop is not what this test measures)
}

function expectNoPassword(what: string, text: string): void {
  for (const pw of allPasswords) expect(text.includes(pw), `${what} printed a password`).toBe(false);
}

describe('TLS and AUTH for every service (redis-server --tls-port, openssl certificates, ACL users)', () => {
  let server: TlsRedisServer;
  const emu = new KinesisEmulator();
  let admin: RedisClient;
  const files = { admin: '', aggregator: '', inference: '', wrong: '' };
  const procs: Proc[] = [];
  /** What the aggregator and inference need besides Redis. */
  let kinesisEnv: Record<string, string>;

  beforeAll(async () => {
    server = new TlsRedisServer({
      password: passwords.admin,
      users: [
        { name: 'aggregator', password: passwords.aggregator, rules: composeRules('aggregator') },
        { name: 'inference', password: passwords.inference, rules: composeRules('inference') },
      ],
    });
    await server.start();
    for (const user of ['admin', 'aggregator', 'inference'] as const) files[user] = server.secretFile(`${user}-password`, passwords[user]);
    files.wrong = server.secretFile('wrong-password', secret());
    admin = await connectRedis({ url: server.url, tlsCaFile: server.files.caFile, passwordFile: files.admin }, { name: 'test-admin', commandTimeout: 5_000 });
    await emu.start();
    await emu.createStream(STREAM, 1);
    kinesisEnv = { KINESIS_ENDPOINT: emu.endpoint, KINESIS_STREAM: STREAM, KINESIS_REGION: 'us-east-1' };
  });
  afterAll(async () => {
    for (const p of procs) await stop(p);
    admin?.disconnect();
    await emu.stop();
    await server?.stop();
  });

  /** The variables a service of `user` connects with: TLS with the test CA, its password from its file. */
  const redisEnv = (user: 'aggregator' | 'inference', over: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL: `rediss://${user}@127.0.0.1:${server.port}`,
    REDIS_TLS_CA_FILE: server.files.caFile,
    REDIS_PASSWORD_FILE: files[user],
    ...over,
  });

  it('the aggregator commits vectors and checkpoints, inference writes predictions, pnpm leases and read:vector read them: all over TLS as ACL users', async () => {
    const [aggregatorPort, inferencePort] = [await freePort(), await freePort()];
    const aggregator = run('apps/aggregator/bin/start.ts', {
      ...redisEnv('aggregator'),
      ...kinesisEnv,
      AGGREGATOR_SYMBOLS: SYMBOL,
      AGGREGATOR_ID: 'agg-tls',
      AGGREGATOR_PORT: String(aggregatorPort),
      AGGREGATOR_POLL_MS: '50',
      AGGREGATOR_STATE_COMMIT_MS: '200',
    });
    const inference = run('apps/inference/bin/start.ts', {
      ...redisEnv('inference'),
      INFERENCE_SYMBOLS: SYMBOL,
      INFERENCE_REPLICA: 'inf-tls',
      INFERENCE_PORT: String(inferencePort),
      INFERENCE_INTERVAL_MS: '200',
    });
    procs.push(aggregator, inference);

    // the fixture as the ingestor publishes it: a Connected event, then every frame with the REST snapshot in place
    const writer = new EnvelopeWriter(SYMBOL, 7);
    const producer = new KinesisProducer(emu.client(), { streamName: STREAM });
    await producer.start();
    for (const e of [writer.connected(1, 'test'), ...recordingEnvelopes(readRecording(FIXTURE_SPOT_BTCUSDT), writer)]) producer.put(SYMBOL, e);
    await producer.flush();
    await producer.stop();

    const alive = (p: Proc, name: string): void => {
      if (p.proc.exitCode !== null) throw new Error(`${name} exited with code ${p.proc.exitCode}:\n${p.output()}`);
    };
    // a vector and a checkpoint committed by the aggregator, a prediction written by inference (read as admin, over TLS)
    await waitUntil('a feature vector and a committed state', 60_000, async () => {
      alive(aggregator, 'the aggregator');
      return (await admin.exists(keys.vector(SYMBOL), keys.state(SYMBOL))) === 2 ? true : undefined;
    });
    const prediction = await waitUntil('a prediction written by the inference process', 60_000, async () => {
      alive(inference, 'inference');
      const latest = await admin.get(predictionKeys.latest(SYMBOL));
      return latest !== null && (JSON.parse(latest) as { replica: string }).replica === 'inf-tls' ? latest : undefined;
    });
    expect(JSON.parse(prediction)).toMatchObject({ symbol: SYMBOL, replica: 'inf-tls' });
    // both say healthy on the Redis side: the aggregator's writes and pings, inference connected
    await waitUntil('the aggregator /health: redis ok, writes ok', 30_000, async () => {
      const h = (await (await fetch(`http://127.0.0.1:${aggregatorPort}/health`)).json()) as { redis: string; writes: string; leases: number };
      return h.redis === 'ok' && h.writes === 'ok' && h.leases === 1 ? true : undefined;
    });
    const inferenceHealth = (await (await fetch(`http://127.0.0.1:${inferencePort}/health`)).json()) as { redis: string };
    expect(inferenceHealth.redis).not.toBe('disconnected');
    // the connections are the services' own users, named by the factory, over TLS
    const clients = String(await admin.call('CLIENT', 'LIST'));
    expect(clients).toMatch(/name=aggregator .*user=aggregator/);
    expect(clients).toMatch(/name=inference .*user=inference/);
    expect(clients).toMatch(/name=inference-subscriber .*user=inference/);

    // pnpm leases as the aggregator's user (REDIS_USERNAME), pnpm read:vector as inference's (the user in REDIS_URL)
    const leases = run('scripts/leases.ts', { ...redisEnv('aggregator', { REDIS_URL: server.url, REDIS_USERNAME: 'aggregator' }) }, [STREAM]);
    expect(await exitOf(leases, 60_000), leases.output()).toBe(0);
    expect(leases.output()).toMatch(/^shardId-000000000000\s+agg-tls\s+\d+\s+[\d.]+ s\s+\d+/m); // held by the aggregator, a checkpoint committed
    const vector = run('scripts/read-vector.ts', redisEnv('inference'), [SYMBOL]);
    expect(await exitOf(vector, 60_000), vector.output()).toBe(0);
    expect(JSON.parse(vector.output())).toMatchObject({ symbol: SYMBOL, status: expect.any(String), features: expect.any(Object) });

    for (const [name, p] of [
      ['aggregator', aggregator],
      ['inference', inference],
      ['pnpm leases', leases],
      ['pnpm read:vector', vector],
    ] as const)
      expectNoPassword(name, p.output());
    await Promise.all([stop(aggregator), stop(inference)]);
    expectNoPassword('aggregator (stopped)', aggregator.output());
    expectNoPassword('inference (stopped)', inference.output());
  });

  it('a wrong CA or a wrong password: each service fails at start (exit 1) with the typed error naming the setting, the scripts too; no password printed', async () => {
    const services = (user: 'aggregator' | 'inference', over: Record<string, string>): Proc =>
      user === 'aggregator'
        ? run('apps/aggregator/bin/start.ts', { ...redisEnv('aggregator', over), ...kinesisEnv, AGGREGATOR_PORT: '0' })
        : run('apps/inference/bin/start.ts', { ...redisEnv('inference', over), INFERENCE_PORT: '0' });
    const cases = [
      { what: 'aggregator, wrong CA', p: services('aggregator', { REDIS_TLS_CA_FILE: server.files.wrongCaFile }), code: 'redis_tls_failed', variable: 'REDIS_TLS_CA_FILE' },
      { what: 'aggregator, wrong password', p: services('aggregator', { REDIS_PASSWORD_FILE: files.wrong }), code: 'redis_auth_failed', variable: 'REDIS_PASSWORD_FILE' },
      { what: 'inference, wrong CA', p: services('inference', { REDIS_TLS_CA_FILE: server.files.wrongCaFile }), code: 'redis_tls_failed', variable: 'REDIS_TLS_CA_FILE' },
      { what: 'inference, wrong password', p: services('inference', { REDIS_PASSWORD_FILE: files.wrong }), code: 'redis_auth_failed', variable: 'REDIS_PASSWORD_FILE' },
    ];
    procs.push(...cases.map((c) => c.p));
    for (const c of cases) {
      expect(await exitOf(c.p, 60_000), `${c.what}:\n${c.p.output()}`).toBe(1);
      const out = c.p.output();
      // the service's own line: the typed error whole ({ err }) and the variable, then main()'s start failure
      const line = out.split('\n').find((l) => l.includes('Redis refused the connection'));
      expect(line, `${c.what}:\n${out}`).toBeDefined();
      const logged = JSON.parse(line!) as { level: number; variable: string; err: { type: string; code: string; variable: string; message: string } };
      expect([c.what, logged.variable, logged.err.type, logged.err.code, logged.err.variable]).toEqual([c.what, c.variable, 'RedisConnectionError', c.code, c.variable]);
      expect(logged.err.message).toContain(`: ${c.variable}: `);
      expect(out).toMatch(/failed to start/);
      expectNoPassword(c.what, out);
      expect(out.includes(readFileSync(files.wrong, 'utf8').trim()), `${c.what} printed the wrong password`).toBe(false);
      console.log(`${c.what}: exit 1 ${Date.now() - c.p.startedAt} ms after the spawn (4 processes starting at once on this machine)`);
    }

    // the scripts: the same refusal in one line naming the setting, exit code 1
    const scripts = [
      { what: 'pnpm leases, wrong password', p: run('scripts/leases.ts', redisEnv('aggregator', { REDIS_PASSWORD_FILE: files.wrong })), variable: 'REDIS_PASSWORD_FILE' },
      { what: 'pnpm read:vector, wrong CA', p: run('scripts/read-vector.ts', redisEnv('inference', { REDIS_TLS_CA_FILE: server.files.wrongCaFile })), variable: 'REDIS_TLS_CA_FILE' },
    ];
    procs.push(...scripts.map((s) => s.p));
    for (const s of scripts) {
      expect(await exitOf(s.p, 60_000), `${s.what}:\n${s.p.output()}`).toBe(1);
      expect(s.p.output()).toMatch(new RegExp(`redis \\((pnpm-leases|read-vector)\\): ${s.variable}: `));
      expectNoPassword(s.what, s.p.output());
    }
  });
});
