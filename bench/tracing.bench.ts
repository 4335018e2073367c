/**
 * pnpm bench:tracing — what tracing costs the hot paths (issue 20, docs/tracing.md):
 * the ingestor's per-frame path and inference's tick, each measured with
 * tracing off, at 1 %, at 100 %, at 100 % with the collector unreachable
 * (a closed port), and off again (an A/A pair: the noise floor of this machine
 * now — a ratio closer to 1 than off/off-again's is not a measured change).
 *
 * The configurations run in interleaved rounds, each round's order the reverse
 * of the last (drift weighs on all alike); figures are medians over rounds and
 * compared only as ratios to `off` measured in this run (these machines differ
 * 2x from day to day).
 *
 * Ingest: exchange-sim at 20x and kinesalite run in a child process, the
 * OTLP/HTTP receiver the spans are exported to in another (tracing-world.ts), so
 * this process's CPU is the ingestor's own (its exporter included). A fresh
 * ingestor per measurement, on a fresh stream and a restarted simulator (same
 * seed: every measurement gets the same market, frame for frame — the frame
 * rate sets how many frames share a PutRecords, so a busier stretch of market
 * costs less per frame, which made runs differ by 2x; ingest-harness.ts). Figures:
 *   throughput  frames per CPU-second of this process — the frames/s one core
 *               could carry; the simulator offers a fixed rate, so acknowledged
 *               frames/s (also given, `frames_per_s`) only says it kept up
 *   p99         frame receive → Kinesis acknowledgement, p99 over the window
 * Inference: a spawned redis-server fed fresh vectors (the inference bench's
 * Feeder), a fresh InferenceServer per measurement, its tick (claim + read,
 * checks, model, write) called back to back: ticks/s and tick p99. Inference
 * traces every tick whenever tracing is on (the ratio samples frames), so its
 * 1 % and 100 % both measure a fully traced tick (root + 5 stages; the
 * Feeder's vectors carry no event context, so no link).
 *
 * Knobs: BENCH_TRACING_ROUNDS (3), BENCH_TRACING_INGEST_MS (4000 measured per
 * run, after 1000 of warm-up), BENCH_TRACING_TICKS (1500 per run),
 * BENCH_QUICK=1 (1 round, short windows: the smoke test).
 * Last line: one JSON object.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { InferenceConfigSchema, InferenceServer } from 'inference';
import type { Ingestor } from 'ingestor';
import { Feeder, sleep } from '../apps/inference/test/harness.ts';
import { benchIngestor, measureIngest, type IngestFigures } from './ingest-harness.ts';
import { startBenchRedis } from './redis-targets.ts';
import type { WorldCommand, WorldReady, WorldReply, WorldRequest } from './tracing-world.ts';

const QUICK = process.env['BENCH_QUICK'] === '1';
const num = (name: string, fallback: number, quick: number): number => {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? (QUICK ? quick : fallback) : Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
  return v;
};
const ROUNDS = num('BENCH_TRACING_ROUNDS', 3, 1);
const INGEST_MS = num('BENCH_TRACING_INGEST_MS', 4000, 1500);
const WARMUP_MS = QUICK ? 500 : 1000;
const TICKS = num('BENCH_TRACING_TICKS', 1500, 200);
const WARMUP_TICKS = QUICK ? 20 : 100;

const ALL_CONFIGS = ['off', '1pct', '100pct', '100pct_unreachable', 'off_again'] as const;
type Config = (typeof ALL_CONFIGS)[number];
/** BENCH_TRACING_CONFIGS=off,100pct measures only those (profiling one; `off` is always measured: every ratio is to it). */
const CONFIGS: readonly Config[] = ((): Config[] => {
  const raw = process.env['BENCH_TRACING_CONFIGS'];
  if (raw === undefined || raw === '') return [...ALL_CONFIGS];
  const wanted = raw.split(',');
  for (const w of wanted) if (!(ALL_CONFIGS as readonly string[]).includes(w)) throw new Error(`BENCH_TRACING_CONFIGS: ${w} is not one of ${ALL_CONFIGS.join(', ')}`);
  return ALL_CONFIGS.filter((c) => c === 'off' || wanted.includes(c));
})();
const order = (round: number): readonly Config[] => (round % 2 === 0 ? CONFIGS : [...CONFIGS].reverse());

