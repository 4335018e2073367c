/**
 * pnpm bench:aggregate — the aggregator's cost per event.
 *  1. in process, no I/O: envelopes → SymbolProcessor (decode, book, windows) → the events/s one core sustains;
 *  2. end to end: kinesalite + producer (a child process under SCHED_IDLE: Kinesis is not ours to pay for) →
 *     Aggregator → redis-server (spawned), the fixture's envelopes under BENCH_SYMBOLS (4) partition keys (~60,000 in all);
 *     `event_to_redis` is a batch handed over by GetRecords → its vectors written to Redis
 *     (the Kinesis poll interval excluded, as the issue asks), after the first BENCH_WARMUP_MS of the feed.
 *  `redis_ping_from_another_process_p99_ms` is the machine's floor under the same load (aggregate-redis-ping.ts);
 *  `event_to_redis_p99_vs_floor` (and p50) is our path as a multiple of it, measured in the same round.
 *  BENCH_REDIS=cluster runs part 2 against a local Redis Cluster, `both` against a redis-server and a cluster
 *  alternately, BENCH_ROUNDS (3) rounds each, and compares (redis-targets.ts).
 * Last line: one JSON object.
 */
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AggregatorConfigSchema, Aggregator } from 'aggregator';
import { SymbolProcessor } from '@hotpath/processor';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { FeatureStore } from '@hotpath/state';
import { benchRedisKinds, compare, histogramQuantile, median, roundOrder, startBenchRedis, type BenchRedis, type RedisKind } from './redis-targets.ts';

// BENCH_SYMBOLS (4): the fixture's envelopes re-keyed under that many symbols (partition keys), one market each.
const SYMBOL_COUNT = Number(process.env['BENCH_SYMBOLS'] ?? 4);
if (!Number.isInteger(SYMBOL_COUNT) || SYMBOL_COUNT < 1) throw new Error(`BENCH_SYMBOLS=${process.env['BENCH_SYMBOLS']}: expected a whole number ≥ 1`);
const SYMBOLS = SYMBOL_COUNT === 4 ? ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT'] : Array.from({ length: SYMBOL_COUNT }, (_, i) => (i === 0 ? 'BTCUSDT' : `SYM${String(i).padStart(3, '0')}USDT`));

function envelopes(symbol: string): Buffer[] {
  return [...recordingEnvelopes(readRecording(FIXTURE_SPOT_BTCUSDT), new EnvelopeWriter(symbol))];
}

// 1. in process
const one = envelopes('BTCUSDT');
let best = Number.POSITIVE_INFINITY;
let applied = 0;
for (let rep = 0; rep < 7; rep++) {
  const p = new SymbolProcessor('BTCUSDT');
  const t0 = performance.now();
  let n = 0;
  for (let i = 0; i < one.length; i++) if (p.apply(one[i]!, `0:${i}`) === 'applied') n++;
  best = Math.min(best, performance.now() - t0);
  applied = n;
}
const inProcess = Math.round(one.length / (best / 1000));
console.log(`in process: ${one.length} envelopes (${applied} book/trade events applied) in ${best.toFixed(1)} ms = ${inProcess} envelopes/s on one core`);

// 2. end to end: kinesalite + producer in a child process, the aggregator here, against each Redis asked for
const FSYNC = (process.env['BENCH_FSYNC'] ?? 'everysec') as 'always' | 'everysec';
// BENCH_SLICE envelopes per symbol per 10 ms (default 25 up to 4 symbols: ~20x live BTCUSDT per symbol; beyond, ~100 per
// 10 ms in all — the same ~10,000 envelopes/s — so that 50 symbols measure the same load spread over more vectors)
const SLICE = Number(process.env['BENCH_SLICE'] ?? Math.max(1, Math.min(25, Math.round(100 / SYMBOL_COUNT))));
// BENCH_ENVELOPES_PER_SYMBOL: the fixture's first N envelopes per symbol (default: ~60,000 in all, the fixture's 15,000 at most)
const PER_SYMBOL = Number(process.env['BENCH_ENVELOPES_PER_SYMBOL'] ?? Math.min(one.length, Math.ceil(60_000 / SYMBOL_COUNT)));
// The first seconds are start-up (JIT, the SDK loading its modules on first use, leases being taken): not in the latency figure.
const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 1500);
const reference = new SymbolProcessor('X');
one.slice(0, PER_SYMBOL).forEach((e, i) => {
  reference.apply(e, `0:${i}`);
});

