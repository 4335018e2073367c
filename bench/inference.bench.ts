/**
 * pnpm bench:inference — the prediction hot path and the API, against a
 * spawned redis-server fed fresh feature vectors (as the aggregator writes them):
 *  1. tick: claim + vector read (one round trip), checks, ONNX run, write
 *     (latest + stream + push), called back to back for distinct ticks — every symbol's
 *     (BENCH_INFERENCE_SYMBOLS, default 1) at once, as the schedule does; paced on a grid of
 *     BENCH_INFERENCE_TICK_EVERY_MS when set (default 0: back to back). Per symbol: the read, the
 *     model step, the write's round trip, the whole tick; per tick: until the last symbol's write;
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
import { symbolsFor } from './scale/symbols.ts';
import { benchRedisKinds, compare, startBenchRedis, type BenchRedis, type RedisKind } from './redis-targets.ts';

const TICKS = Number(process.env['BENCH_TICKS'] ?? 5_000);
/** Symbols a tick covers (BTCUSDT, then X001USDT…, each fed its own vectors): 1 by default, the figures above. */
const SYMBOLS = symbolsFor(Number(process.env['BENCH_INFERENCE_SYMBOLS'] ?? 1));
/** A tick every this many ms (0, the default: back to back). */
const EVERY_MS = Number(process.env['BENCH_INFERENCE_TICK_EVERY_MS'] ?? 0);
const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(3));
};

const kinds = benchRedisKinds();
const both = kinds.length > 1;
const targets = new Map<RedisKind, BenchRedis>();
for (const kind of kinds) targets.set(kind, await startBenchRedis(kind, 'everysec'));
const target = (kind: RedisKind): BenchRedis => targets.get(kind)!;
const feeders = kinds.flatMap((kind) => SYMBOLS.map((symbol) => new Feeder(target(kind).client, symbol, 100).start()));
await sleep(200);
/** Each kind in turn, the order reversed every other time (drift weighs on both alike). */
const turns = (i: number): RedisKind[] => (i % 2 === 0 ? kinds : [...kinds].reverse());
const label = (kind: RedisKind): string => (both || kind === 'cluster' ? `${kind}: ` : '');

// 1. the tick hot path, driven directly (the scheduler is parked on an hour-long interval); a generous command
// timeout: on a busy machine a claim answered after production's 250 ms would end the run, not measure it
const servers = new Map<RedisKind, InferenceServer>();
for (const kind of kinds) {
  const server = new InferenceServer(
    InferenceConfigSchema.parse({ ...target(kind).fields, symbols: SYMBOLS, intervalMs: 3_600_000, port: 0, host: '127.0.0.1', logLevel: 'silent', redisTimeoutMs: 5_000 }),
  );
  await server.start();
  servers.set(kind, server);
}
// per symbol tick (as bench:scale counts them: every symbol's every tick), and per tick the makespan (until the last symbol's write came back)
const times = new Map(kinds.map((kind) => [kind, { total: [] as number[], read: [] as number[], model: [] as number[], write: [] as number[], makespan: [] as number[] }]));
const base = Math.floor(Date.now() / 2_000) * 2_000 - TICKS * 2_000;
const CHUNK = both ? 500 : TICKS;
for (let from = 0, turn = 0; from < TICKS; from += CHUNK, turn++) {
  for (const kind of turns(turn)) {
    const t = times.get(kind)!;
    const service = servers.get(kind)!.service;
    for (let i = from; i < Math.min(TICKS, from + CHUNK); i++) {
      // what the scheduler's tick does: every symbol's tick at once
      const t0 = performance.now();
      const rs = await Promise.all(SYMBOLS.map((symbol) => service.tickSymbol(symbol, base + i * 2_000, false)));
      t.makespan.push(performance.now() - t0);
      // what a tick leaves for after it (grading: a setImmediate, which queues the economics: another) is done before
      // the next tick starts, as with ticks 2 s apart — not spilled into the next tick's read and model run
      for (let k = 0; k < 3; k++) await new Promise(setImmediate);
      // paced: ticks start on a grid, so two checkouts of different speeds tick at the same rate (what else the
      // machine and the redis-server do per second then weighs on a tick alike)
      if (EVERY_MS > 0) await sleep(Math.max(0, t0 + EVERY_MS - performance.now()));
      for (const r of rs) {
        if (r.outcome !== 'predicted') throw new Error(`${kind} tick ${i}: ${r.outcome}`);
        t.total.push(r.totalMs!);
        t.read.push(r.redisMs!);
        t.model.push(r.modelMs!);
        // (a checkout from before the write was timed on its own has no writeMs)
        if (r.writeMs !== undefined) t.write.push(r.writeMs);
      }
    }
  }
}
for (const kind of kinds) {
  const last = JSON.parse((await target(kind).client.get('pred:{BTCUSDT}:latest'))!) as Prediction;
  if (last.fallback) throw new Error(`${kind}: bench ticks fell back: ${last.reason}`);
  const { total, read, model, write, makespan } = times.get(kind)!;
  console.log(
    `${label(kind)}tick (claim+read, checks, model, write) over ${TICKS} ticks of ${SYMBOLS.length} symbol(s): p50 ${pct(total, 0.5)} ms, p99 ${pct(total, 0.99)} ms; redis read p99 ${pct(read, 0.99)} ms; model step p99 ${pct(model, 0.99)} ms; write round trip p99 ${write.length > 0 ? pct(write, 0.99) : 'n/a'} ms; whole tick (last symbol written) p99 ${pct(makespan, 0.99)} ms`,
  );
}

