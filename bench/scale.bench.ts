/**
 * pnpm bench:scale — how the pipeline's cost grows with the number of symbols. Per step (1, 10, 50, 200 symbols by
 * default), a fresh world: exchange-sim simulating every symbol as its own market at live speed (1x), a new Kinesis
 * stream on kinesalite, an empty redis-server, then the three services each in its own process, started as the
 * launcher starts them (`node --import tsx <entry>` with their env; bench/scale/service.ts): the ingestor (every symbol's 3 streams on one
 * combined connection — Binance allows 1024 streams on one, so up to 341 symbols need no second one), one
 * aggregator, and inference ticking every symbol every 2 s (bench/scale/inference.ts: bin/start.ts plus the
 * knob below and exact tick times over IPC).
 *
 * After every symbol has a prediction in Redis and a settle time, each process's /metrics is read at the start and
 * the end of a window of BENCH_SCALE_SECONDS (default 75 s). Per step:
 *  - cpu_ms_per_s_per_symbol.<service>: the process's CPU time (process_cpu_seconds_total, user + system, every
 *    thread) per wall second per symbol; rss_mb_per_symbol.<service> (process_resident_memory_bytes at the end);
 *  - event_to_redis_p99_ms: the aggregator's own batch handed over → vectors written (aggregator_event_to_redis_seconds);
 *  - tick_p99_ms / tick_redis_read_p99_ms: inference's whole tick and its claim + vector read, exact per symbol;
 *  - exchange_to_prediction_p99_ms: pipeline_stage_latency_seconds{stage="exchange_to_prediction"} (inference);
 *  - redis_floor_p99_ms: PING round trips to the same redis-server from another process during the window
 *    (aggregate-redis-ping.ts): what no code of ours can beat on this machine under this load;
 *  - the ratios issue 21 asks for: tick p99 / its own read p99, event→Redis p99 / floor.
 * Histogram p99s are interpolated inside their bucket (as Prometheus's histogram_quantile does).
 * A step where not every symbol has a prediction within 30 s + 200 ms a symbol is this machine's knee: reported as
 * `saturated` (why, and how far it got), and the larger steps are not run.
 *
 * Part 2, `inference_alone` (bench/scale/inference-alone.ts): inference by itself at every step, batched and unbatched in alternating order, on
 * vectors fed as the aggregator writes them (no ingest load: its own cost only) — CPU per symbol, tick p50/p99, its
 * Redis read p99, the floor, the largest model batch. Window BENCH_SCALE_INFERENCE_SECONDS (default 20 s).
 *
 * Part 3, `tick_driven` (bench/scale/tick-drive.ts): a tick of every symbol driven back to back, batched and
 * unbatched replicas alternately, BENCH_SCALE_DRIVEN_TICKS each (default 200): the makespan p50/p99 and the speedup.
 *
 * Knobs: BENCH_SCALE_STEPS (e.g. 1,10,50,200), BENCH_SCALE_SECONDS, BENCH_SCALE_INFERENCE_BATCH=0 (inference without
 * its tick batching: the "before"), BENCH_SCALE_COMPARE=1 (each step run twice, batched and not, in alternating
 * order), BENCH_QUICK=1 (steps 1,10, 12 s and 6 s windows: the smoke test's run), BENCH_SCALE_PARTS (default
 * pipeline,inference,ticks: which of the three parts run), BENCH_SCALE_SIM_SPEED (default 1: live rates). Last line: one JSON object.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { startBenchRedis } from './redis-targets.ts';
import { type InferenceAlone, inferenceAloneStep } from './scale/inference-alone.ts';
import { counterSum, histogramDelta, quantile, type Samples } from './scale/metrics.ts';
import {
  batchMax,
  exact,
  freePort,
  logDir,
  metricsOf,
  pingerFloor,
  procCpuSeconds,
  round,
  type Service,
  sleep,
  startPinger,
  startService,
  stopService,
  tickQuantiles,
  ticksOf,
  waitFor,
} from './scale/service.ts';
import { symbolsFor } from './scale/symbols.ts';
import { driveTicks, type TickDriven } from './scale/tick-drive.ts';

const QUICK = process.env['BENCH_QUICK'] === '1';
const STEPS = (process.env['BENCH_SCALE_STEPS'] ?? (QUICK ? '1,10' : '1,10,50,200')).split(',').map(Number);
const WINDOW_S = Number(process.env['BENCH_SCALE_SECONDS'] ?? (QUICK ? 12 : 60));
/** Inference alone on fed vectors (part 2): each step's window per mode. */
const INFERENCE_WINDOW_S = Number(process.env['BENCH_SCALE_INFERENCE_SECONDS'] ?? (QUICK ? 6 : 20));
/** Part 3: ticks driven back to back per replica and step. */
const DRIVEN_TICKS = Number(process.env['BENCH_SCALE_DRIVEN_TICKS'] ?? (QUICK ? 20 : 200));
const COMPARE = process.env['BENCH_SCALE_COMPARE'] === '1';
const BATCH_DEFAULT = process.env['BENCH_SCALE_INFERENCE_BATCH'] !== '0';
/** The simulated markets' pace (1 = live rates): 0.5 halves every symbol's event rate, which separates a per-symbol limit from the machine's event throughput. */
const SIM_SPEED = Number(process.env['BENCH_SCALE_SIM_SPEED'] ?? 1);
const PARTS = new Set((process.env['BENCH_SCALE_PARTS'] ?? 'pipeline,inference,ticks').split(','));
/** After every symbol has a prediction: the ingestor's snapshots, the aggregator's first vectors and the JIT settle. */
const SETTLE_MS = QUICK ? 3_000 : 10_000;
const INTERVAL_MS = 2_000;
for (const n of STEPS) if (!Number.isInteger(n) || n < 1 || n > 341) throw new Error(`BENCH_SCALE_STEPS: ${n} is not 1..341 (341 symbols = 1023 streams, one connection's limit)`);