// ---- the other processes: the ingest world (simulator, kinesalite) and the collector (OTLP receiver) ----
interface Child {
  ready: WorldReady;
  ask(request: WorldCommand): Promise<WorldReply>;
  kill(): void;
}
async function startChild(role: 'world' | 'collector'): Promise<Child> {
  const child = fork(new URL('./tracing-world.ts', import.meta.url).pathname, [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<WorldReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tracing-world ${role} did not start within 60 s`)), 60_000);
    child.once('message', (m: WorldReady) => {
      clearTimeout(timer);
      resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`tracing-world ${role} exited (${code}) before it was ready`)));
  });
  let nextId = 0;
  return {
    ready,
    kill: () => void child.kill('SIGKILL'),
    ask: (request) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => reject(new Error(`tracing-world ${role}: no answer to ${request.cmd} within 30 s`)), 30_000);
        const on = (m: WorldReply): void => {
          if (m.id !== id) return;
          clearTimeout(timer);
          child.off('message', on);
          if (m.error !== undefined) reject(new Error(`tracing-world ${role} ${request.cmd}: ${m.error}`));
          else resolve(m);
        };
        child.on('message', on);
        child.send({ ...request, id } as WorldRequest);
      }),
  };
}
const worldChild = await startChild('world');
const collector = await startChild('collector');
const killChildren = (): void => {
  worldChild.kill();
  collector.kill();
};
process.on('exit', killChildren);
const world = { kinesisEndpoint: worldChild.ready.kinesisEndpoint!, streamUrl: worldChild.ready.streamUrl!, restUrl: worldChild.ready.restUrl!, otlpUrl: collector.ready.otlpUrl! };
const ask = (request: WorldCommand): Promise<WorldReply> => (request.cmd === 'spans' ? collector : worldChild).ask(request);

/** A port nothing listens on: the unreachable collector (connections refused at once). */
const closedPort = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as AddressInfo;
    s.close(() => resolve(port));
  });
});

function tracingEnv(config: Config): NodeJS.ProcessEnv {
  switch (config) {
    case 'off':
    case 'off_again':
      return {};
    case '1pct':
      return { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: world.otlpUrl, OTEL_TRACES_SAMPLER_ARG: '0.01' };
    case '100pct':
      return { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: world.otlpUrl, OTEL_TRACES_SAMPLER_ARG: '1' };
    case '100pct_unreachable':
      return { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${closedPort}/v1/traces`, OTEL_TRACES_SAMPLER_ARG: '1' };
  }
}