// 2. the model alone; run() computes on the main thread (in a setImmediate), so its whole duration is event-loop time
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
  `model run: p50 ${pct(runs, 0.5)} ms, p99 ${pct(runs, 0.99)} ms; the part before run() returns p99 ${pct(blocked, 0.99)} ms: onnxruntime-node 1.30 runs the graph on the main thread in a setImmediate (so a run waits behind every setImmediate queued before it), the whole run is its event-loop time`,
);

// 3. the schedule: a replica on a 100 ms grid for 10 s (with both: 5 s slices of each, alternately)
const late = new Map(kinds.map((kind) => [kind, [] as number[]]));
const SLICE_MS = both ? 5_000 : 10_000;
for (let turn = 0; turn < 10_000 / SLICE_MS; turn++) {
  for (const kind of turns(turn)) {
    const ticking = new InferenceServer(InferenceConfigSchema.parse({ ...target(kind).fields, symbols: SYMBOLS, intervalMs: 100, port: 0, host: '127.0.0.1', logLevel: 'silent', replica: 'ticking' }));
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
const redisFigures = (kind: RedisKind): Record<string, number> => {
  const { total, read, write, makespan } = times.get(kind)!;
  const tickP99 = pct(total, 0.99);
  const readP99 = pct(read, 0.99);
  // a tick is two dependent round trips (claim + read, then the write of what the read gave): two reads is its floor
  return {
    tick_p50_ms: pct(total, 0.5),
    tick_p99_ms: tickP99,
    redis_read_p99_ms: readP99,
    ...(write.length > 0 ? { redis_write_p99_ms: pct(write, 0.99) } : {}),
    tick_makespan_p99_ms: pct(makespan, 0.99),
    tick_over_read_p99: Number((tickP99 / readP99).toFixed(2)),
    tick_over_two_reads_p99: Number((tickP99 / (2 * readP99)).toFixed(2)),
  };
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
      symbols: SYMBOLS.length,
      tick_every_ms: EVERY_MS,
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
  console.log(
    JSON.stringify({ bench: 'inference', redis: 'both', ticks: TICKS, symbols: SYMBOLS.length, ...modelFigures, ...httpFigures, ...compare(kinds.map((kind) => ({ kind, figures: figures(kind) }))) }),
  );
}
