/**
 * What the launcher lets out, and what it leaves behind (the real launcher, real children):
 * - each child sees only its allowlisted environment: the Binance key reaches the ingestor
 *   alone, AWS credentials only the services that talk to Kinesis, the inference admin token
 *   only inference, anything else of the user's shell none of them (read from
 *   /proc/<pid>/environ, what the child was started with);
 * - a REDIS_URL's password never appears in anything the launcher prints;
 * - kill -9 of the launcher while data flows leaves no process behind, the ingestor included
 *   (its flush to the launcher's in-process Kinesis can never finish);
 * - --monitoring without Prometheus and Alertmanager on PATH says how to install them and starts the rest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '@hotpath/service';
import { findBinary, INSTALL_HINT } from '../src/monitoring.ts';
import { resolveRedis, type RedisHandle } from '../src/redis.ts';
import { alive } from './support/alive.ts';
import { until } from './support/until.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
/** One run of `pnpm start`: its output kept whole, the pids it announces. */
class LauncherRun {
  readonly output: string[] = [];
  readonly proc: ChildProcess;

  constructor(env: Record<string, string | undefined>, args: readonly string[] = []) {
    // its state file and logs in a directory of its own: never over those of a stack the operator runs from this checkout
    env = { ...env, HOTPATH_STATE_ROOT: mkdtempSync(join(tmpdir(), 'launcher-isolation-')) };
    this.proc = spawn(process.execPath, ['--import', 'tsx', 'apps/launcher/bin/start.ts', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) createInterface({ input: stream }).on('line', (l) => this.output.push(l));
  }

  notes(): string[] {
    return this.output.flatMap((l) => {
      try {
        const o = JSON.parse(l) as { svc?: string; msg?: string };
        return o.svc === 'launcher' && o.msg !== undefined ? [o.msg] : [];
      } catch {
        return [];
      }
    });
  }

  /** Every pid the launcher announced: each start of each child, and its redis-server. */
  pids(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (const msg of this.notes()) {
      const s = /^(\S+) started \(pid (\d+)\)$/.exec(msg);
      const r = /\(spawned, pid (\d+)\)$/.exec(msg);
      if (s) m.set(s[1]!, [...(m.get(s[1]!) ?? []), Number(s[2])]);
      if (r) m.set('redis-server', [Number(r[1])]);
    }
    return m;
  }

  latestPid(name: string): number | undefined {
    return this.pids().get(name)?.at(-1);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGINT');
    await exited;
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    for (const pids of this.pids().values()) for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

/** The environment a process was started with. */
function environOf(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

async function ports(): Promise<Record<string, string>> {
  const names = ['SIM_PORT', 'INGESTOR_PORT', 'AGGREGATOR_PORT', 'INFERENCE_PORT', 'KINESIS_EMULATOR_PORT'];
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, String(await freePort())])));
}

const runs: LauncherRun[] = [];
afterAll(() => {
  for (const run of runs) run.kill();
});

