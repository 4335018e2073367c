/**
 * The ingest benches' harness (bench:ingest, bench:tracing): exchange-sim at a
 * given speed and kinesalite (the "world"), an ingestor connected to them, and
 * one measurement of its hot path — frame receive → Kinesis PutRecords
 * acknowledged, per stream frame, after a warm-up.
 */
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { Ingestor, ingestorConfigFromEnv } from 'ingestor';

export interface IngestWorld {
  kinesisEndpoint: string;
  streamUrl: string;
  restUrl: string;
  /** A new stream of `shards` shards (a fresh one per measurement: the ingestor's look back at start then reads nothing). */
  createStream(name: string, shards?: number): Promise<void>;
  /**
   * A fresh simulator with the same seed (new URLs): each measurement then sees the same market from its
   * start — the frame rate, and so how many frames share a Kinesis request, is not another difference.
   */
  restartSimulator(): Promise<void>;
  stop(): Promise<void>;
}

/** kinesalite + the simulator at `speed`x, in this process. */
export async function startIngestWorld(speed: number): Promise<IngestWorld> {
  const emu = new KinesisEmulator();
  await emu.start();
  const simulator = async (): Promise<ExchangeSimulator> => {
    const s = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed, seed: 3, apiKeys: ['bench'], logLevel: 'silent' }));
    await s.start();
    return s;
  };
  let sim = await simulator();
  const world: IngestWorld = {
    kinesisEndpoint: emu.endpoint,
    streamUrl: sim.urls.ws,
    restUrl: sim.urls.rest,
    createStream: (name, shards = 4) => emu.createStream(name, shards),
    async restartSimulator() {
      await sim.stop();
      sim = await simulator();
      world.streamUrl = sim.urls.ws;
      world.restUrl = sim.urls.rest;
    },
    async stop() {
      await sim.stop();
      await emu.stop();
    },
  };
  return world;
}

/** An ingestor of BTCUSDT on `world`'s simulator and Kinesis stream; `tracingEnv` = its OTEL_* variables (default: none, tracing off). */
export function benchIngestor(world: Pick<IngestWorld, 'kinesisEndpoint' | 'streamUrl' | 'restUrl'>, stream = 'market-events', tracingEnv: NodeJS.ProcessEnv = {}): Ingestor {
  return new Ingestor(
    ingestorConfigFromEnv(
      {},
      {
        streamUrl: world.streamUrl,
        restUrl: world.restUrl,
        symbols: ['BTCUSDT'],
        apiKey: 'bench',
        kinesisEndpoint: world.kinesisEndpoint,
        kinesisStream: stream,
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
      },
    ),
    { tracingEnv },
  );
}

export interface IngestFigures {
  /** Stream frames acknowledged by Kinesis while measuring. */
  msgs: number;
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** CPU of this whole process (user + system, every thread) per 1000 acknowledged frames. */
  cpu_s_per_1k_msgs: number;
  cpu_core_fraction: number;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/**
 * Starts `ingestor`, warms up `warmupMs`, records every acknowledged frame's
 * receive → ack latency for `runMs`, stops it (its stop flushes Kinesis and,
 * when traced, the spans) and returns the figures. `afterMeasure` runs between
 * the end of the window and the stop (read the ingestor's metrics there).
 */
export async function measureIngest(ingestor: Ingestor, warmupMs: number, runMs: number, afterMeasure?: () => Promise<void>): Promise<IngestFigures> {
  const latencies: number[] = [];
  let measuring = false;
  ingestor.onFrameAck = (ms) => {
    if (measuring) latencies.push(ms);
  };
  await ingestor.start();
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, runMs));
  measuring = false;
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await afterMeasure?.();
  await ingestor.stop();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  const msgs = latencies.length;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    msgs,
    msgs_per_s: Math.round(msgs / wallS),
    p50_ms: round(q(0.5), 2),
    p99_ms: round(q(0.99), 2),
    max_ms: round(latencies[latencies.length - 1] ?? Number.NaN, 2),
    cpu_s_per_1k_msgs: round((cpuS / msgs) * 1000, 4),
    cpu_core_fraction: round(cpuS / wallS, 2),
  };
}
