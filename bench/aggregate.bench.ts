/**
 * pnpm bench:aggregate — the aggregator's cost per event.
 *  1. in process, no I/O: envelopes → SymbolProcessor (decode, book, windows) → the events/s one core sustains;
 *  2. end to end: kinesalite + producer (a child process under SCHED_IDLE: Kinesis is not ours to pay for) →
 *     Aggregator → redis-server (spawned), everything the fixture holds (x SYMBOLS partitions);
 *     `event_to_redis` is a batch handed over by GetRecords → its vectors written to Redis
 *     (the Kinesis poll interval excluded, as the issue asks), after the first BENCH_WARMUP_MS of the feed.
 *  `redis_ping_from_another_process_p99_ms` is the machine's floor under the same load (aggregate-redis-ping.ts).
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
import { benchRedisKinds, compare, histogramQuantile, roundOrder, startBenchRedis, type BenchRedis, type RedisKind } from './redis-targets.ts';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT'];

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
// BENCH_SLICE envelopes per symbol per 10 ms (default 25: ~10,000 envelopes/s in all, about 20x live BTCUSDT per symbol)
const SLICE = Number(process.env['BENCH_SLICE'] ?? 25);
// The first seconds are start-up (JIT, the SDK loading its modules on first use, leases being taken): not in the latency figure.
const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 1500);
const reference = new SymbolProcessor('X');
one.forEach((e, i) => {
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
    env: { ...process.env, FEED_SYMBOLS: SYMBOLS.join(','), FEED_SLICE: String(SLICE), FEED_SLICE_MS: '10' },
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
      redis_ping_from_another_process_p99_ms: floor.p99,
      cpu_core_fraction: cpuFraction,
      event_loop_delay_p99_ms: loopP99,
    },
  };
}

const kinds = benchRedisKinds();
const targets = new Map<RedisKind, BenchRedis>();
for (const kind of kinds) targets.set(kind, await startBenchRedis(kind, FSYNC));
const order = kinds.length === 1 ? kinds : roundOrder(kinds, Number(process.env['BENCH_ROUNDS'] ?? 3));
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
if (rounds.length === 1) {
  const r = rounds[0]!;
  const result = {
    bench: 'aggregate',
    ...(r.kind === 'cluster' ? { redis: 'cluster' } : {}),
    envelopes: r.total,
    events_per_s: r.eventsPerS,
    ...inProcessFigures,
    event_to_redis_p99_ms: r.p99BoundMs,
    warmup_ms: WARMUP_MS,
    redis_ping_from_another_process_p99_ms: r.floor.p99,
    batches: r.count,
    cpu_core_fraction: r.cpuFraction,
    redis_appendfsync: FSYNC,
    event_loop_delay_p99_ms: r.loopP99,
  };
  console.log(JSON.stringify(result));
} else {
  console.log(
    JSON.stringify({
      bench: 'aggregate',
      redis: 'both',
      rounds: order.length / 2,
      envelopes: rounds[0]!.total,
      ...inProcessFigures,
      warmup_ms: WARMUP_MS,
      redis_appendfsync: FSYNC,
      ...compare(rounds),
    }),
  );
}
