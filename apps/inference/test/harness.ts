/** Test harness: a feature-vector feeder (what the aggregator would write) and replicas on a private redis-server. */
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { encodeVector, keys, VectorStatus, type FeatureVectorRecord } from '@hotpath/state';
import { Redis as IORedis, type Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisServer } from '@hotpath/state/testing';
import { InferenceConfigSchema, InferenceServer, type InferenceConfig, type Prediction } from '../src/index.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes a fresh vector every `everyMs`; the mid walks deterministically; `mode` changes what is written. */
export class Feeder {
  mode: 'live' | 'reanchoring' | 'stale' | 'foreign_schema' | 'holes' = 'live';
  private timer: NodeJS.Timeout | undefined;
  private version = 0;

  constructor(
    private readonly redis: Redis,
    readonly symbol: string,
    private readonly everyMs = 50,
  ) {}

  vector(now = Date.now()): FeatureVectorRecord {
    const k = ++this.version;
    const mid = 60_000 + 20 * Math.sin(k / 7);
    const features = new Float64Array(FEATURE_COUNT).fill(0.1);
    features[FEATURE_NAMES.indexOf('microprice_dev_bps')] = Math.cos(k / 7);
    if (this.mode === 'holes') features.fill(Number.NaN, 0, 20);
    return {
      status: this.mode === 'reanchoring' ? VectorStatus.Reanchoring : VectorStatus.Live,
      version: k,
      eventTimeUs: (this.mode === 'stale' ? now - 60_000 : now) * 1000,
      writtenAtUs: now * 1000,
      bestBid: mid - 0.005,
      bestAsk: mid + 0.005,
      schemaHash: this.mode === 'foreign_schema' ? '0123456789abcdef' : FEATURE_SCHEMA_HASH,
      features,
    };
  }

  start(): this {
    const write = () => void this.redis.set(keys.vector(this.symbol), encodeVector(this.vector()), 'PX', 60_000).catch(() => undefined);
    write();
    this.timer = setInterval(write, this.everyMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export function replica(redisUrl: string, over: Partial<InferenceConfig> = {}): InferenceServer {
  return new InferenceServer(InferenceConfigSchema.parse({ redisUrl, symbols: ['BTCUSDT'], port: 0, host: '127.0.0.1', intervalMs: 200, horizonS: 1, claimTtlMs: 60, logLevel: 'silent', ...over }));
}

export async function streamOf(redis: Redis, symbol: string): Promise<{ id: string; p: Prediction }[]> {
  const rows = await redis.xrange(`pred:{${symbol}}:stream`, '-', '+');
  return rows.map(([id, f]) => ({ id, p: JSON.parse(f[1]!) as Prediction }));
}

/** Tick times must run on the interval grid with no gap and no repeat, each entry's id being its tick. */
export function expectContiguous(entries: { id: string; p: Prediction }[], intervalMs: number): number[] {
  const ticks = entries.map((e) => e.p.tickMs);
  entries.forEach((e) => {
    if (e.id !== `${e.p.tickMs}-0`) throw new Error(`entry ${e.id} holds tick ${e.p.tickMs}`);
  });
  const gaps: number[] = [];
  for (let i = 1; i < ticks.length; i++) if (ticks[i]! - ticks[i - 1]! !== intervalMs) gaps.push(ticks[i - 1]!);
  return gaps;
}

/** A private redis-server for one test file (started before its tests, stopped after) and a client to it. */
export function privateRedis(): { readonly server: RedisServer; readonly redis: Redis } {
  const server = new RedisServer('everysec');
  let client: Redis | undefined;
  beforeAll(async () => {
    await server.start();
    client = new IORedis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    await server.stop();
  });
  return {
    server,
    get redis(): Redis {
      if (client === undefined) throw new Error('privateRedis: used before beforeAll ran');
      return client;
    },
  };
}
