/**
 * pnpm leases [STREAM] — prints the stream's shard lease table from Redis: leaseKey, leaseOwner, leaseCounter,
 * expires in, checkpoint (apps/aggregator/src/lease-table.ts). The Redis settings as the aggregator reads them
 * (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_TLS_CA_FILE, REDIS_USERNAME, REDIS_PASSWORD_FILE…); the stream from the
 * argument, else KINESIS_STREAM, else market-events.
 */
import { z } from 'zod';
import { configOrExit, loadConfig } from '@hotpath/config';
import { REDIS_CONNECTION_ENV, RedisConnectionError, checkedRedisSettings, connectRedis, redisConnectionFields } from '@hotpath/state';
import { formatLeaseTable, leaseTable } from 'aggregator';

const ENV = { ...REDIS_CONNECTION_ENV, KINESIS_STREAM: 'stream' } as const;
const Settings = z
  .object({
    ...redisConnectionFields,
    stream: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'a Kinesis stream name')
      .default('market-events'),
  })
  .transform((c, ctx) => ({ stream: c.stream, redis: checkedRedisSettings(c, ctx) }));

// a wrong setting: its variable named on stderr, exit code 2 (the argument is the stream, named as such)
const { redis: settings, stream } = configOrExit(() =>
  loadConfig({ name: 'pnpm leases', schema: Settings, env: ENV, secrets: ['redisUrl'] }, { env: process.env, ...(process.argv[2] !== undefined ? { overrides: { stream: process.argv[2] } } : {}) }),
);
try {
  // a Redis that does not answer is reported within the deadline, not waited for
  const redis = await connectRedis(settings, { name: 'pnpm-leases', maxRetriesPerRequest: 1, commandTimeout: 5_000, readyTimeoutMs: 5_000 });
  try {
    const rows = await leaseTable(redis, stream);
    console.log(rows.length === 0 ? `no leases, checkpoints or finished shards for stream ${stream} (has an aggregator run against it?)` : formatLeaseTable(rows));
  } finally {
    redis.disconnect();
  }
} catch (err) {
  // a RedisConnectionError's message names the setting to fix and holds no secret; anything else is shown whole
  console.error(`cannot read the lease table of ${stream}:`, err instanceof RedisConnectionError ? err.message : err);
  process.exitCode = 1;
}
