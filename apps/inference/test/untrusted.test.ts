/**
 * Inference under hostile or broken surroundings (issue 14: findings 5, 6, 8, 9 and the low ones):
 * garbage in Redis, model paths that are not model files, a Redis that accepts no writes or does
 * not answer, slow and excess clients. Real redis-server per file; no mocks.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { buildModel, exampleModelSpec } from '@hotpath/model';
import { freePort, RedisServer } from '@hotpath/state/testing';
import type { InferenceServer, Prediction } from '../src/index.ts';
import { Feeder, metric, privateRedis, replica, streamOf } from './harness.ts';

const db = privateRedis();
const redisServer = db.server;
const running: InferenceServer[] = [];
beforeEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  await db.redis.flushall();
});

async function started(over: Parameters<typeof replica>[1] = {}, url = redisServer.url): Promise<InferenceServer> {
  const r = replica(url, { replica: 'a', ...over });
  running.push(r);
  await r.start();
  return r;
}

/** How long a condition may take to come true: generous, so a busy machine only makes a test slower. */
const WAIT = { timeout: 60_000, interval: 50 };

/** Waits until `probe` gives a value (not undefined or false; a throw counts as not yet) and returns it. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  return vi.waitFor(async () => {
    const v = await probe();
    if (v === undefined || v === false) throw new Error(`still waiting for ${what}`);
    return v;
  }, WAIT);
}

/** /health with a generous client deadline: the answer must come, whatever Redis does. */
async function health(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5_000) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('bad data in Redis (finding 5)', () => {
  it('pushed garbage, bad history entries and a bad vector are refused and counted; ticks, subscribers and the API carry on', async () => {
    await db.redis.set('pred:{BTCUSDT}:latest', '{"symbol":"BTCUSDT"'); // read at connect: refused, counted
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    try {
      const a = await started();
      const ws = new WebSocket(`ws://127.0.0.1:${a.port}/v1/predictions/stream?symbol=BTCUSDT`);
      const got: string[] = [];
      ws.on('message', (m) => got.push(m.toString()));
      await new Promise((r) => ws.once('open', r));
      const first = await until('a first prediction', async () => (await streamOf(db.redis, 'BTCUSDT'))[0]);

      const valid = JSON.stringify(first.p);
      const garbage = [
        'null',
        '{"symbol":"BTCUSDT","tickMs":1}', // missing fields
        'not json at all',
        '[1,2,3]',
        JSON.stringify({ ...first.p, tickMs: first.p.tickMs + 1e9, mid: 'a lot' }),
        JSON.stringify({ ...first.p, tickMs: first.p.tickMs + 1e9, reason: '<img src=x onerror=alert(1)>' }),
        JSON.stringify({ ...first.p, symbol: 'ETHUSDT', tickMs: first.p.tickMs + 1e9 }), // another symbol's prediction on this channel
        JSON.stringify({ ...first.p, tickMs: first.p.tickMs + 1e9, replica: 'x'.repeat(20_000) }), // oversized
        JSON.stringify({ ...first.p, tickMs: first.p.tickMs + 1e9 }), // well-formed, from the future: would pin latest and health
      ];
      const refusedPushes = () => metric(a.port, 'inference_redis_refused_total{source="push"');
      const pushesBefore = await refusedPushes();
      for (const g of garbage) await db.redis.publish('pred:{BTCUSDT}', g);
      await until('every push refused', async () => (await refusedPushes()) - pushesBefore >= garbage.length);
      expect((await refusedPushes()) - pushesBefore).toBe(garbage.length); // each once
      // a history entry that is not a prediction, between good ones (id: the last tick's, sequence 1, so ticks go on after it)
      await until('a bad history entry added', async () => {
        const [last] = await db.redis.xrevrange('pred:{BTCUSDT}:stream', '+', '-', 'COUNT', 1);
        return db.redis.xadd('pred:{BTCUSDT}:stream', `${last![0].split('-')[0]}-1`, 'p', '{"broken":');
      });
      const written = async (): Promise<number[]> => (await db.redis.xrange('pred:{BTCUSDT}:stream', '-', '+')).filter(([id]) => id.endsWith('-0')).map(([id]) => Number(id.split('-')[0]));
      // a feature vector that is not one
      feeder.stop();
      await db.redis.set('feat:{BTCUSDT}', Buffer.from('HPFV and then nonsense'));
      await until('the bad vector refused', async () => (await metric(a.port, 'inference_redis_refused_total{source="vector"')) >= 1);
      feeder.start();

      // still predicting, after all of it
      const after = Date.now();
      await until('predictions after the garbage', async () => (await written()).filter((t) => t > after).length >= 2);
      const refusedHistory = () => metric(a.port, 'inference_redis_refused_total{source="history"');
      const historyBefore = await refusedHistory();
      const history = await fetch(`http://127.0.0.1:${a.port}/v1/predictions?symbol=BTCUSDT&since=0&limit=1000`);
      expect(history.status).toBe(200);
      const listed = ((await history.json()) as { predictions: Prediction[] }).predictions;
      expect(listed.length).toBeGreaterThanOrEqual(3);
      expect((await refusedHistory()) - historyBefore).toBe(1); // the one bad entry, left out of this answer
      expect(await metric(a.port, 'inference_redis_refused_total{source="latest"')).toBe(1);
      const latest = (await (await fetch(`http://127.0.0.1:${a.port}/v1/predictions/latest?symbol=BTCUSDT`)).json()) as Prediction;
      expect(latest.tickMs).toBeLessThan(first.p.tickMs + 1e8); // none of the pushed fakes became "latest"
      ws.close();
      feeder.stop();
      // subscribers got only real predictions
      expect(got.length).toBeGreaterThanOrEqual(2);
      for (const m of got) expect(() => JSON.parse(m) as Prediction).not.toThrow();
      expect(got.some((m) => m.includes('onerror') || m.includes('a lot') || m === 'null')).toBe(false);
      expect(valid).toContain('"symbol":"BTCUSDT"');
    } finally {
      feeder.stop();
    }
  });

  it('a non-JSON latest prediction at start is refused and counted, not a crash loop (the real process)', async () => {
    await db.redis.set('pred:{BTCUSDT}:latest', 'this is not JSON');
    await db.redis.set('model:current', '{"path": 12}');
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const bin = fileURLToPath(new URL('../bin/start.ts', import.meta.url));
    const env = { ...process.env, REDIS_URL: redisServer.url, INFERENCE_INTERVAL_MS: '200', INFERENCE_PORT: '0', INFERENCE_REPLICA: 'proc', LOG_LEVEL: 'silent' };
    const proc = spawn(process.execPath, ['--import', 'tsx', bin], { env, stdio: 'ignore' });
    let exit: number | null | undefined;
    proc.once('exit', (code) => (exit = code));
    try {
      // it predicts (the bad latest was read at its first connect), and is still running afterwards
      await until('the process predicting', async () => exit !== undefined || (await streamOf(db.redis, 'BTCUSDT')).filter((e) => e.p.replica === 'proc').length >= 3);
      expect(exit).toBeUndefined();
      expect(proc.exitCode).toBeNull();
    } finally {
      proc.kill('SIGKILL');
      feeder.stop();
    }
  });
});

