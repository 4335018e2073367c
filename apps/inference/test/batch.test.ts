/**
 * A tick of several symbols: their claims and writes go out pipelined and their model runs as one batched
 * onnxruntime call (inference_model_batch_size), yet each symbol keeps its own tick — one prediction per tick per
 * symbol, on its own vector, its own fallbacks and counters. The unbatched path (deps.batch false: a round trip and a
 * run per symbol, bench:scale's "before") writes the same. Conditions are waited for, never counted in a window.
 */
import { describe, expect, it, vi } from 'vitest';
import { keys } from '@hotpath/state';
import { InferenceServer, type Prediction } from '../src/index.ts';
import { Feeder, metric, missingTicks, privateRedis, replicaConfig, streamOf } from './harness.ts';

const db = privateRedis();
const WAIT = { timeout: 60_000, interval: 50 };
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'DOGEUSDT', 'SOLUSDT', 'XRPUSDT'];

function server(batch: boolean, replica: string): InferenceServer {
  // (deps in a variable: InferenceServer hands them to InferenceService, which takes `batch`)
  const deps = { tracingEnv: {}, batch };
  return new InferenceServer(replicaConfig(db.server.url, { symbols: SYMBOLS, replica }), deps);
}

describe('a tick of many symbols', () => {
  for (const batch of [true, false]) {
    it(`${batch ? 'batched' : 'unbatched'}: one model prediction per tick per symbol, each on its own vector`, async () => {
      await db.redis.flushall();
      const feeders = SYMBOLS.map((s) => new Feeder(db.redis, s).start());
      const r = server(batch, batch ? 'batched' : 'unbatched');
      await r.start();
      try {
        await vi.waitFor(async () => {
          for (const s of SYMBOLS) expect((await streamOf(db.redis, s)).filter((e) => !e.p.fallback).length).toBeGreaterThanOrEqual(5);
        }, WAIT);
        if (batch) {
          // the runs of a tick went as one call: a batch of every symbol observed (waited for: a reply split across
          // two reads would give two smaller batches, still each row its own)
          await vi.waitFor(async () => expect(await metric(r.port, 'inference_model_batch_size_sum')).toBeGreaterThan(await metric(r.port, 'inference_model_batch_size_bucket{le="2"')), WAIT);
        } else {
          expect(await metric(r.port, 'inference_model_batch_size_count')).toBe(0);
        }
        // one symbol's vector gone: only that symbol misses (no_features), the others still predict
        feeders[1]!.stop();
        await db.redis.del(keys.vector('ETHUSDT'));
        const missedBefore = await metric(r.port, 'inference_ticks_missed_total{symbol="ETHUSDT",reason="no_features"');
        await vi.waitFor(async () => expect(await metric(r.port, 'inference_ticks_missed_total{symbol="ETHUSDT",reason="no_features"')).toBeGreaterThan(missedBefore + 2), WAIT);
        const btcBefore = (await streamOf(db.redis, 'BTCUSDT')).length;
        await vi.waitFor(async () => expect((await streamOf(db.redis, 'BTCUSDT')).length).toBeGreaterThan(btcBefore + 2), WAIT);
        expect(await metric(r.port, 'inference_ticks_missed_total{symbol="BTCUSDT"')).toBe(0);
      } finally {
        await r.stop();
        for (const f of feeders) f.stop();
      }
      for (const s of SYMBOLS) {
        const entries = await streamOf(db.redis, s);
        missingTicks(entries, 200); // throws on a tick written twice or off the grid
        for (const { p } of entries) {
          expect(p.symbol).toBe(s);
          expect(p.fallback).toBe(false);
          expect((p as Prediction).modelVersion).not.toBeNull();
        }
      }
    });
  }
});
