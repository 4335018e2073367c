/**
 * pnpm bench:inference — the prediction hot path and the API, against a
 * spawned redis-server fed fresh feature vectors (as the aggregator writes them):
 *  1. tick: claim + vector read (one round trip), checks, ONNX run, write
 *     (latest + stream + push), called back to back for distinct ticks;
 *  2. model: onnxruntime run alone, and how long it holds the event loop;
 *  3. schedule: a replica ticking every 100 ms, how late each prediction is issued;
 *  4. HTTP: autocannon on GET /v1/predictions/latest.
 * Last line: one JSON object.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, OnnxModel } from '@hotpath/model';
import { RedisServer } from '@hotpath/state/testing';
import { InferenceConfigSchema, InferenceServer, type Prediction } from 'inference';
import { Feeder, sleep } from '../apps/inference/test/harness.ts';

const TICKS = Number(process.env['BENCH_TICKS'] ?? 5_000);
const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(3));
};

const redisServer = new RedisServer('everysec');
await redisServer.start();
const redis = new Redis(redisServer.port, '127.0.0.1');
const feeder = new Feeder(redis, 'BTCUSDT', 100).start();
await sleep(200);

// 1. the tick hot path, driven directly (the scheduler is parked on an hour-long interval)
const server = new InferenceServer(InferenceConfigSchema.parse({ redisUrl: redisServer.url, symbols: ['BTCUSDT'], intervalMs: 3_600_000, port: 0, host: '127.0.0.1', logLevel: 'silent' }));
await server.start();
const total: number[] = [];
const read: number[] = [];
const model: number[] = [];
const base = Math.floor(Date.now() / 2_000) * 2_000 - TICKS * 2_000;
for (let i = 0; i < TICKS; i++) {
  const r = await server.service.tickSymbol('BTCUSDT', base + i * 2_000, false);
  if (r.outcome !== 'predicted') throw new Error(`tick ${i}: ${r.outcome}`);
  total.push(r.totalMs!);
  read.push(r.redisMs!);
  model.push(r.modelMs!);
}
const last = JSON.parse((await redis.get('pred:{BTCUSDT}:latest'))!) as Prediction;
if (last.fallback) throw new Error(`bench ticks fell back: ${last.reason}`);
console.log(
  `tick (claim+read, checks, model, write) over ${TICKS} ticks: p50 ${pct(total, 0.5)} ms, p99 ${pct(total, 0.99)} ms; redis read p99 ${pct(read, 0.99)} ms; model step p99 ${pct(model, 0.99)} ms`,
);

// 2. the model alone; run() computes synchronously on the main thread, so its whole duration is event-loop time
const m = await OnnxModel.fromBytes(buildModel(exampleModelSpec()), { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES });
const x = Float64Array.from(FEATURE_NAMES, (_, i) => Math.sin(i));
const runs: number[] = [];
const blocked: number[] = [];
for (let i = 0; i < 10_000; i++) {
  const t0 = performance.now();
  const p = m.run(x);
  const t1 = performance.now();
  await p;
  runs.push(performance.now() - t0);
  blocked.push(t1 - t0);
}
await m.release();
console.log(
  `model run: p50 ${pct(runs, 0.5)} ms, p99 ${pct(runs, 0.99)} ms; the part before run() returns (event-loop time) p99 ${pct(blocked, 0.99)} ms: onnxruntime-node computes off the main thread`,
);

// 3. the schedule: a replica on a 100 ms grid for 10 s
const ticking = new InferenceServer(
  InferenceConfigSchema.parse({ redisUrl: redisServer.url, symbols: ['BTCUSDT'], intervalMs: 100, port: 0, host: '127.0.0.1', logLevel: 'silent', replica: 'ticking' }),
);
const late: number[] = [];
await ticking.start();
ticking.service.onPrediction((p) => {
  if (p.replica === 'ticking') late.push(p.issuedAtMs - p.tickMs);
});
await sleep(10_000);
await ticking.stop();
console.log(`schedule: ${late.length} ticks at 100 ms, issued after the boundary p50 ${pct(late, 0.5)} ms, p99 ${pct(late, 0.99)} ms, max ${Math.max(...late)} ms`);

// 4. HTTP latest
const port = server.port;
const ac = await autocannon({ url: `http://127.0.0.1:${port}/v1/predictions/latest?symbol=BTCUSDT`, connections: 10, duration: 5 });
console.log(`GET /v1/predictions/latest: ${Math.round(ac.requests.average)} req/s, p50 ${ac.latency.p50} ms, p99 ${ac.latency.p99} ms, non-2xx ${ac.non2xx}, errors ${ac.errors}`);

await server.stop();
feeder.stop();
redis.disconnect();
await redisServer.stop();
console.log(
  JSON.stringify({
    bench: 'inference',
    ticks: TICKS,
    tick_p50_ms: pct(total, 0.5),
    tick_p99_ms: pct(total, 0.99),
    redis_read_p99_ms: pct(read, 0.99),
    model_p99_ms: pct(runs, 0.99),
    model_step_p99_ms: pct(model, 0.99),
    model_sync_p99_ms: pct(blocked, 0.99),
    schedule_late_p99_ms: pct(late, 0.99),
    http_latest_rps: Math.round(ac.requests.average),
    http_latest_p99_ms: ac.latency.p99,
    http_non_2xx: ac.non2xx,
  }),
);
