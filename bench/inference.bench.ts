/**
 * pnpm bench:inference — the prediction hot path and the API, against a
 * spawned redis-server fed fresh feature vectors (as the aggregator writes them):
 *  1. tick: claim + vector read (one round trip), checks, ONNX run, write
 *     (latest + stream + push), called back to back for distinct ticks;
 *  2. model: onnxruntime run alone, and how long it holds the event loop;
 *  3. schedule: a replica ticking every 100 ms, how late each prediction is issued;
 *  4. HTTP: autocannon on GET /v1/predictions/latest.
 * BENCH_REDIS=cluster runs 1 and 3 against a local Redis Cluster, `both` against a redis-server and a
 * cluster alternately (ticks in chunks of 500, the schedule in 5 s slices) and compares (redis-targets.ts);
 * 2 and 4 do not touch Redis (the latest prediction is served from memory), so they run once.
 * Last line: one JSON object.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, OnnxModel } from '@hotpath/model';
import { InferenceConfigSchema, InferenceServer, type Prediction } from 'inference';
import { Feeder, sleep } from '../apps/inference/test/harness.ts';
import { benchRedisKinds, compare, startBenchRedis, type BenchRedis, type RedisKind } from './redis-targets.ts';

const TICKS = Number(process.env['BENCH_TICKS'] ?? 5_000);
const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(3));
};

const kinds = benchRedisKinds();
const both = kinds.length > 1;
const targets = new Map<RedisKind, BenchRedis>();
for (const kind of kinds) targets.set(kind, await startBenchRedis(kind, 'everysec'));
const target = (kind: RedisKind): BenchRedis => targets.get(kind)!;
const feeders = kinds.map((kind) => new Feeder(target(kind).client, 'BTCUSDT', 100).start());
await sleep(200);
/** Each kind in turn, the order reversed every other time (drift weighs on both alike). */
const turns = (i: number): RedisKind[] => (i % 2 === 0 ? kinds : [...kinds].reverse());
const label = (kind: RedisKind): string => (both || kind === 'cluster' ? `${kind}: ` : '');

// 1. the tick hot path, driven directly (the scheduler is parked on an hour-long interval)
const servers = new Map<RedisKind, InferenceServer>();
for (const kind of kinds) {
  const server = new InferenceServer(InferenceConfigSchema.parse({ ...target(kind).fields, symbols: ['BTCUSDT'], intervalMs: 3_600_000, port: 0, host: '127.0.0.1', logLevel: 'silent' }));
  await server.start();
  servers.set(kind, server);
}
const times = new Map(kinds.map((kind) => [kind, { total: [] as number[], read: [] as number[], model: [] as number[] }]));
const base = Math.floor(Date.now() / 2_000) * 2_000 - TICKS * 2_000;
const CHUNK = both ? 500 : TICKS;
for (let from = 0, turn = 0; from < TICKS; from += CHUNK, turn++) {
  for (const kind of turns(turn)) {
    const t = times.get(kind)!;
    for (let i = from; i < Math.min(TICKS, from + CHUNK); i++) {
      const r = await servers.get(kind)!.service.tickSymbol('BTCUSDT', base + i * 2_000, false);
      if (r.outcome !== 'predicted') throw new Error(`${kind} tick ${i}: ${r.outcome}`);
      t.total.push(r.totalMs!);
      t.read.push(r.redisMs!);
      t.model.push(r.modelMs!);
    }
  }
}
for (const kind of kinds) {
  const last = JSON.parse((await target(kind).client.get('pred:{BTCUSDT}:latest'))!) as Prediction;
  if (last.fallback) throw new Error(`${kind}: bench ticks fell back: ${last.reason}`);
  const { total, read, model } = times.get(kind)!;
  console.log(
    `${label(kind)}tick (claim+read, checks, model, write) over ${TICKS} ticks: p50 ${pct(total, 0.5)} ms, p99 ${pct(total, 0.99)} ms; redis read p99 ${pct(read, 0.99)} ms; model step p99 ${pct(model, 0.99)} ms`,
  );
}

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

// 3. the schedule: a replica on a 100 ms grid for 10 s (with both: 5 s slices of each, alternately)
const late = new Map(kinds.map((kind) => [kind, [] as number[]]));
const SLICE_MS = both ? 5_000 : 10_000;
for (let turn = 0; turn < 10_000 / SLICE_MS; turn++) {
  for (const kind of turns(turn)) {
    const ticking = new InferenceServer(
      InferenceConfigSchema.parse({ ...target(kind).fields, symbols: ['BTCUSDT'], intervalMs: 100, port: 0, host: '127.0.0.1', logLevel: 'silent', replica: 'ticking' }),
    );
    await ticking.start();
    ticking.service.onPrediction((p) => {
      if (p.replica === 'ticking') late.get(kind)!.push(p.issuedAtMs - p.tickMs);
    });
    await sleep(SLICE_MS);
    await ticking.stop();
  }
}
for (const kind of kinds) {
  const l = late.get(kind)!;
  console.log(`${label(kind)}schedule: ${l.length} ticks at 100 ms, issued after the boundary p50 ${pct(l, 0.5)} ms, p99 ${pct(l, 0.99)} ms, max ${Math.max(...l)} ms`);
}

// 4. HTTP latest (from memory: the first Redis asked for serves it)
const port = servers.get(kinds[0]!)!.port;
const ac = await autocannon({ url: `http://127.0.0.1:${port}/v1/predictions/latest?symbol=BTCUSDT`, connections: 10, duration: 5 });
console.log(`GET /v1/predictions/latest: ${Math.round(ac.requests.average)} req/s, p50 ${ac.latency.p50} ms, p99 ${ac.latency.p99} ms, non-2xx ${ac.non2xx}, errors ${ac.errors}`);

for (const server of servers.values()) await server.stop();
for (const f of feeders) f.stop();
for (const t of targets.values()) await t.stop();
const redisFigures = (kind: RedisKind) => {
  const { total, read } = times.get(kind)!;
  return { tick_p50_ms: pct(total, 0.5), tick_p99_ms: pct(total, 0.99), redis_read_p99_ms: pct(read, 0.99) };
};
const modelFigures = { model_p99_ms: pct(runs, 0.99), model_step_p99_ms: pct(times.get(kinds[0]!)!.model, 0.99), model_sync_p99_ms: pct(blocked, 0.99) };
const httpFigures = { http_latest_rps: Math.round(ac.requests.average), http_latest_p99_ms: ac.latency.p99, http_non_2xx: ac.non2xx };
if (!both) {
  const kind = kinds[0]!;
  console.log(
    JSON.stringify({
      bench: 'inference',
      ...(kind === 'cluster' ? { redis: 'cluster' } : {}),
      ticks: TICKS,
      ...redisFigures(kind),
      ...modelFigures,
      schedule_late_p99_ms: pct(late.get(kind)!, 0.99),
      ...httpFigures,
    }),
  );
} else {
  // the figures Redis is on the path of, side by side
  const figures = (kind: RedisKind) => {
    const { read } = times.get(kind)!;
    const l = late.get(kind)!;
    return { ...redisFigures(kind), redis_read_p50_ms: pct(read, 0.5), schedule_late_p50_ms: pct(l, 0.5), schedule_late_p99_ms: pct(l, 0.99) };
  };
  console.log(JSON.stringify({ bench: 'inference', redis: 'both', ticks: TICKS, ...modelFigures, ...httpFigures, ...compare(kinds.map((kind) => ({ kind, figures: figures(kind) }))) }));
}
