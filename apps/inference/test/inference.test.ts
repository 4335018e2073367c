/**
 * The inference service against a real Redis. Time is never the test's measure: each test waits for
 * a condition (predictions written, a state reached) and then checks what was written. A tick may be
 * missing from a stream only when every replica counted it skipped (a stalled process skips a
 * boundary by design, counted); the scheduler's timing itself is tested on a manual clock in
 * units.test.ts, and latency limits live in `pnpm bench:inference`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { buildModel, exampleModelSpec } from '@hotpath/model';
import { ClaimOutcome, keys, PredictionStore } from '@hotpath/state';
import { freePort } from '@hotpath/state/testing';
import type { Health, InferenceServer, Prediction } from '../src/index.ts';
import { Feeder, metric, missingTicks, modelFailingOnFeederVectors, privateRedis, replica, streamOf } from './harness.ts';

const db = privateRedis();
const redisServer = db.server;
beforeEach(async () => {
  await db.redis.flushall();
});

/** How long a condition may take to come true: generous, so a busy machine only makes a test slower. */
const WAIT = { timeout: 60_000, interval: 50 };

function listen(port: number, symbol = 'BTCUSDT'): { got: Prediction[]; close: () => void; open: Promise<void> } {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/predictions/stream?symbol=${symbol}`);
  const got: Prediction[] = [];
  ws.on('message', (m) => got.push(JSON.parse(m.toString()) as Prediction));
  return { got, close: () => ws.close(), open: new Promise((r) => ws.once('open', () => r())) };
}

async function health(port: number): Promise<{ status: number; body: Health }> {
  const r = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: r.status, body: (await r.json()) as Health };
}

const skippedTicks = (port: number) => metric(port, 'inference_ticks_skipped_total');

/** Waits until the stream holds an entry matching `which`. */
async function written(which: (e: { p: Prediction }) => boolean): Promise<void> {
  await vi.waitFor(async () => expect((await streamOf(db.redis, 'BTCUSDT')).some(which)).toBe(true), WAIT);
}

/**
 * Stops `r`'s writes without stopping `r`: the vectors go, and once a tick has found none every
 * earlier tick has finished (ticks never overlap), so its counters stand still beside the stream.
 */
async function quiesce(r: InferenceServer, feeder: Feeder): Promise<void> {
  const noFeatures = () => metric(r.port, 'inference_ticks_missed_total{symbol="BTCUSDT",reason="no_features"');
  const before = await noFeatures();
  feeder.stop();
  await db.redis.del(keys.vector('BTCUSDT'));
  await vi.waitFor(async () => expect(await noFeatures()).toBeGreaterThan(before), WAIT);
}

describe('inference against a real Redis', () => {
  it('two replicas: one prediction per tick, none missing or repeated, every subscriber sees all, both grade', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a' });
    const b = replica(redisServer.url, { replica: 'b' });
    await Promise.all([a.start(), b.start()]);
    const sub = listen(b.port);
    await sub.open;
    // 1 s horizon at 200 ms: each replica grades the predictions of either, five ticks after they were made
    await vi.waitFor(() => {
      expect(sub.got.length).toBeGreaterThanOrEqual(15);
      for (const r of [a, b]) expect(r.service.accuracy('BTCUSDT').model.n).toBeGreaterThan(5);
    }, WAIT);
    sub.close();
    const entries = await streamOf(db.redis, 'BTCUSDT');
    const skipped = await Promise.all([a, b].map((r) => skippedTicks(r.port)));
    await Promise.all([a.stop(), b.stop()]);
    feeder.stop();

    // every entry on its own aligned tick, once; a tick is missing only if both replicas skipped it
    expect(missingTicks(entries, 200).length).toBeLessThanOrEqual(Math.min(...skipped));
    expect(entries.every((e) => !e.p.fallback && e.p.modelVersion?.startsWith('example-microprice@1'))).toBe(true);
    expect(entries.every((e) => e.p.issuedAtMs >= e.p.tickMs)).toBe(true); // never before its boundary
    // the subscriber on b saw every tick written while it listened, a's as well as b's, each once
    const seen = sub.got.map((p) => p.tickMs);
    expect(new Set(seen).size).toBe(seen.length);
    const [first, last] = [Math.min(...seen), Math.max(...seen)];
    expect(seen.sort((x, y) => x - y)).toEqual(entries.map((e) => e.p.tickMs).filter((t) => t >= first && t <= last));
  });

  it('a tick claimed by a replica that died before writing is made late by another, still exactly once', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    // the dead claims below expire 500 ms after their tick: after this replica's on-time claim found them
    // taken (unless it started over 500 ms late), before its backup pass (tick + claimTtl + 50 ms)
    const a = replica(redisServer.url, { replica: 'a', intervalMs: 1_000, claimTtlMs: 600 });
    await a.start();
    const store = new PredictionStore(db.redis);
    const next = Math.ceil(Date.now() / 1_000) * 1_000 + 1_000;
    const ghosts = [next, next + 1_000, next + 3_000];
    for (const t of ghosts) expect((await store.claim('BTCUSDT', t, 'ghost', t - Date.now() + 500)).outcome).toBe(ClaimOutcome.Claimed);
    await written((e) => e.p.tickMs > ghosts.at(-1)!);
    const entries = await streamOf(db.redis, 'BTCUSDT');
    const backups = await metric(a.port, 'inference_ticks_total{symbol="BTCUSDT",outcome="predicted_backup"');
    const skipped = await skippedTicks(a.port);
    await a.stop();
    feeder.stop();
    expect(missingTicks(entries, 1_000).length).toBeLessThanOrEqual(skipped);
    for (const t of ghosts) {
      const e = entries.find((x) => x.p.tickMs === t);
      expect(e?.p.replica).toBe('a');
      expect(e!.p.issuedAtMs).toBeGreaterThanOrEqual(t + 500); // after the dead claim expired
    }
    expect(backups).toBe(3);
  });

  it('kill -9 of one of two replica processes: the survivor keeps every tick', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const bin = fileURLToPath(new URL('../bin/start.ts', import.meta.url));
    const env = { ...process.env, REDIS_URL: redisServer.url, INFERENCE_INTERVAL_MS: '500', INFERENCE_HORIZON_S: '2', LOG_LEVEL: 'silent' };
    const survivorPort = await freePort();
    const procs: ChildProcess[] = [
      ['p1', 0],
      ['p2', survivorPort],
    ].map(([name, port]) => spawn(process.execPath, ['--import', 'tsx', bin], { env: { ...env, INFERENCE_REPLICA: String(name), INFERENCE_PORT: String(port) }, stdio: 'ignore' }));
    try {
      // both running: each has made predictions
      await vi.waitFor(async () => expect(new Set((await streamOf(db.redis, 'BTCUSDT')).map((e) => e.p.replica))).toEqual(new Set(['p1', 'p2'])), WAIT);
      procs[0]!.kill('SIGKILL');
      // ticks from a boundary after the kill (with a margin for the signal's delivery) can only be the survivor's
      const fromMs = Date.now() + 500;
      await vi.waitFor(async () => expect((await streamOf(db.redis, 'BTCUSDT')).filter((e) => e.p.tickMs > fromMs).length).toBeGreaterThanOrEqual(4), WAIT);
      const entries = await streamOf(db.redis, 'BTCUSDT');
      // a tick is missing only if the survivor skipped it (the dead one's claim at the kill is made by its backup pass)
      expect(missingTicks(entries, 500).length).toBeLessThanOrEqual(await skippedTicks(survivorPort));
      expect(entries.filter((e) => e.p.tickMs > fromMs).every((e) => e.p.replica === 'p2')).toBe(true);
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
    await vi.waitFor(() => expect(sub.got.some((p) => !p.fallback)).toBe(true), WAIT);
    expect((await health(a.port)).status).toBe(200);
    const fallbacksBefore = await metric(a.port, 'inference_fallback_predictions_total{reason="redis_unavailable"');
    const skippedBefore = await skippedTicks(a.port);

    await redisServer.kill();
    await vi.waitFor(async () => {
      const down = await health(a.port);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: 'unhealthy', redis: 'disconnected', featurePipeline: { BTCUSDT: 'failed' } });
    }, WAIT);
    // the latest endpoint keeps answering from memory; history, which needs Redis, is a problem
    expect((await fetch(`http://127.0.0.1:${a.port}/v1/predictions/latest?symbol=BTCUSDT`)).status).toBe(200);
    const history = await fetch(`http://127.0.0.1:${a.port}/v1/predictions?symbol=BTCUSDT`);
    expect(history.status).toBe(503);
    expect(history.headers.get('content-type')).toContain('application/problem+json');
    // the 20 s outage: every tick keeps its flagged fallback all along (the last vector is < 30 s old)
    const outageFallbacks = () => sub.got.filter((p) => p.reason === 'redis_unavailable');
    await vi.waitFor(() => {
      const all = outageFallbacks();
      expect(all.at(-1)!.tickMs - all[0]!.tickMs).toBeGreaterThanOrEqual(20_000);
    }, WAIT);
    const all = outageFallbacks();
    const skippedInOutage = (await skippedTicks(a.port)) - skippedBefore;
    expect(all.every((p) => p.fallback && p.confidence === 0.5 && p.tickMs % 200 === 0)).toBe(true);
    const ticks = new Set(all.map((p) => p.tickMs));
    expect(ticks.size).toBe(all.length);
    const span = (Math.max(...ticks) - Math.min(...ticks)) / 200 + 1;
    expect(span - ticks.size).toBeLessThanOrEqual(skippedInOutage); // a tick without its fallback only when skipped
    expect((await health(a.port)).status).toBe(503);

    await redisServer.start();
    const restartedAt = Date.now();
    const skippedAtRestart = await skippedTicks(a.port);
    // model predictions resume by themselves once the feeder's vectors are fresh again; until then the
    // vector Redis kept from before the outage is correctly refused as stale
    await vi.waitFor(async () => expect((await streamOf(db.redis, 'BTCUSDT')).filter((e) => e.p.tickMs > restartedAt && !e.p.fallback).length).toBeGreaterThanOrEqual(3), WAIT);
    const after = (await streamOf(db.redis, 'BTCUSDT')).filter((e) => e.p.tickMs > restartedAt);
    expect(after.filter((e) => e.p.fallback).every((e) => e.p.reason === 'stale_features')).toBe(true);
    expect(missingTicks(after, 200).length).toBeLessThanOrEqual((await skippedTicks(a.port)) - skippedAtRestart);
    await vi.waitFor(async () => expect((await health(a.port)).status).toBe(200), WAIT);
    // every fallback of the outage was counted once, and each reached the subscriber (no more come: Redis is back)
    const counted = (await metric(a.port, 'inference_fallback_predictions_total{reason="redis_unavailable"')) - fallbacksBefore;
    await vi.waitFor(() => expect(outageFallbacks().length).toBe(counted), WAIT);
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
      // a prediction made from a vector written in this mode
      const lastBefore = feeder.lastVersion;
      await vi.waitFor(() => expect(a.service.latestPrediction('BTCUSDT')?.featureVersion).toBeGreaterThan(lastBefore), WAIT);
      reasons[mode] = a.service.latestPrediction('BTCUSDT')!.reason;
    }
    const h = a.service.health();
    await a.stop();
    feeder.stop();
    expect(reasons).toEqual({ reanchoring: 'reanchoring', stale: 'stale_features', foreign_schema: 'schema_mismatch', holes: 'incomplete_features', live: null });
    expect(h.status).toBe('healthy');
  });

  it('API: validation, problems, history, accuracy', async () => {
    const a = replica(redisServer.url, { replica: 'a' });
    await a.start();
    const url = (p: string) => `http://127.0.0.1:${a.port}${p}`;
    expect((await fetch(url('/v1/predictions/latest?symbol=BTCUSDT'))).status).toBe(404); // no features yet: nothing predicted
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    // 1 s horizon: graded once six ticks have been predicted
    await vi.waitFor(async () => {
      const acc = (await (await fetch(url('/v1/accuracy'))).json()) as { symbols: Record<string, { model: { n: number } }> };
      expect(acc.symbols['BTCUSDT']!.model.n).toBeGreaterThan(0);
    }, WAIT);
    const latest = (await (await fetch(url('/v1/predictions/latest?symbol=btcusdt'))).json()) as Prediction;
    expect(latest.symbol).toBe('BTCUSDT');
    for (const [path, status] of [
      ['/v1/predictions/latest', 400],
      ['/v1/predictions/latest?symbol=ETHUSDT', 404],
      ['/v1/predictions/latest?symbol=BTC-USDT', 400],
      ['/v1/predictions?symbol=BTCUSDT&since=yesterday', 400],
      ['/v1/predictions?symbol=BTCUSDT&limit=0', 400],
      ['/v1/accuracy?symbol=DOGEUSDT', 404],
      ['/nope', 404],
    ] as const) {
      const r = await fetch(url(path));
      expect([path, r.status]).toEqual([path, status]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(await r.json()).toMatchObject({ status, title: expect.any(String) });
    }
    const all = (await (await fetch(url(`/v1/predictions?symbol=BTCUSDT&since=0&limit=1000`))).json()) as { predictions: Prediction[] };
    expect(all.predictions.length).toBeGreaterThanOrEqual(6);
    const [, , third, fourth] = all.predictions;
    const some = (await (await fetch(url(`/v1/predictions?symbol=BTCUSDT&since=${new Date(third!.tickMs).toISOString()}&limit=2`))).json()) as { predictions: Prediction[] };
    expect(some.predictions.map((p) => p.tickMs)).toEqual([third!.tickMs, fourth!.tickMs]);
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
    const admin = (body: unknown, auth = `Bearer ${token}`) =>
      fetch(`http://127.0.0.1:${a.port}/admin/model`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await written(() => true);
    expect((await admin({ path: good }, 'Bearer wrong-token-of-some-length')).status).toBe(401);
    const refused = await admin({ path: bad });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/^schema_mismatch/);
    expect(a.service.models.state().version).toMatch(/^example-microprice@1/);
    const ok = await admin({ path: good });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { version: string }).version).toMatch(/^swapped@2\+/);
    await vi.waitFor(() => expect(b.service.models.state().version).toMatch(/^swapped@2\+/), WAIT);
    // from here both replicas serve the swapped model: every tick after this moment is its
    const bothSwappedAt = Date.now();
    // a pointer to a bad model is refused by the follower, which keeps serving
    await db.redis.set('model:current', JSON.stringify({ path: bad }));
    await vi.waitFor(
      () => expect(b.service.models.state()).toMatchObject({ version: expect.stringMatching(/^swapped@2\+/), status: 'degraded', lastError: expect.stringMatching(/^schema_mismatch/) }),
      WAIT,
    );
    await vi.waitFor(async () => expect((await streamOf(db.redis, 'BTCUSDT')).filter((e) => e.p.tickMs > bothSwappedAt).length).toBeGreaterThanOrEqual(3), WAIT);
    const entries = await streamOf(db.redis, 'BTCUSDT');
    const skipped = await Promise.all([a, b].map((r) => skippedTicks(r.port)));
    await Promise.all([a.stop(), b.stop()]);
    feeder.stop();
    expect(missingTicks(entries, 200).length).toBeLessThanOrEqual(Math.min(...skipped));
    expect(entries.every((e) => !e.p.fallback)).toBe(true);
    expect(entries[0]!.p.modelVersion).toMatch(/^example-microprice@1/);
    expect(entries.filter((e) => e.p.tickMs > bothSwappedAt).every((e) => e.p.modelVersion!.startsWith('swapped@2'))).toBe(true);
  });

  it('a model that fails at run time: each tick a flagged fallback saying model_error, each counted, /health degraded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'models-'));
    writeFileSync(join(dir, 'failing.onnx'), modelFailingOnFeederVectors('failing'));
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a', modelDir: dir, modelPath: 'failing.onnx' });
    await a.start();
    expect(a.service.models.state().version).toMatch(/^failing@1\+/); // it passed every check at load
    await vi.waitFor(async () => expect((await streamOf(db.redis, 'BTCUSDT')).length).toBeGreaterThanOrEqual(3), WAIT);
    const h = await health(a.port);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({
      status: 'degraded',
      model: { version: expect.stringMatching(/^failing@1\+/), status: 'degraded' },
      featurePipeline: { BTCUSDT: 'active' },
      predictions: { BTCUSDT: { status: 'flowing' } },
    });
    await quiesce(a, feeder);
    const entries = await streamOf(db.redis, 'BTCUSDT');
    const counted = await metric(a.port, 'inference_fallback_predictions_total{reason="model_error"');
    await a.stop();
    for (const e of entries)
      expect(e.p).toMatchObject({ fallback: true, reason: 'model_error', modelVersion: null, pUp: 0.5, confidence: 0.5, predictedReturnBps: e.p.baseline.returnBps, replica: 'a' });
    expect(counted).toBe(entries.length);
  });

  it('a swapped-in model that fails at run time is rolled back to the one it replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'models-'));
    writeFileSync(join(dir, 'failing.onnx'), modelFailingOnFeederVectors('failing'));
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(redisServer.url, { replica: 'a', rollbackAfterFailures: 3, modelDir: dir });
    await a.start();
    const models = a.service.models;
    const first = models.state().version!;
    await written((e) => e.p.modelVersion === first);
    const modelErrors = () => metric(a.port, 'inference_fallback_predictions_total{reason="model_error"');
    const rollbacks = () => metric(a.port, 'inference_model_rollbacks_total');
    const before = { modelErrors: await modelErrors(), rollbacks: await rollbacks() };
    expect(await models.tryLoad({ kind: 'file', path: 'failing.onnx' })).toMatch(/^failing@1\+/);
    await vi.waitFor(() => expect(models.state()).toMatchObject({ version: first, lastError: expect.stringMatching(/^rolled back from failing@1\+\w+: 3 failed runs/) }), WAIT);
    // a tick after the last failed run is the first model's again
    await vi.waitFor(async () => {
      const entries = await streamOf(db.redis, 'BTCUSDT');
      const lastFailed = entries.findLast((e) => e.p.reason === 'model_error');
      expect(entries.some((e) => e.p.tickMs > lastFailed!.p.tickMs && e.p.modelVersion === first)).toBe(true);
    }, WAIT);
    const h = await health(a.port);
    const after = { modelErrors: await modelErrors(), rollbacks: await rollbacks() };
    const serving = await metric(a.port, `inference_model_info{version="${first}"`);
    const entries = await streamOf(db.redis, 'BTCUSDT');
    await a.stop();
    feeder.stop();

    // three failed runs, three flagged fallbacks in a row, then the first model again
    const failed = entries.filter((e) => e.p.reason === 'model_error');
    expect(failed).toHaveLength(3);
    const at = entries.indexOf(failed[0]!);
    expect(entries.slice(at, at + 3)).toEqual(failed);
    expect(failed.every((e) => e.p.fallback && e.p.modelVersion === null && e.p.confidence === 0.5)).toBe(true);
    expect(entries.filter((e) => e.p.reason !== 'model_error').every((e) => !e.p.fallback && e.p.modelVersion === first)).toBe(true);
    expect(entries.length).toBeGreaterThan(at + 3);
    expect([after.modelErrors - before.modelErrors, after.rollbacks - before.rollbacks]).toEqual([3, 1]);
    expect(serving).toBe(1);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'degraded', model: { version: first, status: 'degraded', lastError: expect.stringMatching(/^rolled back from failing@1/) } });
  });
});
