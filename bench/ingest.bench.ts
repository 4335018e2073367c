/**
 * pnpm bench:ingest — exchange-sim at high speed → ingestor → kinesalite, all
 * in this process (one core's worth of event loop for the three). Latency is
 * frame receive → Kinesis PutRecord acknowledged, per stream frame.
 * Last line: one JSON object.
 */
import { benchIngestor, measureIngest, startIngestWorld } from './ingest-harness.ts';

const SPEED = Number(process.env['BENCH_INGEST_SPEED'] ?? 20);
const RUN_MS = Number(process.env['BENCH_INGEST_MS'] ?? 8000);

const world = await startIngestWorld(SPEED);
await world.createStream('market-events', 4);
const figures = await measureIngest(benchIngestor(world), 1000, RUN_MS);
await world.stop();

const result = { bench: 'ingest', speed: SPEED, ...figures };
console.log(
  `${SPEED}x BTCUSDT: ${result.msgs_per_s} frames/s acknowledged by Kinesis, receive→ack p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms; ${result.cpu_core_fraction} of a core for simulator + ingestor + kinesalite together`,
);
console.log(JSON.stringify(result));
