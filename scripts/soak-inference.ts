/**
 * pnpm soak:inference — the inference bar on the whole stack: exchange-sim →
 * ingestor → Kinesis (kinesalite) → aggregator → Redis → two inference replica
 * processes; halfway through, one replica is killed (SIGKILL). A subscriber on
 * the Redis push channel records when each prediction arrives. At the end the
 * history stream is checked for missing and repeated ticks.
 * SOAK_MINUTES (default 10), SOAK_INTERVAL_MS (default 2000).
 * Last line: one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseCli } from '@hotpath/config';
import type { Prediction } from 'inference';

parseCli({
  name: 'pnpm soak:inference',
  usage: `

The inference bar on the whole stack, in this process and two inference replica processes: exchange-sim →
ingestor → Kinesis (kinesalite) → aggregator → Redis (a redis-server of its own) → inference; halfway
through one replica is killed (SIGKILL). Prints when each prediction arrived, then checks the history for
missing and repeated ticks. The last line is one JSON object. Takes no flags.`,
  env: { SOAK_MINUTES: 'how long to run (default 10)', SOAK_INTERVAL_MS: 'the inference tick (default 2000)' },
  examples: ['SOAK_MINUTES=2 pnpm soak:inference'],
});
// (loaded after the arguments: --help answers without loading the stack)
const { Redis } = await import('ioredis');
const { Aggregator, AggregatorConfigSchema } = await import('aggregator');
const { ExchangeSimulator, SimConfigSchema } = await import('exchange-sim');
const { Ingestor, ingestorConfigFromEnv } = await import('ingestor');
const { KinesisEmulator } = await import('@hotpath/kinesis/testing');
const { RedisServer } = await import('@hotpath/state/testing');

const MINUTES = Number(process.env['SOAK_MINUTES'] ?? 10);
const INTERVAL = Number(process.env['SOAK_INTERVAL_MS'] ?? 2_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? Number.NaN;

const redisServer = new RedisServer('everysec');
await redisServer.start();
const emu = new KinesisEmulator();
await emu.start();
await emu.createStream('market-events', 2);
const sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 1, apiKeys: ['soak'], logLevel: 'silent' }));
await sim.start();
const ingestor = new Ingestor(
  ingestorConfigFromEnv({}, { streamUrl: sim.urls.ws, restUrl: sim.urls.rest, symbols: ['BTCUSDT'], apiKey: 'soak', kinesisEndpoint: emu.endpoint, port: 0, host: '127.0.0.1', logLevel: 'silent' }),
);
await ingestor.start();
const aggregator = new Aggregator(
  AggregatorConfigSchema.parse({ redisUrl: redisServer.url, symbols: ['BTCUSDT'], kinesisEndpoint: emu.endpoint, pollMs: 100, port: 0, host: '127.0.0.1', logLevel: 'silent' }),
);
await aggregator.start();

const arrivals = new Map<number, number[]>();
const sub = new Redis(redisServer.port, '127.0.0.1');
await sub.subscribe('pred:{BTCUSDT}');
sub.on('message', (_c, json: string) => {
  const p = JSON.parse(json) as Prediction;
  const list = arrivals.get(p.tickMs) ?? [];
  list.push(Date.now());
  arrivals.set(p.tickMs, list);
});

const bin = fileURLToPath(new URL('../apps/inference/bin/start.ts', import.meta.url));
const replicas: ChildProcess[] = ['r1', 'r2'].map((name) =>
  spawn(process.execPath, ['--import', 'tsx', bin], {
    env: { ...process.env, REDIS_URL: redisServer.url, INFERENCE_REPLICA: name, INFERENCE_INTERVAL_MS: String(INTERVAL), INFERENCE_PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  }),
);
const startedAt = Date.now();
const durationMs = MINUTES * 60_000;
await sleep(durationMs / 2);
replicas[0]!.kill('SIGKILL');
const killedAt = Date.now();
console.log(`killed replica r1 at ${((killedAt - startedAt) / 1000).toFixed(0)} s`);
await sleep(durationMs / 2);

const redis = new Redis(redisServer.port, '127.0.0.1');
const entries = (await redis.xrange('pred:{BTCUSDT}:stream', '-', '+')).map(([id, f]) => ({ id, p: JSON.parse(f[1]!) as Prediction }));
for (const r of replicas) r.kill('SIGKILL');
sub.disconnect();
redis.disconnect();
await aggregator.stop();
await ingestor.stop();
await sim.stop();
await emu.stop();
await redisServer.stop();

// skip the warm-up: from the first prediction that used live features
const firstLive = entries.findIndex((e) => !e.p.fallback);
const run = entries.slice(Math.max(0, firstLive));
const ticks = run.map((e) => e.p.tickMs);
const expected = ticks.length > 0 ? (ticks[ticks.length - 1]! - ticks[0]!) / INTERVAL + 1 : 0;
const duplicates = [...arrivals.values()].filter((a) => a.length > 1).length + run.filter((e) => e.id !== `${e.p.tickMs}-0`).length;
const late = run
  .map((e) => arrivals.get(e.p.tickMs)?.[0])
  .map((t, i) => (t === undefined ? Number.NaN : t - run[i]!.p.tickMs))
  .filter(Number.isFinite);
const arrivalsInOrder = run.map((e) => arrivals.get(e.p.tickMs)?.[0]).filter((t): t is number => t !== undefined);
const intervalJitter = arrivalsInOrder.slice(1).map((t, i) => Math.abs(t - arrivalsInOrder[i]! - INTERVAL));
const fallbacks: Record<string, number> = {};
for (const e of run) if (e.p.reason) fallbacks[e.p.reason] = (fallbacks[e.p.reason] ?? 0) + 1;
const byReplica: Record<string, number> = {};
for (const e of run) byReplica[e.p.replica] = (byReplica[e.p.replica] ?? 0) + 1;
console.log(
  `${run.length} predictions over ${(((ticks.at(-1) ?? 0) - (ticks[0] ?? 0)) / 1000).toFixed(0)} s (expected ${expected}); by replica ${JSON.stringify(byReplica)}; fallbacks ${JSON.stringify(fallbacks)}`,
);
console.log(`arrival after the tick boundary: p50 ${pct(late, 0.5)} ms, p99 ${pct(late, 0.99)} ms, max ${Math.max(...late)} ms; |interval − ${INTERVAL}| p99 ${pct(intervalJitter, 0.99)} ms`);
console.log(
  JSON.stringify({
    bench: 'soak-inference',
    minutes: MINUTES,
    interval_ms: INTERVAL,
    predictions: run.length,
    expected,
    missing: expected - run.length,
    duplicates,
    arrival_late_p50_ms: pct(late, 0.5),
    arrival_late_p99_ms: pct(late, 0.99),
    interval_jitter_p99_ms: pct(intervalJitter, 0.99),
    killed_replica_at_s: Math.round((killedAt - startedAt) / 1000),
    by_replica: byReplica,
    fallbacks,
  }),
);
process.exit(0);