export interface Saturated {
  symbols: number;
  inference_batch: boolean;
  /** Not every symbol predicted within the start deadline: this machine's knee (why, in words). */
  saturated: string;
  /**
   * Where the time went while waiting: each process's CPU as a fraction of one core over the wait (a process near 1.0
   * is the bottleneck: each is single-threaded JS), `kinesis-emulator` being this bench process (kinesalite runs in it),
   * and the aggregator's lag behind the stream at the end.
   */
  core_fraction?: Record<string, number>;
  aggregator_lag_s?: number;
}

export interface StepFigures {
  symbols: number;
  inference_batch: boolean;
  window_s: number;
  /** Predictions written per symbol in the window (every symbol has at least one: checked). */
  predictions_per_symbol_min: number;
  predictions_per_symbol_max: number;
  events_per_s: number;
  cpu_ms_per_s_per_symbol: Record<string, number>;
  rss_mb_per_symbol: Record<string, number>;
  rss_mb: Record<string, number>;
  event_to_redis_p99_ms: number;
  tick_p99_ms: number;
  tick_p50_ms: number;
  tick_redis_read_p99_ms: number;
  exchange_to_prediction_p99_ms: number;
  model_batch_max: number;
  redis_floor_p99_ms: number;
  tick_over_own_read_p99: number;
  event_to_redis_over_floor_p99: number;
}

