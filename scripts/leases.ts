/**
 * pnpm leases [STREAM] — prints the stream's shard lease table from Redis: leaseKey, leaseOwner, leaseCounter,
 * expires in, checkpoint (apps/aggregator/src/lease-table.ts). The Redis settings as the aggregator reads them
 * (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_TLS_CA_FILE, REDIS_USERNAME, REDIS_PASSWORD_FILE…); the stream from
 * --stream or the argument, else KINESIS_STREAM, else market-events. What neither a flag nor a variable sets
 * comes from the `pnpm start` running from this checkout (.hotpath/state.json), when one is.
 */
import { z } from 'zod';
import { configOrExit, loadConfig, parseCli } from '@hotpath/config';
import { REDIS_USAGE_ENV, stackEndpoints } from './stack-endpoints.ts';

const NAME = 'pnpm leases';
const { values, positionals } = parseCli({
  name: NAME,
  usage: `[options] [STREAM]

Prints the Kinesis stream's shard lease table as the aggregators keep it in Redis: leaseKey, leaseOwner,
leaseCounter, expires in, checkpoint, and the shards finished (SHARD_END).
Redis: --redis-url, else the Redis variables, else the Redis of the \`pnpm start\` running from this
checkout (.hotpath/state.json, said on stderr), else redis://127.0.0.1:6379. The stream: --stream or
STREAM, else KINESIS_STREAM, else that \`pnpm start\`'s, else market-events.`,
  options: {
    'redis-url': { type: 'string', value: '<URL>', description: 'the Redis to read (stands for REDIS_URL)' },
    stream: { type: 'string', value: '<NAME>', description: 'the Kinesis stream whose leases to show (stands for KINESIS_STREAM)' },
  },
  maxPositionals: 1,
  env: { ...REDIS_USAGE_ENV, KINESIS_STREAM: 'the stream (default market-events)' },
  examples: ['pnpm leases', 'pnpm leases --stream market-events --redis-url redis://127.0.0.1:6380'],
});
const { redisUrl, stream } = stackEndpoints(NAME, { redisUrl: values['redis-url'], stream: values.stream ?? positionals[0] });

// (loaded after the arguments: --help answers without loading the Redis client)
const { REDIS_CONNECTION_ENV, RedisConnectionError, checkedRedisSettings, connectRedis, redisConnectionFields } = await import('@hotpath/state');
const { formatLeaseTable, leaseTable } = await import('aggregator');
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

// a wrong setting: its variable named on stderr, exit code 2 (a flag or the argument named as the setting it gives)
const overrides = { ...(redisUrl !== undefined ? { redisUrl } : {}), ...(stream !== undefined ? { stream } : {}) };
const settings = configOrExit(() => loadConfig({ name: NAME, schema: Settings, env: ENV, secrets: ['redisUrl'] }, { env: process.env, overrides }));
try {
  // a Redis that does not answer is reported within the deadline, not waited for
  const redis = await connectRedis(settings.redis, { name: 'pnpm-leases', maxRetriesPerRequest: 1, commandTimeout: 5_000, readyTimeoutMs: 5_000 });
  try {
    const rows = await leaseTable(redis, settings.stream);
    console.log(rows.length === 0 ? `no leases, checkpoints or finished shards for stream ${settings.stream} (has an aggregator run against it?)` : formatLeaseTable(rows));
  } finally {
    redis.disconnect();
  }
} catch (err) {
  // a RedisConnectionError's message names the setting to fix and holds no secret; anything else is shown whole
  console.error(`cannot read the lease table of ${settings.stream}:`, err instanceof RedisConnectionError ? err.message : err);
  process.exitCode = 1;
}