type Registry = Ingestor['registry'];
const metric = async (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> =>
  ((await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);

interface SpanCounts {
  /** Spans the service counted as accepted by the collector. */
  exported: number;
  /** Spans it counted as dropped, and why (queue_full, export_failed, shutdown). */
  dropped: number;
  queue_full: number;
  export_failed: number;
  shutdown: number;
  /** Spans the receiver got (0 when unreachable). */
  received: number;
}
async function spanCounts(registry: Registry, service: string): Promise<SpanCounts> {
  const { spans } = await ask({ cmd: 'spans' });
  return {
    exported: await metric(registry, 'tracing_spans_exported_total'),
    dropped: await metric(registry, 'tracing_spans_dropped_total'),
    queue_full: await metric(registry, 'tracing_spans_dropped_total', { reason: 'queue_full' }),
    export_failed: await metric(registry, 'tracing_spans_dropped_total', { reason: 'export_failed' }),
    shutdown: await metric(registry, 'tracing_spans_dropped_total', { reason: 'shutdown' }),
    received: spans?.[service] ?? 0,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const pct = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

interface Run {
  throughput: number;
  p99_ms: number;
  p50_ms: number;
  /** Offered-load figure: frames acknowledged per second (ingest) or ticks per wall second (inference). */
  per_s: number;
  spans: SpanCounts;
}
const runs = { ingest: new Map<Config, Run[]>(), inference: new Map<Config, Run[]>() };
for (const c of CONFIGS) {
  runs.ingest.set(c, []);
  runs.inference.set(c, []);
}

// ---- 1. ingest ----
let streams = 0;
// one run thrown away first: the first ingestor of a process pays the JIT's warm-up, whichever configuration it has
{
  const stream = `market-events-${++streams}`;
  const sim = await ask({ cmd: 'stream', name: stream });
  await measureIngest(benchIngestor({ ...world, streamUrl: sim.streamUrl!, restUrl: sim.restUrl! }, stream, tracingEnv('100pct')), WARMUP_MS, WARMUP_MS);
  console.log('ingest   warm-up run done (not counted)');
}
for (let round = 0; round < ROUNDS; round++) {
  for (const config of order(round)) {
    const stream = `market-events-${++streams}`;
    const sim = await ask({ cmd: 'stream', name: stream });
    await ask({ cmd: 'spans' }); // (forget anything a previous run left: each run's count is its own)
    const ingestor = benchIngestor({ ...world, streamUrl: sim.streamUrl!, restUrl: sim.restUrl! }, stream, tracingEnv(config));
    const f: IngestFigures = await measureIngest(ingestor, WARMUP_MS, INGEST_MS);
    const spans = await spanCounts(ingestor.registry, 'ingestor');
    const run: Run = { throughput: Math.round(1000 / f.cpu_s_per_1k_msgs), p99_ms: f.p99_ms, p50_ms: f.p50_ms, per_s: f.msgs_per_s, spans };
    runs.ingest.get(config)!.push(run);
    console.log(
      `ingest   round ${round + 1}/${ROUNDS} ${config.padEnd(18)} ${f.msgs_per_s} frames/s acked, ${run.throughput} frames per CPU-s, receive→ack p50 ${f.p50_ms} ms p99 ${f.p99_ms} ms; spans exported ${spans.exported} received ${spans.received} dropped ${spans.dropped}`,
    );
  }
}

// ---- 1b. what one sampled frame's spans cost, alone ----
/**
 * The ingestor's span tree for one frame (root + decode + gap check + kinesis put, its two attributes, every
 * time from the span clock), made `n` times in bursts of 20 by an (unstarted) ingestor's own Tracing, its
 * export to the receiver (or the closed port) included: CPU µs per frame. Far steadier than the whole path's
 * ratios on a busy machine, and what at a ratio r costs r times as much per frame.
 */
async function spanTreeCost(config: Config, n: number): Promise<number> {
  const tracing = benchIngestor(world, 'unused', tracingEnv(config)).tracing;
  const clock = (): number => performance.timeOrigin + performance.now();
  const frame = (): void => {
    const root = tracing.startRoot('ingestor frame', clock());
    const decode = tracing.startChild('decode', root, clock());
    decode.end(clock());
    root.setAttribute('symbol', 'BTCUSDT');
    root.setAttribute('message_type', 'trade');
    const gap = tracing.startChild('gap check', root, clock());
    gap.end(clock());
    const put = tracing.startChild('kinesis put', root, clock());
    put.spanContext();
    const end = clock();
    put.end(end);
    root.end(end);
  };
  const cpu0 = process.cpuUsage();
  for (let done = 0; done < n; done += 20) {
    for (let i = 0; i < 20; i++) frame();
    await new Promise((r) => setImmediate(r)); // (the exporter's callbacks run between bursts, as between frames)
  }
  await tracing.shutdown(AbortSignal.timeout(10_000)); // every span exported (or dropped) is counted in
  const cpu = process.cpuUsage(cpu0);
  await ask({ cmd: 'spans' });
  return (cpu.user + cpu.system) / n;
}
const TREES = QUICK ? 2_000 : 20_000;
await spanTreeCost('100pct', TREES); // (warm-up)
const treeCost = { exported: [] as number[], unreachable: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of round % 2 === 0 ? (['exported', 'unreachable'] as const) : (['unreachable', 'exported'] as const)) {
    treeCost[kind].push(await spanTreeCost(kind === 'exported' ? '100pct' : '100pct_unreachable', TREES));
  }
}
console.log(
  `one sampled frame's 4 spans: ${r3(median(treeCost.exported))} µs CPU created, ended and exported; ${r3(median(treeCost.unreachable))} µs when the collector is unreachable (medians of ${ROUNDS})`,
);

// ---- 2. inference ----
const redis = await startBenchRedis('single', 'everysec');
const feeder = new Feeder(redis.client, 'BTCUSDT', 100).start();
await sleep(200);
/** Distinct tick times for every tick of the bench (a claimed tick cannot be claimed again), all in the past as in bench:inference. */
const allTicks = (ROUNDS * CONFIGS.length + 1) * (TICKS + WARMUP_TICKS);
let tickMs = Math.floor(Date.now() / 2_000) * 2_000 - allTicks * 2_000;

/** An inference server whose OTEL_* variables are `env`, its scheduler parked (the bench drives its ticks). */
const inferenceServer = (env: NodeJS.ProcessEnv): InferenceServer =>
  new InferenceServer(InferenceConfigSchema.parse({ ...redis.fields, symbols: ['BTCUSDT'], intervalMs: 3_600_000, port: 0, host: '127.0.0.1', logLevel: 'silent' }), { tracingEnv: env });

async function inferenceRun(config: Config, ticks: number, warmupTicks: number): Promise<Run> {
  await ask({ cmd: 'spans' });
  const server = inferenceServer(tracingEnv(config));
  await server.start();
  const tick = async (): Promise<number> => {
    tickMs += 2_000;
    const r = await server.service.tickSymbol('BTCUSDT', tickMs, false);
    if (r.outcome !== 'predicted') throw new Error(`inference ${config}: tick ${tickMs}: ${r.outcome}`);
    return r.totalMs!;
  };
  for (let i = 0; i < warmupTicks; i++) await tick();
  const totals: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < ticks; i++) totals.push(await tick());
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await server.stop();
  const spans = await spanCounts(server.service.registry, 'inference');
  totals.sort((a, b) => a - b);
  return {
    throughput: Math.round(ticks / ((cpu.user + cpu.system) / 1e6)),
    p99_ms: r3(pct(totals, 0.99)),
    p50_ms: r3(pct(totals, 0.5)),
    per_s: Math.round(ticks / wallS),
    spans,
  };
}

// as for ingest, one run thrown away first (JIT warm-up)
await inferenceRun('100pct', WARMUP_TICKS, WARMUP_TICKS);
console.log('inference warm-up run done (not counted)');
for (let round = 0; round < ROUNDS; round++) {
  for (const config of order(round)) {
    const run = await inferenceRun(config, TICKS, WARMUP_TICKS);
    runs.inference.get(config)!.push(run);
    console.log(
      `inference round ${round + 1}/${ROUNDS} ${config.padEnd(18)} ${run.per_s} ticks/s back to back, ${run.throughput} ticks per CPU-s, tick p50 ${run.p50_ms} ms p99 ${run.p99_ms} ms; spans exported ${run.spans.exported} received ${run.spans.received} dropped ${run.spans.dropped}`,
    );
  }
}
feeder.stop();
await redis.stop();
await worldChild.ask({ cmd: 'stop' });
await collector.ask({ cmd: 'stop' });
process.off('exit', killChildren);

// ---- figures ----
interface Ratio {
  /** Throughput with it / off (below 1: it costs capacity). */
  throughput: number;
  /** p99 with it / off (above 1: slower). */
  p99: number;
  /** Offered-load figure with it / off (frames acknowledged or ticks per second). */
  per_s: number;
}
const RATIO_KEY = { '1pct': 'ratio_1pct', '100pct': 'ratio_100pct', '100pct_unreachable': 'ratio_100pct_unreachable', off_again: 'ratio_off_again' } as const;

function summary(byConfig: Map<Config, Run[]>) {
  const med = (c: Config) => {
    const rs = byConfig.get(c)!;
    return {
      throughput: median(rs.map((r) => r.throughput)),
      per_s: median(rs.map((r) => r.per_s)),
      p50_ms: r3(median(rs.map((r) => r.p50_ms))),
      p99_ms: r3(median(rs.map((r) => r.p99_ms))),
    };
  };
  const off = med('off');
  const ratio = (c: Config): Ratio => {
    const m = med(c);
    return { throughput: r3(m.throughput / off.throughput), p99: r3(m.p99_ms / off.p99_ms), per_s: r3(m.per_s / off.per_s) };
  };
  // (ratio_off_again = off again / off: how far apart two identical configurations measure now — the noise floor)
  const ratios: Partial<Record<(typeof RATIO_KEY)[keyof typeof RATIO_KEY], Ratio>> = {};
  for (const c of CONFIGS) if (c !== 'off') ratios[RATIO_KEY[c]] = ratio(c);
  const spans = Object.fromEntries(
    CONFIGS.map((c) => {
      const rs = byConfig.get(c)!;
      const total = (k: keyof SpanCounts): number => sum(rs.map((r) => r.spans[k]));
      return [
        c,
        { exported: total('exported'), received: total('received'), dropped: total('dropped'), queue_full: total('queue_full'), export_failed: total('export_failed'), shutdown: total('shutdown') },
      ];
    }),
  ) as Partial<Record<Config, SpanCounts>>;
  return { figures: { off, ...ratios }, spans };
}
const ingest = summary(runs.ingest);
const inference = summary(runs.inference);
/** Within `limit` of off: throughput not below 1 − limit and p99 not above 1 + limit, on both paths (null: not measured). */
const within = (key: keyof typeof ingest.figures & `ratio_${string}`, limit: number): boolean | null => {
  const rs = [ingest.figures[key], inference.figures[key]];
  if (rs.some((r) => r === undefined)) return null;
  return rs.every((r) => r!.throughput >= 1 - limit && r!.p99 <= 1 + limit);
};
/** The larger deviation of off again from off: a cost smaller than this is not resolved by this run. */
const noise = (f: typeof ingest.figures): number | null => (f.ratio_off_again === undefined ? null : r3(Math.max(Math.abs(1 - f.ratio_off_again.throughput), Math.abs(f.ratio_off_again.p99 - 1))));
const resolved = (limit: number): boolean => [noise(ingest.figures), noise(inference.figures)].every((n) => n !== null && n < limit);
const spanCost = ((): { frame_tree_us: number; frame_tree_unreachable_us: number; ingest_off_us_per_frame: number; overhead_1pct: number; overhead_100pct: number } => {
  const offUs = 1e6 / ingest.figures.off.throughput;
  const tree = median(treeCost.exported);
  return {
    frame_tree_us: r3(tree),
    frame_tree_unreachable_us: r3(median(treeCost.unreachable)),
    ingest_off_us_per_frame: r3(offUs),
    overhead_1pct: r3((0.01 * tree) / offUs),
    overhead_100pct: r3(tree / offUs),
  };
})();
const result = {
  bench: 'tracing',
  rounds: ROUNDS,
  ingest_ms: INGEST_MS,
  ticks: TICKS,
  ingest: ingest.figures,
  inference: inference.figures,
  goal: {
    '1pct_lt_3pct': within('ratio_1pct', 0.03),
    '100pct_lt_20pct': within('ratio_100pct', 0.2),
    unreachable_lt_20pct: within('ratio_100pct_unreachable', 0.2),
    noise_floor: { ingest: noise(ingest.figures), inference: noise(inference.figures) },
    /** Whether this run could tell: off again stayed within the limit of off on both paths (else the verdicts above are noise). */
    resolved: { '1pct_lt_3pct': resolved(0.03), '100pct_lt_20pct': resolved(0.2) },
    /** The ingestor's verdicts from span_cost (the span tree alone against the whole frame's CPU): steadier. */
    by_span_cost: { '1pct_lt_3pct': spanCost.overhead_1pct < 0.03, '100pct_lt_20pct': spanCost.overhead_100pct < 0.2 },
  },
  spans: { ingest: ingest.spans, inference: inference.spans },
  /**
   * The span tree's own cost against the ingestor's whole per-frame CPU with tracing off: the overhead at
   * ratio r is r × tree / off (the goal's terms, without the whole path's noise).
   */
  span_cost: spanCost,
};
const show = (label: string, r: Ratio | undefined): string => (r === undefined ? '' : `${label}: throughput x${r.throughput} p99 x${r.p99}; `);
for (const [name, s] of [
  ['ingest', ingest],
  ['inference', inference],
] as const) {
  const f = s.figures;
  console.log(
    `${name} vs off — ${show('1 %', f.ratio_1pct)}${show('100 %', f.ratio_100pct)}${show(`100 % collector unreachable (dropped ${s.spans['100pct_unreachable']?.dropped})`, f.ratio_100pct_unreachable)}${show('off again (noise)', f.ratio_off_again)}`,
  );
}
console.log(
  `ingestor span tree alone: ${spanCost.frame_tree_us} µs per sampled frame against ${spanCost.ingest_off_us_per_frame} µs per frame untraced: +${r3(100 * spanCost.overhead_1pct)} % at 1 %, +${r3(100 * spanCost.overhead_100pct)} % at 100 %`,
);
console.log(
  `goal — 1 % < 3 %: ${result.goal['1pct_lt_3pct']} (resolvable in this run: ${result.goal.resolved['1pct_lt_3pct']}; by span cost: ${result.goal.by_span_cost['1pct_lt_3pct']}); 100 % < 20 %: ${result.goal['100pct_lt_20pct']} (resolvable: ${result.goal.resolved['100pct_lt_20pct']}; by span cost: ${result.goal.by_span_cost['100pct_lt_20pct']}); noise floor (off again vs off) ingest ${result.goal.noise_floor.ingest}, inference ${result.goal.noise_floor.inference}`,
);
console.log(JSON.stringify(result));