describe('model paths are untrusted (findings 6 and 9)', () => {
  it('only regular files inside INFERENCE_MODEL_DIR, refusals with codes and no path; a FIFO neither hangs the request nor stop()', async () => {
    const root = mkdtempSync(join(tmpdir(), 'models-untrusted-'));
    const dir = join(root, 'models');
    mkdirSync(dir);
    const spec = exampleModelSpec();
    writeFileSync(join(dir, 'good.onnx'), buildModel({ ...spec, metadata: { ...spec.metadata, name: 'good', version: '5' } }));
    writeFileSync(join(root, 'outside.onnx'), buildModel(spec));
    symlinkSync('/dev/zero', join(dir, 'zero.onnx'));
    const fifo = join(dir, 'fifo.onnx');
    execFileSync('mkfifo', [fifo]);
    const token = 'a-long-enough-admin-token';
    const a = await started({ adminToken: token, modelDir: dir });
    const b = await started({ replica: 'b', modelDir: dir, modelPollMs: 100 });
    const admin = (path: string) =>
      fetch(`http://127.0.0.1:${a.port}/admin/model`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ path }),
        signal: AbortSignal.timeout(30_000),
      });
    const refusedOutside = () => metric(a.port, 'inference_model_loads_total{outcome="outside_model_dir"');
    try {
      const outsideBefore = await refusedOutside();
      for (const [path, code] of [
        ['/dev/zero', 'outside_model_dir'],
        ['zero.onnx', 'outside_model_dir'], // a symlink out of the directory
        [join(root, 'outside.onnx'), 'outside_model_dir'],
        ['../outside.onnx', 'outside_model_dir'],
        ['missing.onnx', 'not_found'],
        ['fifo.onnx', 'not_a_file'], // the old code blocked here for ever (and stop() behind it)
      ] as const) {
        const r = await admin(path);
        const body = (await r.json()) as { detail: string };
        expect([path, r.status, body.detail.split(':')[0]]).toEqual([path, 422, code]);
        expect(body.detail).not.toContain(root);
      }
      expect((await refusedOutside()) - outsideBefore).toBe(4);
      // the pointer in Redis is held to the same rules by every replica
      await db.redis.set('model:current', JSON.stringify({ path: '/etc/passwd' }));
      await until('b refusing the pointer', async () => b.service.models.state().lastError?.startsWith('outside_model_dir'));
      const ok = await admin('good.onnx');
      expect(ok.status).toBe(200);
      await until('b following the good pointer', async () => b.service.models.state().version?.startsWith('good@5'));
      // what /health and /v1/status show names no absolute path
      for (const path of ['/health', '/v1/status']) {
        const text = await (await fetch(`http://127.0.0.1:${b.port}${path}`)).text();
        expect(text).not.toContain(root);
        expect(text).toContain('good.onnx');
      }
      // stop() finishes with the server having handled the FIFO: every part stopped by itself, none abandoned at the
      // stop deadline (the old code never returned from the load, and stop() waited behind it)
      const reports = await Promise.all(running.splice(0).map((r) => r.stop()));
      expect(reports.flatMap((r) => r.failed.map((f) => f.name))).toEqual([]);
    } finally {
      // a reader the old code left blocked in open() is released
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // no reader: nothing blocked
      }
    }
  });

  it('stop() aborts a model load in flight and returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'models-stop-'));
    writeFileSync(join(dir, 'm.onnx'), buildModel(exampleModelSpec()));
    const a = replica(redisServer.url, { modelDir: dir });
    await a.start();
    const load = a.service.models.tryLoad({ kind: 'file', path: 'm.onnx' }).then(
      () => 'loaded',
      (err: { code?: string }) => err.code,
    );
    await a.stop();
    expect(a.service.models.model).toBeUndefined(); // everything released
    expect(['loaded', 'aborted']).toContain(await load);
    // and nothing new starts once stopping
    await expect(a.service.models.tryLoad({ kind: 'file', path: 'm.onnx' })).rejects.toMatchObject({ code: 'aborted' });
  });
});

