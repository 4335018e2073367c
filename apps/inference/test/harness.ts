/** Test harness: a feature-vector feeder (what the aggregator would write) and replicas on a private redis-server. */
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec } from '@hotpath/model';
import { encodeVector, keys, VectorStatus, type FeatureVectorRecord, type RedisClient } from '@hotpath/state';
import { Redis as IORedis, type Redis } from 'ioredis';
import type { z } from 'zod';
import { afterAll, beforeAll } from 'vitest';
import { RedisServer } from '@hotpath/state/testing';
import { InferenceConfigSchema, InferenceServer, type InferenceConfig, type Prediction } from '../src/index.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the feeder writes in every feature but the microprice deviation. */
const LIVE_FEATURE_VALUE = 0.1;

/** Writes a fresh vector every `everyMs`; the mid walks deterministically; `mode` changes what is written. */
export class Feeder {
  mode: 'live' | 'reanchoring' | 'stale' | 'foreign_schema' | 'holes' = 'live';
  private timer: NodeJS.Timeout | undefined;
  private version = 0;

  constructor(
    private readonly redis: RedisClient,
    readonly symbol: string,
    private readonly everyMs = 50,
  ) {}

  /** The version of the last vector made: every vector after it (a prediction's `featureVersion` above it) is in the current mode. */
  get lastVersion(): number {
    return this.version;
  }

  vector(now = Date.now()): FeatureVectorRecord {
    const k = ++this.version;
    const mid = 60_000 + 20 * Math.sin(k / 7);
    const features = new Float64Array(FEATURE_COUNT).fill(LIVE_FEATURE_VALUE);
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

/**
 * A replica on a 200 ms interval with a 1 s horizon. Its Redis command timeout is generous: on a busy
 * machine a healthy redis-server may answer later than production's 250 ms, and a timed-out claim or
 * history read would be a fault the test did not make (tests of a sick Redis stop or kill it).
 */
export function replica(redisUrl: string, over: Partial<z.input<typeof InferenceConfigSchema>> = {}): InferenceServer {
  return new InferenceServer(replicaConfig(redisUrl, over));
}

/** A test replica's config: 200 ms ticks, a 1 s horizon, quiet. */
export function replicaConfig(redisUrl: string, over: Partial<z.input<typeof InferenceConfigSchema>> = {}): InferenceConfig {
  return InferenceConfigSchema.parse({ redisUrl, symbols: ['BTCUSDT'], port: 0, host: '127.0.0.1', intervalMs: 200, horizonS: 1, claimTtlMs: 60, redisTimeoutMs: 5_000, logLevel: 'silent', ...over });
}

export async function streamOf(redis: RedisClient, symbol: string): Promise<{ id: string; p: Prediction }[]> {
  const rows = await redis.xrange(`pred:{${symbol}}:stream`, '-', '+');
  return rows.map(([id, f]) => ({ id, p: JSON.parse(f[1]!) as Prediction }));
}

/**
 * The tick ids missing from a prediction stream between its first and last entry. Throws when an
 * entry is off the interval grid, repeats a tick, or its stream id is not its tick's.
 */
export function missingTicks(entries: { id: string; p: Prediction }[], intervalMs: number): number[] {
  const missing: number[] = [];
  entries.forEach((e, i) => {
    if (e.id !== `${e.p.tickMs}-0`) throw new Error(`entry ${e.id} holds tick ${e.p.tickMs}`);
    if (e.p.tickMs % intervalMs !== 0) throw new Error(`tick ${e.p.tickMs} is off the ${intervalMs} ms grid`);
    const prev = entries[i - 1]?.p.tickMs;
    if (prev !== undefined && e.p.tickMs <= prev) throw new Error(`tick ${e.p.tickMs} follows ${prev}`);
    if (prev !== undefined) for (let t = prev + intervalMs; t < e.p.tickMs; t += intervalMs) missing.push(t);
  });
  return missing;
}

/** The sum of a metric's series whose line starts with `name` (a name and the leading labels) in a Prometheus exposition. */
export function metricIn(exposition: string, name: string): number {
  return exposition
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

/** The same, scraped from a replica's /metrics. */
export async function metric(port: number, name: string): Promise<number> {
  return metricIn(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), name);
}

/**
 * A model that passes every load check (its golden input runs and matches) but fails at run time on
 * the feeder's vectors: its return head is relu(10 − 11·x) · 3e38 on one feature, 0 for the golden
 * input (x = 1) and a float32 overflow to Infinity for the feeder's x = 0.1, which the runtime
 * refuses as a non-finite output.
 */
export function modelFailingOnFeederVectors(name: string): Uint8Array {
  const spec = exampleModelSpec();
  const trigger = FEATURE_NAMES.findIndex((f) => f !== 'microprice_dev_bps');
  const weights = FEATURE_NAMES.map((_f, i) => [i === trigger ? -11 : 0]);
  return buildModel({
    ...spec,
    metadata: { ...spec.metadata, name, version: '1' },
    goldenInput: new Array<number>(FEATURE_COUNT).fill(1),
    returnHead: [
      { weights, bias: [10], activation: 'relu' },
      { weights: [[3e38]], bias: [0], activation: 'linear' },
    ],
  });
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