type Buckets = { labels: { le?: string | number; operation?: string }; metricName?: string; value: number }[];
const quantileMs = (buckets: Buckets, q: number): number =>
  Number(
    (
      histogramQuantile(
        buckets.filter((b) => b.metricName?.endsWith('_bucket')).map((b) => ({ le: b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le), count: b.value })),
        q,
      ) * 1000
    ).toFixed(3),
  );

/** One end-to-end run against `target`: prints what it always printed, returns the figures. */
async function endToEnd(target: BenchRedis) {
  const feed = spawn('chrt', ['--idle', '0', process.execPath, '--import', 'tsx', new URL('./aggregate-feed.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, FEED_SYMBOLS: SYMBOLS.join(','), FEED_SLICE: String(SLICE), FEED_LIMIT: String(PER_SYMBOL), FEED_SLICE_MS: '10' },
  });
  const next = () =>
    new Promise<{ endpoint?: string; done?: number }>((resolve, reject) => {
      feed.once('message', (m) => resolve(m as { endpoint?: string; done?: number }));
      feed.once('exit', (code) => reject(new Error(`feed exited (${code})`)));
    });
  const { endpoint } = await next();
  const agg = new Aggregator(
    AggregatorConfigSchema.parse({
      ...target.fields,
      symbols: SYMBOLS,
      kinesisStream: 'bench',
      kinesisEndpoint: endpoint,
      owner: 'bench',
      stateCommitMs: Number(process.env['BENCH_STATE_COMMIT_MS'] ?? 1000),
      pollMs: Number(process.env['BENCH_POLL_MS'] ?? 10),
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
    }),
  );
  const store = new FeatureStore(target.client);
  await agg.start();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  feed.send('go');
  let pinger: ReturnType<typeof spawn> | undefined;
  setTimeout(() => {
    agg.registry.getSingleMetric('aggregator_event_to_redis_seconds')!.reset();
    pinger = spawn(process.execPath, ['--import', 'tsx', new URL('./aggregate-redis-ping.ts', import.meta.url).pathname], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, PING_PORT: String(target.btcPort) },
    });
  }, WARMUP_MS);
  const total = (await next()).done!;
  for (const s of SYMBOLS) while (((await store.readVector(s))?.version ?? 0) < reference.version) await new Promise((r) => setTimeout(r, 5));
  const wall = (performance.now() - t0) / 1000;
  const floor = await new Promise<{ p50: number; p99: number }>((resolve) => {
    pinger!.once('message', (m) => resolve(m as { p50: number; p99: number }));
    pinger!.send('stop');
  });
  const cpu = process.cpuUsage(cpu0);
  loopDelay.disable();
  const metricsJson = await agg.registry.getMetricsAsJSON();
  const redisHist = metricsJson.find((m) => m.name === 'aggregator_redis_operation_duration_seconds')!.values as Buckets;
  console.log(
    `redis write round trip (operation le s:count): ${redisHist
      .filter((v) => v.metricName?.endsWith('_bucket'))
      .map((b) => `${b.labels.operation} ${b.labels.le}:${b.value}`)
      .join(' ')}`,
  );
  const fc = metricsJson.find((m) => m.name === 'aggregator_feature_computation_duration_seconds')!.values as Buckets;
  console.log(
    `apply per batch (le s:count): ${fc
      .filter((v) => v.metricName?.endsWith('_bucket'))
      .map((b) => `${b.labels.le}:${b.value}`)
      .join(' ')}`,
  );
  const hist = metricsJson.find((m) => m.name === 'aggregator_event_to_redis_seconds')!.values as Buckets;
  const buckets = hist.filter((v) => v.metricName === 'aggregator_event_to_redis_seconds_bucket');
  const count = buckets.find((b) => b.labels.le === '+Inf')!.value;
  const p99 = buckets.find((b) => b.value >= 0.99 * count)!.labels.le;
  console.log(`event→redis histogram (le s:count): ${buckets.map((b) => `${b.labels.le}:${b.value}`).join(' ')}`);
  await agg.stop();
  const exited = new Promise((r) => feed.once('exit', r));
  feed.send('stop');
  await exited;
  const eventsPerS = Math.round(total / wall);
  const cpuFraction = Number(((cpu.user + cpu.system) / 1e6 / wall).toFixed(2));
  const loopP99 = Number((loopDelay.percentile(99) / 1e6).toFixed(1));
  console.log(
    `end to end: ${total} envelopes produced in 10 ms slices through kinesalite (SCHED_IDLE) → aggregator → redis in ${wall.toFixed(2)} s (${eventsPerS}/s, paced by the producer); batch hand-over → vectors in Redis p99 ≤ ${Number(p99) * 1000} ms over ${count} batches (histogram bucket bound)`,
  );
  const publishes = redisHist.filter((b) => b.labels.operation === 'publish');
  return {
    total,
    eventsPerS,
    p99BoundMs: Number(p99) * 1000,
    floor,
    count,
    cpuFraction,
    loopP99,
    // what the cluster/single comparison reads (histogram_quantile estimates: finer than bucket bounds)
    figures: {
      events_per_s: eventsPerS,
      event_to_redis_p50_ms: quantileMs(buckets, 0.5),
      event_to_redis_p99_ms: quantileMs(buckets, 0.99),
      publish_round_trip_p50_ms: quantileMs(publishes, 0.5),
      publish_round_trip_p99_ms: quantileMs(publishes, 0.99),
      redis_ping_from_another_process_p50_ms: floor.p50,
      redis_ping_from_another_process_p99_ms: floor.p99,
      // the issue's figure: our path as a multiple of a bare round trip from another process in the same run
      event_to_redis_p50_vs_floor: Number((quantileMs(buckets, 0.5) / floor.p50).toFixed(2)),
      event_to_redis_p99_vs_floor: Number((quantileMs(buckets, 0.99) / floor.p99).toFixed(2)),
      cpu_core_fraction: cpuFraction,
      event_loop_delay_p99_ms: loopP99,
    },
  };
}

