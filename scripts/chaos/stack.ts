/**
 * The whole local stack as the soak runs it: exchange-sim, the ingestor, two
 * aggregators and two inference replicas as separate OS processes (each
 * killable), a private redis-server, and kinesalite in-process behind its
 * outage proxy (a killed kinesalite would lose the stream the end replays).
 * Everything on 127.0.0.1, on free ports, wired with the variables compose
 * and the launcher use.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '@hotpath/service';
import { listShards, partitionHash } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { ChaosRedis } from './redis.ts';
import { ProcessLedger, ServiceProcess, sleep, type Instance } from './processes.ts';

export const SYMBOL = 'BTCUSDT';
export const STREAM = 'market-events';
const API_KEY = 'chaos-soak-key';

export interface StackOptions {
  root: string;
  runDir: string;
  seed: number;
  intervalMs: number;
  leaseTtlMs: number;
  logLevel: string;
  onUnexpectedExit: (s: ServiceProcess, inst: Instance) => void;
}

export class Stack {
  readonly ledger = new ProcessLedger(`${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`);
  readonly redis = new ChaosRedis(this.ledger);
  readonly kinesis = new KinesisEmulator({ host: '127.0.0.1', port: 0 });
  readonly adminToken = randomBytes(24).toString('hex');
  /** The harness's own Redis client: short deadlines, no queue (a paused Redis must not hang the probe). */
  admin!: Redis;
  sim!: ServiceProcess;
  ingestor!: ServiceProcess;
  aggregators: ServiceProcess[] = [];
  inference: ServiceProcess[] = [];
  /** The shard BTCUSDT's records land on. */
  shardId = '';
  kinesisDown = false;

  constructor(readonly options: StackOptions) {
    mkdirSync(options.runDir, { recursive: true });
  }

  /** Services the harness supervises (Redis and Kinesis apart). */
  get services(): ServiceProcess[] {
    return [this.sim, this.ingestor, ...this.aggregators, ...this.inference];
  }

  async start(): Promise<void> {
    const o = this.options;
    await this.redis.start();
    this.admin = new Redis(this.redis.port, '127.0.0.1', { commandTimeout: 500, connectTimeout: 500, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 200 });
    this.admin.on('error', () => undefined);
    await this.kinesis.start();
    await this.kinesis.createStream(STREAM, 2);
    const shards = await listShards(this.kinesis.client(), STREAM);
    const h = partitionHash(SYMBOL);
    this.shardId = shards.find((s) => BigInt(s.HashKeyRange!.StartingHashKey!) <= h && h <= BigInt(s.HashKeyRange!.EndingHashKey!))!.ShardId!;

    const [simPort, ingestorPort, aPort, bPort, iaPort, ibPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
    const common = { LOG_LEVEL: o.logLevel };
    const kinesis = { KINESIS_ENDPOINT: this.kinesis.endpoint, KINESIS_STREAM: STREAM, KINESIS_REGION: 'us-east-1' };
    const make = (name: string, service: string, entry: string, port: number, env: Record<string, string>): ServiceProcess =>
      new ServiceProcess({ name, service, entry, port, env: { ...common, ...env }, logFile: join(o.runDir, `${name}.log`) }, this.ledger, o.root, o.onUnexpectedExit);

    this.sim = make('exchange-sim', 'exchange-sim', 'apps/exchange-sim/bin/start.ts', simPort!, {
      SIM_HOST: '127.0.0.1',
      SIM_PORT: String(simPort),
      SIM_SYMBOLS: SYMBOL,
      SIM_SEED: String(o.seed),
      SIM_SPEED: '1',
      SIM_API_KEYS: API_KEY,
      SIM_ADMIN_TOKEN: this.adminToken,
    });
    this.ingestor = make('ingestor', 'ingestor', 'apps/ingestor/bin/start.ts', ingestorPort!, {
      ...kinesis,
      INGESTOR_STREAM_URL: `ws://127.0.0.1:${simPort}`,
      INGESTOR_REST_URL: `http://127.0.0.1:${simPort}`,
      INGESTOR_SYMBOLS: SYMBOL,
      INGESTOR_API_KEY: API_KEY,
      INGESTOR_HOST: '127.0.0.1',
      INGESTOR_PORT: String(ingestorPort),
    });
    this.aggregators = (
      [
        ['a', aPort!],
        ['b', bPort!],
      ] as const
    ).map(([id, port]) =>
      make(`aggregator-${id}`, 'aggregator', 'apps/aggregator/bin/start.ts', port, {
        ...kinesis,
        REDIS_URL: this.redis.url,
        AGGREGATOR_SYMBOLS: SYMBOL,
        AGGREGATOR_ID: `aggregator-${id}`,
        AGGREGATOR_HOST: '127.0.0.1',
        AGGREGATOR_PORT: String(port),
        AGGREGATOR_POLL_MS: '200',
        AGGREGATOR_LEASE_TTL_MS: String(o.leaseTtlMs),
      }),
    );
    this.inference = (
      [
        ['a', iaPort!],
        ['b', ibPort!],
      ] as const
    ).map(([id, port]) =>
      make(`inference-${id}`, 'inference', 'apps/inference/bin/start.ts', port, {
        REDIS_URL: this.redis.url,
        INFERENCE_SYMBOLS: SYMBOL,
        INFERENCE_REPLICA: `inference-${id}`,
        INFERENCE_INTERVAL_MS: String(o.intervalMs),
        INFERENCE_HOST: '127.0.0.1',
        INFERENCE_PORT: String(port),
      }),
    );
    // the ingestor needs the simulator's REST snapshot at once; the rest wait for their dependencies themselves
    this.sim.start();
    await this.waitAnswering(this.sim, 60_000);
    for (const s of [this.ingestor, ...this.aggregators, ...this.inference]) s.start();
  }

  /** Until the service answers /health at all (any status), or the deadline. */
  async waitAnswering(s: ServiceProcess, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const ok = await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(1_000) }).then(
        async (r) => {
          await r.arrayBuffer();
          return true;
        },
        () => false,
      );
      if (ok) return true;
      await sleep(200);
    }
    return false;
  }

  /** Arms a simulator fault (bearer token: the simulator's admin API is closed without it). */
  async simFault(fault: Record<string, unknown>): Promise<{ ok: boolean; status: number }> {
    try {
      const r = await fetch(`${this.sim.url}/admin/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.adminToken}` },
        body: JSON.stringify(fault),
        signal: AbortSignal.timeout(2_000),
      });
      await r.arrayBuffer();
      return { ok: r.ok, status: r.status };
    } catch {
      return { ok: false, status: 0 };
    }
  }

  /** Kinesis endpoint down for `ms` (connections reset, refused), then back with the same streams. */
  async kinesisOutage(ms: number): Promise<void> {
    this.kinesisDown = true;
    try {
      await this.kinesis.restart(ms);
    } finally {
      this.kinesisDown = false;
    }
  }
}