describe('launcher: secrets stay where they belong', () => {
  // distinctive values: found anywhere in an environment or the output, they leaked
  const binanceKey = 'binance-key-5f0c2e71a9';
  const redisPassword = 'redis-pw-8d1b4c7e3f';
  const awsSecret = 'aws-secret-0a9e6b2d4c';
  const adminToken = 'admin-token-7c3f9a1e5b';
  const unrelated = 'shell-token-2e8d6f0b4a';
  const collectorToken = 'otlp-token-4b7e1d9c2a';
  let redis: RedisHandle;
  let redisUrl = '';

  beforeAll(async () => {
    // a real redis-server that wants a password
    redis = await resolveRedis(undefined);
    const admin = new Redis(redis.url);
    await admin.config('SET', 'requirepass', redisPassword);
    admin.disconnect();
    redisUrl = redis.url.replace('redis://', `redis://:${redisPassword}@`);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('each child gets only its own variables, and no URL credential is ever printed', async () => {
    const nowhere = `127.0.0.1:${await freePort()}`; // "Binance": nothing listens, the ingestor keeps retrying
    const run = new LauncherRun({
      ...process.env,
      ...(await ports()),
      LAUNCHER_LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      REDIS_URL: redisUrl,
      BINANCE_API_KEY: binanceKey,
      BINANCE_STREAM_URL: `ws://${nowhere}`,
      BINANCE_REST_URL: `http://${nowhere}`,
      AWS_ACCESS_KEY_ID: 'AKIDLAUNCHERTEST',
      AWS_SECRET_ACCESS_KEY: awsSecret,
      INFERENCE_ADMIN_TOKEN: adminToken,
      HOTPATH_TEST_SHELL_TOKEN: unrelated,
      // tracing to a collector that is not there (the services count the spans they drop)
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${nowhere}`,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${collectorToken}`,
      OTEL_SERVICE_NAME: 'one-name-for-all',
    });
    runs.push(run);
    const environ = async (name: string) =>
      // the latest start: a child that died at once is restarted under another pid
      until(`${name}'s environment`, 60_000, () => {
        const pid = run.latestPid(name);
        return pid === undefined ? undefined : environOf(pid);
      });
    const envs = { ingestor: await environ('ingestor'), aggregator: await environ('aggregator'), inference: await environ('inference') };
    const holders = (secret: string) =>
      Object.entries(envs)
        .filter(([, env]) => [...env.values()].some((v) => v.includes(secret)))
        .map(([name]) => name);

    expect(holders(binanceKey)).toEqual(['ingestor']);
    expect(envs.ingestor.get('INGESTOR_API_KEY')).toBe(binanceKey);
    expect(holders(awsSecret)).toEqual(['ingestor', 'aggregator']);
    expect(holders(adminToken)).toEqual(['inference']);
    expect(holders(unrelated)).toEqual([]);
    expect(holders(redisPassword)).toEqual(['aggregator', 'inference']);
    // the traced services get the OTEL_* variables (the collector's token included), each keeping its own name
    expect(holders(collectorToken)).toEqual(['ingestor', 'aggregator', 'inference']);
    for (const env of Object.values(envs)) {
      expect(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')).toBe(`http://${nowhere}`);
      expect(env.has('OTEL_SERVICE_NAME')).toBe(false);
    }
    for (const env of Object.values(envs)) for (const name of ['BINANCE_API_KEY', 'HOTPATH_TEST_SHELL_TOKEN']) expect(env.has(name)).toBe(false);
    expect(envs.ingestor.has('REDIS_URL')).toBe(false);
    expect(envs.aggregator.get('REDIS_URL')).toBe(redisUrl);
    expect(envs.inference.get('REDIS_URL')).toBe(redisUrl);
    // what any process needs still arrives
    for (const env of Object.values(envs)) expect(env.get('PATH')).toBe(process.env['PATH']);

    // the children run a while with the password-protected Redis (their logs go through the launcher too)
    await until('a status line', 30_000, () => (run.notes().some((m) => m.startsWith('status: ')) ? true : undefined));
    await run.stop();
    const printed = run.output.join('\n');
    expect(run.notes()).toContain('stopped');
    // the launcher did say which Redis it used, without the password
    expect(run.notes()).toContain(`redis ${redis.url.replace('redis://', 'redis://***@')}`);
    for (const secret of [redisPassword, binanceKey, awsSecret, adminToken, collectorToken]) expect(printed).not.toContain(secret);
  }, 120_000);
});

describe('launcher: kill -9', () => {
  it('leaves no process behind, the ingestor included', async () => {
    const env: Record<string, string | undefined> = { ...process.env, ...(await ports()), LAUNCHER_LOG_FORMAT: 'json', LOG_LEVEL: 'warn' };
    delete env['REDIS_URL'];
    const run = new LauncherRun(env);
    runs.push(run);
    // data flows all the way: the ingestor has records on their way to Kinesis when it dies
    await until('the first prediction', 90_000, () => (run.notes().some((m) => /^first prediction [\d.]+ s after start/.test(m)) ? true : undefined));
    expect([...run.pids().keys()].sort()).toEqual(['aggregator', 'exchange-sim', 'inference', 'ingestor', 'redis-server']);
    const survivors = () => [...run.pids()].filter(([, pids]) => pids.some(alive)).map(([name]) => name);
    run.proc.kill('SIGKILL');
    // each child notices its launcher gone and gets 5 s to stop gracefully before it is killed
    await vi.waitFor(() => expect(survivors()).toEqual([]), { timeout: 60_000, interval: 100 });
  }, 150_000);
});

describe('launcher: --monitoring without Prometheus and Alertmanager on PATH', () => {
  it('says how to install them, and starts and stops the rest as usual', async () => {
    // a PATH with what the stack needs (redis-server, and sh and sleep for its guard) and nothing else
    const bin = mkdtempSync(join(tmpdir(), 'launcher-path-'));
    for (const name of ['redis-server', 'sh', 'sleep']) symlinkSync(findBinary([name])!, join(bin, name));
    const env: Record<string, string | undefined> = { ...process.env, ...(await ports()), LAUNCHER_LOG_FORMAT: 'json', LOG_LEVEL: 'warn', PATH: bin };
    delete env['REDIS_URL'];
    const run = new LauncherRun(env, ['--monitoring']);
    runs.push(run);
    const warning = await until('the warning', 60_000, () => run.notes().find((m) => m.startsWith('--monitoring: ')));
    expect(warning).toBe(`--monitoring: prometheus and alertmanager not on PATH, going on without monitoring. To install: ${INSTALL_HINT}`);
    await until('the stack up', 120_000, () => run.notes().find((m) => m.startsWith('up: ')));
    expect([...run.pids().keys()].sort()).toEqual(['aggregator', 'exchange-sim', 'inference', 'ingestor', 'redis-server']);
    expect(run.notes().some((m) => m.startsWith('prometheus '))).toBe(false);
    await run.stop();
    expect(run.proc.exitCode).toBe(0);
  }, 150_000);
});