describe('health says whether predictions are written (finding 8)', () => {
  it('503 while Redis refuses writes (READONLY, then OOM), 200 again after; a SIGSTOPped Redis gets an answer, not a hang', async () => {
    const own = new RedisServer('everysec');
    await own.start();
    const ctl = new Redis(own.port, '127.0.0.1', { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
    ctl.on('error', () => undefined);
    const feeder = new Feeder(ctl, 'BTCUSDT').start();
    const pid = Number(/process_id:(\d+)/.exec(await ctl.info('server'))![1]);
    const a = await started({}, own.url);
    const healthy = async () => ((await health(a.port)).status === 200 ? true : undefined);
    try {
      await until('healthy with predictions flowing', healthy);
      for (const [name, breakIt, mendIt] of [
        ['READONLY', () => ctl.replicaof('127.0.0.1', 1), () => ctl.replicaof('NO', 'ONE')],
        [
          'OOM',
          async () => {
            await ctl.config('SET', 'maxmemory-policy', 'noeviction');
            return ctl.config('SET', 'maxmemory', '1');
          },
          () => ctl.config('SET', 'maxmemory', '0'),
        ],
      ] as const) {
        await breakIt();
        const brokenAt = Date.now();
        const down = await until(`503 under ${name}`, async () => {
          const h = await health(a.port);
          return h.status === 503 ? h : undefined;
        });
        expect(down.body).toMatchObject({ status: 'unhealthy', redis: expect.stringMatching(/connected|degraded/), predictions: { BTCUSDT: { status: 'stalled' } } });
        // it is right: nothing was written meanwhile
        expect((await streamOf(ctl, 'BTCUSDT')).filter((e) => e.p.tickMs > brokenAt + 200)).toEqual([]);
        await mendIt();
        await until(`healthy again after ${name}`, healthy);
      }
      process.kill(pid, 'SIGSTOP');
      try {
        const h = await until('an unhealthy answer from a stopped Redis', async () => {
          const r = await health(a.port);
          return r.status !== 200 ? r : undefined;
        });
        expect(h.status).toBe(503);
        expect(h.body).toMatchObject({ predictions: { BTCUSDT: { status: 'stalled' } } });
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await until('healthy after SIGCONT', healthy);
    } finally {
      feeder.stop();
      await Promise.all(running.splice(0).map((r) => r.stop()));
      ctl.disconnect();
      await own.stop();
    }
  });

  it('no features, no predictions: unhealthy after the grace, not "degraded"', async () => {
    const a = await started();
    const h = await until('503 without predictions', async () => {
      const r = await health(a.port);
      return r.status === 503 ? r : undefined;
    });
    expect(h.body).toMatchObject({ status: 'unhealthy', predictions: { BTCUSDT: { status: 'stalled', lastWrittenTickMs: null } } });
  });
});

describe('HTTP edges (low findings)', () => {
  it('since out of range is 400; admin auth before the body; body cap; subscriber cap; peers show only their status', async () => {
    const peer = createServer((_req, res) =>
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'unhealthy', error: 'AccessDeniedException: arn:aws:iam::123:role/x /var/secret/path' })),
    );
    const peerPort = await freePort();
    await new Promise<void>((r) => peer.listen(peerPort, '127.0.0.1', r));
    const token = 'a-long-enough-admin-token';
    const a = await started({ adminToken: token, wsMaxClients: 1, statusPeers: { aggregator: `http://127.0.0.1:${peerPort}/health` } });
    const url = (p: string) => `http://127.0.0.1:${a.port}${p}`;
    try {
      for (const since of ['99999999999999999999', '-1', '300000-01-01T00:00:00Z', '9'.repeat(100)]) {
        const r = await fetch(url(`/v1/predictions?symbol=BTCUSDT&since=${encodeURIComponent(since)}`));
        expect([since, r.status, r.headers.get('content-type')]).toEqual([since, 400, expect.stringContaining('application/problem+json')]);
      }
      // unauthenticated: refused before the (malformed) body is parsed
      const bad = await fetch(url('/admin/model'), { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{"path": ' });
      expect(bad.status).toBe(401);
      const big = await fetch(url('/admin/model'), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ path: 'x'.repeat(10_000) }),
      });
      expect(big.status).toBe(413);
      // one subscriber allowed: the second is refused before the upgrade
      const first = new WebSocket(url('/v1/predictions/stream').replace('http', 'ws'));
      await new Promise((r, j) => {
        first.once('open', r);
        first.once('error', j);
      });
      const second = new WebSocket(url('/v1/predictions/stream').replace('http', 'ws'));
      const refusedWith = await new Promise<number>((r) => second.once('unexpected-response', (_req, res) => r(res.statusCode!)));
      expect(refusedWith).toBe(503);
      expect(await metric(a.port, 'inference_ws_refused_total{reason="too_many"')).toBe(1);
      first.close();
      await until('the slot freed', async () => (await metric(a.port, 'inference_ws_clients')) === 0);
      const third = new WebSocket(url('/v1/predictions/stream').replace('http', 'ws'));
      await new Promise((r, j) => {
        third.once('open', r);
        third.once('error', j);
      });
      third.close();
      const status = (await (await fetch(url('/v1/status'))).json()) as { services: Record<string, unknown> };
      expect(status.services).toEqual({ aggregator: { status: 'unhealthy' } });
      const notFound = await fetch(url('/nope'));
      expect([notFound.status, notFound.headers.get('content-type'), notFound.headers.get('x-content-type-options')]).toEqual([404, expect.stringContaining('application/problem+json'), 'nosniff']);
    } finally {
      peer.close();
    }
  });
});