const kinds = benchRedisKinds();
const targets = new Map<RedisKind, BenchRedis>();
for (const kind of kinds) targets.set(kind, await startBenchRedis(kind, FSYNC));
// One Redis kind: BENCH_ROUNDS (1) rounds, the medians reported; two kinds: BENCH_ROUNDS (3) rounds each, alternated.
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? (kinds.length === 1 ? 1 : 3));
const order = roundOrder(kinds, ROUNDS);
const rounds: ({ kind: RedisKind } & Awaited<ReturnType<typeof endToEnd>>)[] = [];
for (const [i, kind] of order.entries()) {
  if (order.length > 1) console.log(`-- round ${i + 1}/${order.length}: ${kind} Redis`);
  const target = targets.get(kind)!;
  await target.flush(); // each round from an empty Redis: a checkpoint names a shard of the last round's stream
  rounds.push({ kind, ...(await endToEnd(target)) });
}
for (const t of targets.values()) await t.stop();
const inProcessFigures = {
  in_process_envelopes_per_s: inProcess,
  in_process_book_trade_events_per_s: Math.round(applied / (best / 1000)),
};
if (kinds.length === 1) {
  // medians over the rounds (one round: its own figures)
  const mid = (f: (r: (typeof rounds)[number]) => number): number => Number(median(rounds.map(f)).toFixed(3));
  const r = rounds[0]!;
  const result = {
    bench: 'aggregate',
    ...(r.kind === 'cluster' ? { redis: 'cluster' } : {}),
    symbols: SYMBOL_COUNT,
    rounds: rounds.length,
    envelopes: r.total,
    events_per_s: mid((x) => x.eventsPerS),
    ...inProcessFigures,
    event_to_redis_p99_ms: mid((x) => x.p99BoundMs),
    event_to_redis_p50_est_ms: mid((x) => x.figures.event_to_redis_p50_ms),
    event_to_redis_p99_est_ms: mid((x) => x.figures.event_to_redis_p99_ms),
    warmup_ms: WARMUP_MS,
    redis_ping_from_another_process_p50_ms: mid((x) => x.floor.p50),
    redis_ping_from_another_process_p99_ms: mid((x) => x.floor.p99),
    event_to_redis_p50_vs_floor: mid((x) => x.figures.event_to_redis_p50_vs_floor),
    event_to_redis_p99_vs_floor: mid((x) => x.figures.event_to_redis_p99_vs_floor),
    batches: mid((x) => x.count),
    cpu_core_fraction: mid((x) => x.cpuFraction),
    redis_appendfsync: FSYNC,
    event_loop_delay_p99_ms: mid((x) => x.loopP99),
  };
  console.log(JSON.stringify(result));
} else {
  console.log(
    JSON.stringify({
      bench: 'aggregate',
      redis: 'both',
      symbols: SYMBOL_COUNT,
      rounds: order.length / 2,
      envelopes: rounds[0]!.total,
      ...inProcessFigures,
      warmup_ms: WARMUP_MS,
      redis_appendfsync: FSYNC,
      ...compare(rounds),
    }),
  );
}
