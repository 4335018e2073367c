/**
 * pnpm bench:ingest — exchange-sim at high speed → ingestor → kinesalite, all
 * in this process (one core's worth of event loop for the three). Latency is
 * frame receive → Kinesis PutRecord acknowledged, per stream frame.
 * Last line: one JSON object.
 */
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { Ingestor, ingestorConfigFromEnv } from 'ingestor';

const SPEED = Number(process.env['BENCH_INGEST_SPEED'] ?? 20);
const RUN_MS = Number(process.env['BENCH_INGEST_MS'] ?? 8000);

const emu = new KinesisEmulator();
await emu.start();
await emu.createStream('market-events', 4);
const sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: SPEED, seed: 3, apiKeys: ['bench'], logLevel: 'silent' }));
await sim.start();
const ingestor = new Ingestor(
  ingestorConfigFromEnv({}, { streamUrl: sim.urls.ws, restUrl: sim.urls.rest, symbols: ['BTCUSDT'], apiKey: 'bench', kinesisEndpoint: emu.endpoint, port: 0, host: '127.0.0.1', logLevel: 'silent' }),
);
const latencies: number[] = [];
let measuring = false;
ingestor.onFrameAck = (ms) => {
  if (measuring) latencies.push(ms);
};
await ingestor.start();
await new Promise((r) => setTimeout(r, 1000)); // warm-up
measuring = true;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, RUN_MS));
measuring = false;
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
await ingestor.stop();
await sim.stop();
await emu.stop();

latencies.sort((a, b) => a - b);
const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
const msgs = latencies.length;
const cpuS = (cpu.user + cpu.system) / 1e6;
const result = {
  bench: 'ingest',
  speed: SPEED,
  msgs,
  msgs_per_s: Math.round(msgs / wallS),
  p50_ms: Number(q(0.5).toFixed(2)),
  p99_ms: Number(q(0.99).toFixed(2)),
  max_ms: Number((latencies[latencies.length - 1] ?? NaN).toFixed(2)),
  cpu_s_per_1k_msgs: Number(((cpuS / msgs) * 1000).toFixed(4)),
  cpu_core_fraction: Number((cpuS / wallS).toFixed(2)),
};
console.log(
  `${SPEED}x BTCUSDT: ${result.msgs_per_s} frames/s acknowledged by Kinesis, receive→ack p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms; ${result.cpu_core_fraction} of a core for simulator + ingestor + kinesalite together`,
);
console.log(JSON.stringify(result));