async function step(n: number, batch: boolean, kinesisEndpoint: string, stepNo: number): Promise<StepFigures | Saturated> {
  const symbols = symbolsFor(n);
  const csv = symbols.join(',');
  const redis = await startBenchRedis('single', 'everysec');
  const stream = `scale-${stepNo}-${n}`;
  const kinesis = { KINESIS_ENDPOINT: kinesisEndpoint, KINESIS_STREAM: stream, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' };
  const ports = { sim: await freePort(), ingestor: await freePort(), aggregator: await freePort(), inference: await freePort() };
  const services: Service[] = [];
  let pinger: ChildProcess | undefined;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  try {
    await emulator.createStream(stream, 4);
    const sim = startService('exchange-sim', 'bench/scale/exchange-sim.ts', ports.sim, {
      SIM_HOST: '127.0.0.1',
      SIM_PORT: String(ports.sim),
      SIM_SYMBOLS: csv,
      SIM_API_KEYS: 'bench',
      SIM_SPEED: String(SIM_SPEED),
      SIM_SEED: '3',
    });
    services.push(sim);
    await waitFor('exchange-sim', 30_000, async () => (await fetch(`http://127.0.0.1:${ports.sim}/health`)).ok, services);
    const ingestor = startService('ingestor', 'apps/ingestor/bin/start.ts', ports.ingestor, {
      ...kinesis,
      INGESTOR_STREAM_URL: `ws://127.0.0.1:${ports.sim}`,
      INGESTOR_REST_URL: `http://127.0.0.1:${ports.sim}`,
      INGESTOR_API_KEY: 'bench',
      INGESTOR_SYMBOLS: csv,
      INGESTOR_PORT: String(ports.ingestor),
      // depth snapshots of 100 levels (REST weight 5, not 1000 levels' 50): under the default budget (2400 a minute)
      // 200 symbols' snapshots of 1000 would take over 4 minutes before the last symbol's book exists
      INGESTOR_SNAPSHOT_LIMIT: '100',
    });
    const aggregator = startService('aggregator', 'apps/aggregator/bin/start.ts', ports.aggregator, {
      ...kinesis,
      REDIS_URL: redis.fields.redisUrl,
      AGGREGATOR_SYMBOLS: csv,
      AGGREGATOR_POLL_MS: '100',
      AGGREGATOR_PORT: String(ports.aggregator),
    });
    const inference = startService(
      'inference',
      'bench/scale/inference.ts',
      ports.inference,
      {
        REDIS_URL: redis.fields.redisUrl,
        INFERENCE_SYMBOLS: csv,
        INFERENCE_PORT: String(ports.inference),
        INFERENCE_INTERVAL_MS: String(INTERVAL_MS),
        BENCH_SCALE_INFERENCE_BATCH: batch ? '1' : '0',
      },
      true,
    );
    services.push(ingestor, aggregator, inference);
    // every symbol predicted (not a fallback): the whole path runs for each. When that does not happen in time the
    // step is the knee on this machine: reported as saturated (with what the ingestor had not got through), not a figure
    const ready = waitFor(
      `a prediction for each of ${n} symbols`,
      (QUICK ? 60_000 : 30_000) + 200 * n,
      async () => {
        const latest = await redis.client.mget(symbols.map((s) => `pred:{${s}}:latest`));
        return latest.every((j) => j !== null && (JSON.parse(j) as { fallback: boolean }).fallback === false);
      },
      services,
    );
    const refused = await ready.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    if (refused !== undefined) {
      if (QUICK) throw refused;
      const wallS = (performance.now() - wall0) / 1000;
      const scraped = await Promise.all([sim, ingestor, aggregator, inference].map((s) => metricsOf(s).catch(() => [] as Samples)));
      const m = scraped[1]!;
      const latest = await redis.client.mget(symbols.map((s) => `pred:{${s}}:latest`));
      const predicted = latest.filter((j) => j !== null && (JSON.parse(j) as { fallback: boolean }).fallback === false).length;
      const reasons: Record<string, number> = {};
      for (const j of latest) {
        const p = j === null ? undefined : (JSON.parse(j) as { reason: string | null; featureStatus: string });
        const why = p === undefined ? 'no prediction' : `${p.reason ?? 'model'}/${p.featureStatus}`;
        reasons[why] = (reasons[why] ?? 0) + 1;
      }
      const own = process.cpuUsage(cpu0);
      const coreFraction: Record<string, number> = { 'kinesis-emulator': round((own.user + own.system) / 1e6 / wallS, 2) };
      for (const s of [sim, ingestor, aggregator, inference]) coreFraction[s.name] = round(procCpuSeconds(s.proc.pid) / wallS, 2);
      return {
        symbols: n,
        inference_batch: batch,
        saturated: `${refused.message.split('\n')[0]}: ${predicted} of ${n} symbols had a model prediction (latest prediction by reason/feature status: ${JSON.stringify(reasons)}); the ingestor had ${counterSum(m, 'ingestor_sbe_messages_total')} events in, its Kinesis buffer ${round(counterSum(m, 'ingestor_kinesis_buffered_bytes') / 2 ** 20, 1)} MB`,
        core_fraction: coreFraction,
        aggregator_lag_s: round(counterSum(scraped[2]!, 'aggregator_kinesis_lag_seconds'), 1),
      };
    }
    await sleep(SETTLE_MS);
    // (the simulator last: its CPU is the world's, reported beside ours, not per symbol of ours)
    const measured = [ingestor, aggregator, inference, sim];
    await ticksOf(inference); // forget the warm-up's
    pinger = startPinger(redis.btcPort);
    const before = await Promise.all(measured.map(metricsOf));
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const after = await Promise.all(measured.map(metricsOf));
    const wallS = (performance.now() - t0) / 1000;
    const tickTimes = await ticksOf(inference);
    const floor = await pingerFloor(pinger);
    const [ingB, aggB, infB] = before as [Samples, Samples, Samples, Samples];
    const [ingA, aggA, infA] = after as [Samples, Samples, Samples, Samples];
    const perSymbol = symbols.map((s) => counterSum(infA, 'inference_predictions_total', { symbol: s }) - counterSum(infB, 'inference_predictions_total', { symbol: s }));
    const missing = symbols.filter((_, i) => perSymbol[i]! < 1);
    if (missing.length > 0) throw new Error(`${n} symbols: no prediction in the window for ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? '…' : ''}`);
    const cpu: Record<string, number> = {};
    const rssPer: Record<string, number> = {};
    const rss: Record<string, number> = {};
    measured.forEach((s, i) => {
      const cpuS = counterSum(after[i]!, 'process_cpu_seconds_total') - counterSum(before[i]!, 'process_cpu_seconds_total');
      cpu[s.name] = round((cpuS * 1000) / wallS / n, 3);
      const mb = counterSum(after[i]!, 'process_resident_memory_bytes') / 2 ** 20;
      rss[s.name] = round(mb, 1);
      rssPer[s.name] = round(mb / n, 3);
    });
    const eventToRedis = quantile(histogramDelta(aggB, aggA, 'aggregator_event_to_redis_seconds'), 0.99) * 1000;
    const exchangeToPrediction = quantile(histogramDelta(infB, infA, 'pipeline_stage_latency_seconds', { stage: 'exchange_to_prediction' }), 0.99) * 1000;
    const batchSizes = histogramDelta(infB, infA, 'inference_model_batch_size');
    const events = counterSum(ingA, 'ingestor_sbe_messages_total') - counterSum(ingB, 'ingestor_sbe_messages_total');
    const { tickP99, readP99 } = tickQuantiles(tickTimes);
    return {
      symbols: n,
      inference_batch: batch,
      window_s: round(wallS, 1),
      predictions_per_symbol_min: Math.min(...perSymbol),
      predictions_per_symbol_max: Math.max(...perSymbol),
      events_per_s: Math.round(events / wallS),
      cpu_ms_per_s_per_symbol: cpu,
      rss_mb_per_symbol: rssPer,
      rss_mb: rss,
      event_to_redis_p99_ms: round(eventToRedis),
      tick_p99_ms: round(tickP99),
      tick_p50_ms: round(
        exact(
          tickTimes.map((t) => t[0]),
          0.5,
        ),
      ),
      tick_redis_read_p99_ms: round(readP99),
      exchange_to_prediction_p99_ms: round(exchangeToPrediction, 1),
      model_batch_max: batchMax(batchSizes),
      redis_floor_p99_ms: floor.p99,
      tick_over_own_read_p99: round(tickP99 / readP99, 2),
      event_to_redis_over_floor_p99: round(eventToRedis / floor.p99, 2),
    };
  } finally {
    pinger?.kill('SIGTERM');
    for (const s of [...services].reverse()) await stopService(s);
    await redis.stop();
  }
}

const emulator = new KinesisEmulator();
await emulator.start();
const started = new Date().toISOString();
const load0 = loadavg()[0]!;
const results: (StepFigures | Saturated)[] = [];
const inferenceAlone: InferenceAlone[] = [];
const tickDriven: TickDriven[] = [];
let saturatedAt: number | undefined;
try {
  let no = 0;
  for (const n of PARTS.has('pipeline') ? STEPS : []) {
    const modes = COMPARE ? (no % 2 === 0 ? [true, false] : [false, true]) : [BATCH_DEFAULT];
    for (const batch of modes) {
      // (past the knee every larger step saturates too: not waited for again)
      if (saturatedAt !== undefined) {
        results.push({ symbols: n, inference_batch: batch, saturated: `not run: ${saturatedAt} symbols already saturated` });
        continue;
      }
      const r = await step(n, batch, emulator.endpoint, no++);
      results.push(r);
      if ('saturated' in r) {
        saturatedAt = n;
        console.log(`${String(n).padStart(3)} symbols: saturated — ${r.saturated}; CPU (cores) over the wait ${JSON.stringify(r.core_fraction)}, aggregator lag ${r.aggregator_lag_s} s`);
        continue;
      }
      console.log(
        `${String(n).padStart(3)} symbols${COMPARE ? (batch ? ' batched' : ' unbatched') : ''}: cpu ms/s/symbol ingestor ${r.cpu_ms_per_s_per_symbol['ingestor']} aggregator ${r.cpu_ms_per_s_per_symbol['aggregator']} inference ${r.cpu_ms_per_s_per_symbol['inference']}; ` +
          `rss MB ${JSON.stringify(r.rss_mb)}; event→redis p99 ${r.event_to_redis_p99_ms} ms (${r.event_to_redis_over_floor_p99}x floor ${r.redis_floor_p99_ms}); ` +
          `tick p99 ${r.tick_p99_ms} ms (${r.tick_over_own_read_p99}x its read ${r.tick_redis_read_p99_ms}); exchange→prediction p99 ${r.exchange_to_prediction_p99_ms} ms; ${r.events_per_s} events/s`,
      );
    }
  }
  await emulator.stop();
  // part 2: inference alone, every step, batched and not (alternating order), on vectors fed as the aggregator writes them
  for (const n of PARTS.has('inference') ? STEPS : []) {
    for (const batch of n % 2 === 0 ? [true, false] : [false, true]) {
      const r = await inferenceAloneStep(n, batch, { intervalMs: INTERVAL_MS, windowS: INFERENCE_WINDOW_S });
      inferenceAlone.push(r);
      console.log(
        `inference alone, ${String(n).padStart(3)} symbols ${batch ? 'batched  ' : 'unbatched'}: cpu ${r.cpu_ms_per_s_per_symbol} ms/s/symbol; tick p50 ${r.tick_p50_ms} ms, p99 ${r.tick_p99_ms} ms (${r.tick_over_own_read_p99}x its read p99 ${r.tick_redis_read_p99_ms} ms); floor p99 ${r.redis_floor_p99_ms} ms; model batch ≤ ${r.model_batch_max}`,
      );
    }
  }
  // part 3: ticks driven back to back, batched against unbatched
  for (const n of PARTS.has('ticks') ? STEPS : []) {
    const r = await driveTicks(symbolsFor(n), DRIVEN_TICKS);
    tickDriven.push(r);
    console.log(
      `ticks driven, ${String(n).padStart(3)} symbols: makespan p50 ${r.batched_p50_ms} ms batched vs ${r.unbatched_p50_ms} ms unbatched (x${r.p50_speedup}), p99 ${r.batched_p99_ms} vs ${r.unbatched_p99_ms} ms (x${r.p99_speedup}) over ${r.ticks} ticks each`,
    );
  }
  // (kept when a step failed or saturated: its message names the directory)
  if (saturatedAt === undefined) rmSync(logDir, { recursive: true, force: true });
} finally {
  await emulator.stop().catch(() => undefined);
}
console.log(
  JSON.stringify({
    bench: 'scale',
    started,
    sim_speed: SIM_SPEED,
    load1: round(load0, 2),
    load1_end: round(loadavg()[0]!, 2),
    window_s: WINDOW_S,
    steps: results,
    inference_alone: inferenceAlone,
    tick_driven: tickDriven,
  }),
);
