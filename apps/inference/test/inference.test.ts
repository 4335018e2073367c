import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildModel, exampleModelSpec } from '@hotpath/model';
import { PredictionStore } from '@hotpath/state';
import type { Prediction } from '../src/index.ts';
import { expectContiguous, Feeder, replica, sleep, privateRedis, streamOf } from './harness.ts';

const db = privateRedis();
const redisServer = db.server;
beforeEach(async () => {
  await db.redis.flushall();
});

function listen(port: number, symbol = 'BTCUSDT'): { got: Prediction[]; close: () => void; open: Promise<void> } {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/predictions/stream?symbol=${symbol}`);
  const got: Prediction[] = [];
  ws.on('message', (m) => got.push(JSON.parse(m.toString()) as Prediction));
  return { got, close: () => ws.close(), open: new Promise((r) => ws.once('open', () => r())) };
}

const metric = async (port: number, name: string): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
};

describe('inference against a real Redis', () => {
  it('two replicas: one prediction per tick, none missing or repeated, every subscriber sees all, both grade', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a' });
    const b = replica(redisServer.url, { replica: 'b' });
    await Promise.all([a.start(), b.start()]);
    const sub = listen(b.port);
    await sub.open;
    await sleep(3_500);
    sub.close();
    const entries = await streamOf(db.redis, 'BTCUSDT');
    await Promise.all([a.stop(), b.stop()]);
    feeder.stop();

    expect(entries.length).toBeGreaterThanOrEqual(14);
    expect(expectContiguous(entries, 200)).toEqual([]);
    expect(entries.every((e) => !e.p.fallback && e.p.modelVersion?.startsWith('example-microprice@1'))).toBe(true);
    // the subscriber on b saw every tick written while it listened, a's as well as b's, each once
    const seen = sub.got.map((p) => p.tickMs);
    expect(new Set(seen).size).toBe(seen.length);
    const written = new Set(entries.map((e) => e.p.tickMs));
    expect(seen.every((t) => written.has(t))).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(entries.length - 2);
    // issued on time: the tick's own boundary, not queued behind another
    for (const e of entries) expect(e.p.issuedAtMs - e.p.tickMs).toBeLessThan(150);
    // 1 s horizon at 200 ms: grading has run on both replicas for the predictions of either
    for (const r of [a, b]) expect(r.service.accuracy('BTCUSDT').model.n).toBeGreaterThan(5);
  });

  it('a tick claimed by a replica that died before writing is made late by another, still exactly once', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a' });
    await a.start();
    const store = new PredictionStore(db.redis);
    const next = Math.ceil(Date.now() / 200) * 200 + 400;
    const ghosts = [next, next + 200, next + 600];
    // a claimer that took these ticks and died: its claims expire 60 ms after each tick
    for (const t of ghosts) expect((await store.claim('BTCUSDT', t, 'ghost', t - Date.now() + 60)).outcome).toBe(1);
    await sleep(2_000);
    const entries = await streamOf(db.redis, 'BTCUSDT');
    const backups = await metric(a.port, 'inference_ticks_total{symbol="BTCUSDT",outcome="predicted_backup"');
    await a.stop();
    feeder.stop();
    expect(expectContiguous(entries, 200)).toEqual([]);
    for (const t of ghosts) {
      const e = entries.find((x) => x.p.tickMs === t)!;
      expect(e.p.replica).toBe('a');
      expect(e.p.issuedAtMs - t).toBeGreaterThanOrEqual(60); // after the dead claim expired
    }
    expect(backups).toBe(3);
  });

  it('kill -9 of one of two replica processes: the survivor keeps every tick', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const bin = fileURLToPath(new URL('../bin/start.ts', import.meta.url));
    const env = { ...process.env, REDIS_URL: redisServer.url, INFERENCE_INTERVAL_MS: '500', INFERENCE_HORIZON_S: '2', INFERENCE_PORT: '0', LOG_LEVEL: 'silent' };
    const procs: ChildProcess[] = ['p1', 'p2'].map((name) => spawn(process.execPath, ['--import', 'tsx', bin], { env: { ...env, INFERENCE_REPLICA: name }, stdio: 'ignore' }));
    try {
      // both running: each has made predictions
      const deadline = Date.now() + 20_000;
      for (;;) {
        const who = new Set((await streamOf(db.redis, 'BTCUSDT')).map((e) => e.p.replica));
        if (who.has('p1') && who.has('p2')) break;
        if (Date.now() > deadline) throw new Error(`replicas did not both predict: ${[...who].join(',')}`);
        await sleep(250);
      }
      procs[0]!.kill('SIGKILL');
      const killedAt = Date.now();
      await sleep(3_000);
      const entries = await streamOf(db.redis, 'BTCUSDT');
      expect(expectContiguous(entries, 500)).toEqual([]);
      const after = entries.filter((e) => e.p.tickMs > killedAt + 500);
      expect(after.length).toBeGreaterThanOrEqual(4);
      expect(after.every((e) => e.p.replica === 'p2')).toBe(true);
    } finally {
      for (const p of procs) p.kill('SIGKILL');
      feeder.stop();
    }
  });

  it('Redis killed for 20 s: a flagged fallback every tick to subscribers, health unhealthy, then recovery by itself', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a' });
    await a.start();
    const sub = listen(a.port);
    await sub.open;
    await sleep(800);
    expect((await fetch(`http://127.0.0.1:${a.port}/health`)).status).toBe(200);
    await redisServer.kill();
    await sleep(1_500);
    const down = await fetch(`http://127.0.0.1:${a.port}/health`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'unhealthy', redis: 'disconnected', featurePipeline: { BTCUSDT: 'failed' } });
    const duringOutage = sub.got.filter((p) => p.reason === 'redis_unavailable');
    expect(duringOutage.length).toBeGreaterThanOrEqual(5);
    expect(duringOutage.every((p) => p.fallback && p.confidence === 0.5)).toBe(true);
    // every one counted (a tick may land between reading the list and scraping)
    const counted = await metric(a.port, 'inference_fallback_predictions_total{reason="redis_unavailable"');
    expect(counted - duringOutage.length).toBeGreaterThanOrEqual(0);
    expect(counted - duringOutage.length).toBeLessThanOrEqual(2);
    // the latest endpoint keeps answering from memory
    expect((await fetch(`http://127.0.0.1:${a.port}/v1/predictions/latest?symbol=BTCUSDT`)).status).toBe(200);
    const history = await fetch(`http://127.0.0.1:${a.port}/v1/predictions?symbol=BTCUSDT`);
    expect(history.status).toBe(503);
    expect(history.headers.get('content-type')).toContain('application/problem+json');
    // the 20 s outage: every tick keeps its flagged fallback all along (the last vector is < 30 s old)
    await sleep(18_500);
    const all = sub.got.filter((p) => p.reason === 'redis_unavailable');
    const span = (all.at(-1)!.tickMs - all[0]!.tickMs) / 200 + 1;
    expect(all.length).toBe(span);
    expect(span).toBeGreaterThanOrEqual(90);
    expect((await fetch(`http://127.0.0.1:${a.port}/health`)).status).toBe(503);

    await redisServer.start();
    const restartedAt = Date.now();
    // model predictions resume by themselves once the feeder's vectors are fresh again; until then the
    // vector Redis kept from before the outage is correctly refused as stale
    const deadline = Date.now() + 10_000;
    while ((await streamOf(db.redis, 'BTCUSDT').catch(() => [])).filter((e) => e.p.tickMs > restartedAt && !e.p.fallback).length < 3) {
      if (Date.now() > deadline) throw new Error('model predictions did not resume');
      await sleep(100);
    }
    const after = (await streamOf(db.redis, 'BTCUSDT')).filter((e) => e.p.tickMs > restartedAt);
    expect(after.filter((e) => e.p.fallback).every((e) => e.p.reason === 'stale_features')).toBe(true);
    expect(expectContiguous(after, 200)).toEqual([]);
    await sleep(300);
    expect((await fetch(`http://127.0.0.1:${a.port}/health`)).status).toBe(200);
    sub.close();
    await a.stop();
    feeder.stop();
  });

  it('upstream trouble gives flagged fallbacks with the reason, never a model output on bad input', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a' });
    await a.start();
    const reasons: Record<string, string | null> = {};
    for (const mode of ['reanchoring', 'stale', 'foreign_schema', 'holes', 'live'] as const) {
      feeder.mode = mode;
      // a prediction from a tick after the next vector in this mode was written
      const from = Date.now() + 100;
      const deadline = Date.now() + 5_000;
      while ((a.service.latestPrediction('BTCUSDT')?.tickMs ?? 0) <= from && Date.now() < deadline) await sleep(50);
      reasons[mode] = a.service.latestPrediction('BTCUSDT')!.reason;
    }
    const health = a.service.health();
    await a.stop();
    feeder.stop();
    expect(reasons).toEqual({ reanchoring: 'reanchoring', stale: 'stale_features', foreign_schema: 'schema_mismatch', holes: 'incomplete_features', live: null });
    expect(health.status).toBe('healthy');
  });

  it('API: validation, problems, history, accuracy', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a' });
    await a.start();
    const url = (p: string) => `http://127.0.0.1:${a.port}${p}`;
    expect((await fetch(url('/v1/predictions/latest?symbol=BTCUSDT'))).status).toBe(404); // nothing predicted yet
    await sleep(1_700);
    const latest = (await (await fetch(url('/v1/predictions/latest?symbol=btcusdt'))).json()) as Prediction;
    expect(latest.symbol).toBe('BTCUSDT');
    for (const [path, status] of [['/v1/predictions/latest', 400], ['/v1/predictions/latest?symbol=ETHUSDT', 404], ['/v1/predictions/latest?symbol=BTC-USDT', 400], ['/v1/predictions?symbol=BTCUSDT&since=yesterday', 400], ['/v1/predictions?symbol=BTCUSDT&limit=0', 400], ['/v1/accuracy?symbol=DOGEUSDT', 404], ['/nope', 404]] as const) {
      const r = await fetch(url(path));
      expect([path, r.status]).toEqual([path, status]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(await r.json()).toMatchObject({ status, title: expect.any(String) });
    }
    const all = (await (await fetch(url(`/v1/predictions?symbol=BTCUSDT&since=0&limit=1000`))).json()) as { predictions: Prediction[] };
    expect(all.predictions.length).toBeGreaterThanOrEqual(6);
    const from = all.predictions[2]!.tickMs;
    const some = (await (await fetch(url(`/v1/predictions?symbol=BTCUSDT&since=${new Date(from).toISOString()}&limit=2`))).json()) as { predictions: Prediction[] };
    expect(some.predictions.map((p) => p.tickMs)).toEqual([from, from + 200]);
    const acc = (await (await fetch(url('/v1/accuracy'))).json()) as { symbols: Record<string, { model: { n: number } }> };
    expect(acc.symbols['BTCUSDT']!.model.n).toBeGreaterThan(0);
    expect((await fetch(url('/ready'))).status).toBe(200);
    expect((await fetch(url('/admin/model'), { method: 'POST' })).status).toBe(403); // no token configured
    await a.stop();
    feeder.stop();
  });

  it('model swap: verified here, followed by the other replica through the pointer, no tick lost; a bad model is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'models-'));
    const spec = exampleModelSpec();
    const good = join(dir, 'v2.onnx');
    writeFileSync(good, buildModel({ ...spec, metadata: { ...spec.metadata, name: 'swapped', version: '2' } }));
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, buildModel({ ...spec, metadata: { ...spec.metadata, featureSchemaHash: '0123456789abcdef' } }));
    const token = 'a-long-enough-admin-token';
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a', adminToken: token, modelDir: dir });
    const b = replica(redisServer.url, { replica: 'b', modelPollMs: 100, modelDir: dir });
    await Promise.all([a.start(), b.start()]);
    const admin = (body: unknown, auth = `Bearer ${token}`) => fetch(`http://127.0.0.1:${a.port}/admin/model`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await sleep(600);
    expect((await admin({ path: good }, 'Bearer wrong-token-of-some-length')).status).toBe(401);
    const refused = await admin({ path: bad });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/^schema_mismatch/);
    expect(a.service.models.state().version).toMatch(/^example-microprice@1/);
    const ok = await admin({ path: good });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { version: string }).version).toMatch(/^swapped@2\+/);
    await sleep(800);
    expect(b.service.models.state().version).toMatch(/^swapped@2\+/);
    // a pointer to a bad model is refused by the follower, which keeps serving
    await db.redis.set('model:current', JSON.stringify({ path: bad }));
    await sleep(500);
    expect(b.service.models.state()).toMatchObject({ version: expect.stringMatching(/^swapped@2\+/), status: 'degraded', lastError: expect.stringMatching(/^schema_mismatch/) });
    await sleep(400);
    const entries = await streamOf(db.redis, 'BTCUSDT');
    await Promise.all([a.stop(), b.stop()]);
    feeder.stop();
    expect(expectContiguous(entries, 200)).toEqual([]);
    expect(entries.every((e) => !e.p.fallback)).toBe(true);
    expect(entries.some((e) => e.p.modelVersion!.startsWith('swapped@2'))).toBe(true);
    expect(entries.filter((e) => e.p.modelVersion!.startsWith('swapped@2')).every((e, i, xs) => i === 0 || e.p.tickMs > xs[i - 1]!.p.tickMs)).toBe(true);
  });

  it('a swapped-in model that keeps failing is rolled back to the one it replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'models-'));
    const spec = exampleModelSpec();
    const next = join(dir, 'v3.onnx');
    writeFileSync(next, buildModel({ ...spec, metadata: { ...spec.metadata, name: 'next', version: '3' } }));
    const a = replica(redisServer.url, { replica: 'a', rollbackAfterFailures: 3, modelDir: dir });
    await a.start();
    const models = a.service.models;
    const first = models.state().version!;
    await models.tryLoad({ kind: 'file', path: next });
    expect(models.state().version).toMatch(/^next@3\+/);
    models.reportRun(false);
    models.reportRun(false);
    expect(models.state()).toMatchObject({ version: expect.stringMatching(/^next@3\+/), status: 'degraded' });
    models.reportRun(false);
    expect(models.state()).toMatchObject({ version: first, lastError: expect.stringMatching(/rolled back from next@3/) });
    expect(await metric(a.port, 'inference_model_rollbacks_total')).toBe(1);
    expect(await metric(a.port, `inference_model_info{version="${first}"`)).toBe(1);
    await a.stop();
  });
});
