/** The aggregator's configuration, validated at start (zod). */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { loadConfig, symbolList, type ConfigSpec } from '@hotpath/config';
import { REDIS_CONNECTION_ENV, checkedRedisSettings, redisConnectionFields } from '@hotpath/state';

export const AggregatorConfigSchema = z
  .object({
    /** Which Redis (one server or a Cluster), TLS, ACL user, password file: libs/state's connection settings (REDIS_URL, REDIS_CLUSTER_NODES…). */
    ...redisConnectionFields,
    symbols: symbolList,
    kinesisStream: z.string().default('market-events'),
    kinesisRegion: z.string().default('us-east-1'),
    kinesisEndpoint: z.string().url().optional(),
    owner: z.string().default(() => `aggregator-${randomUUID().slice(0, 8)}`),
    leaseTtlMs: z.coerce.number().int().positive().default(10_000),
    /** At most one GetRecords per shard this often, caught up or not (AWS: 5 calls/s per shard, shared by every polling consumer). */
    pollMs: z.coerce.number().int().positive().default(200),
    /**
     * Where GetRecords and its parsing run: `worker` (one thread for all shards,
     * keeps the writes' event loop free) or `inline` (in the aggregator's thread).
     */
    fetch: z.enum(['worker', 'inline']).default('worker'),
    /**
     * `polling` (GetRecords every pollMs; AWS allows 5 calls/s per shard, shared by every consumer) or
     * `fanout`: enhanced fan-out, SubscribeToShard pushes records over HTTP/2 (~70 ms on AWS, 2 MB/s per
     * shard for this consumer alone; billed per consumer-shard hour). Same leases and checkpoints.
     */
    consumer: z.enum(['polling', 'fanout']).default('polling'),
    /** The registered stream consumer's name (fanout): every instance of one aggregator shares it. */
    fanoutConsumerName: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{1,128}$/)
      .default('hotpath-aggregator'),
    /**
     * Where a shard with no committed state is read from: `TRIM_HORIZON` (the whole retention: the
     * ingestor's last Connected event and snapshot are in it, so books anchor at once) or `LATEST`
     * (only new records: each symbol stays stale until the next snapshot the ingestor sends, at a
     * gap or reconnect). Ignored once a checkpoint exists.
     */
    initialPosition: z.enum(['TRIM_HORIZON', 'LATEST']).default('TRIM_HORIZON'),
    /** Kinesis records per GetRecords call (AWS allows up to 10,000). */
    getRecordsLimit: z.coerce.number().int().min(1).max(10_000).default(10_000),
    /** How often a symbol's recoverable state (book + windows, ~100 kB) is committed with its checkpoint; bounds the replay after a crash. */
    stateCommitMs: z.coerce.number().int().positive().default(1_000),
    vectorTtlMs: z.coerce.number().int().positive().default(60_000),
    port: z.coerce.number().int().min(0).max(65535).default(9091),
    /** Address for /health and /metrics: loopback unless told (compose sets 0.0.0.0 inside its network). */
    host: z.string().min(1).default('127.0.0.1'),
    /** Graceful stop: leases handed back with their last commit within this, else left to expire (the next owner replays from the checkpoint). */
    stopTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** /health is not ok when records kept arriving for this long and none was applied (or every write failed). */
    stallAfterMs: z.coerce.number().int().min(100).default(10_000),
    /** Every Redis command gives up after this: no wait on a dead Redis is unbounded. */
    redisCommandTimeoutMs: z.coerce.number().int().min(50).max(60_000).default(2_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  // the connection settings as the factory takes them, its files checked: an unreadable one is a ConfigError naming the variable
  .transform((c, ctx) => ({ ...c, redis: checkedRedisSettings(c, ctx) }));
export type AggregatorConfig = z.infer<typeof AggregatorConfigSchema>;

/** Environment variable → setting (the compose test checks deploy files against it). */
export const AGGREGATOR_ENV: Record<string, keyof AggregatorConfig> = {
  ...REDIS_CONNECTION_ENV,
  AGGREGATOR_SYMBOLS: 'symbols',
  KINESIS_STREAM: 'kinesisStream',
  KINESIS_REGION: 'kinesisRegion',
  KINESIS_ENDPOINT: 'kinesisEndpoint',
  AGGREGATOR_ID: 'owner',
  AGGREGATOR_LEASE_TTL_MS: 'leaseTtlMs',
  AGGREGATOR_POLL_MS: 'pollMs',
  AGGREGATOR_GET_RECORDS_LIMIT: 'getRecordsLimit',
  AGGREGATOR_FETCH: 'fetch',
  AGGREGATOR_INITIAL_POSITION: 'initialPosition',
  AGGREGATOR_CONSUMER: 'consumer',
  AGGREGATOR_FANOUT_CONSUMER_NAME: 'fanoutConsumerName',
  AGGREGATOR_STATE_COMMIT_MS: 'stateCommitMs',
  AGGREGATOR_VECTOR_TTL_MS: 'vectorTtlMs',
  AGGREGATOR_HOST: 'host',
  AGGREGATOR_PORT: 'port',
  AGGREGATOR_STOP_TIMEOUT_MS: 'stopTimeoutMs',
  AGGREGATOR_STALL_AFTER_MS: 'stallAfterMs',
  AGGREGATOR_REDIS_COMMAND_TIMEOUT_MS: 'redisCommandTimeoutMs',
  LOG_LEVEL: 'logLevel',
};

const AGGREGATOR_CONFIG: ConfigSpec<typeof AggregatorConfigSchema> = { name: 'aggregator', schema: AggregatorConfigSchema, env: AGGREGATOR_ENV, secrets: ['redisUrl'] };

/** The configuration from `env` (+ `overrides`, set in code); throws ConfigError naming each wrong variable. */
export function aggregatorConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof AggregatorConfig, unknown>> = {}): AggregatorConfig {
  return loadConfig(AGGREGATOR_CONFIG, { env, overrides });
}
