/**
 * pnpm leases [STREAM] — prints the stream's shard lease table from Redis: leaseKey, leaseOwner, leaseCounter,
 * expires in, checkpoint (apps/aggregator/src/lease-table.ts). REDIS_URL and REDIS_PASSWORD_FILE as the
 * aggregator reads them; the stream from the argument, else KINESIS_STREAM, else market-events.
 */
import { Redis } from 'ioredis';
import { z } from 'zod';
import { configOrExit, loadConfig, urlWithPasswordFile } from '@hotpath/config';
import { formatLeaseTable, leaseTable } from 'aggregator';

const ENV = { REDIS_URL: 'redisUrl', REDIS_PASSWORD_FILE: 'redisPasswordFile', KINESIS_STREAM: 'stream' } as const;
const Settings = z
  .object({
    redisUrl: z.string().default('redis://127.0.0.1:6379'),
    redisPasswordFile: z.string().min(1).optional(),
    stream: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'a Kinesis stream name')
      .default('market-events'),
  })
  // (the password joins the URL here; messages never show either)
  .transform((c, ctx) => ({
    stream: c.stream,
    redisUrl: urlWithPasswordFile(
      ctx,
      { setting: 'redisUrl', variable: 'REDIS_URL', value: c.redisUrl },
      { setting: 'redisPasswordFile', variable: 'REDIS_PASSWORD_FILE', value: c.redisPasswordFile },
    ),
  }));

// a wrong setting: its variable named on stderr, exit code 2 (the argument is the stream, named as such)
const { redisUrl, stream } = configOrExit(() =>
  loadConfig({ name: 'pnpm leases', schema: Settings, env: ENV, secrets: ['redisUrl'] }, { env: process.env, ...(process.argv[2] !== undefined ? { overrides: { stream: process.argv[2] } } : {}) }),
);
// one attempt: a Redis that does not answer is reported, not waited for
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
let connectionError: unknown;
redis.on('error', (err) => (connectionError = err));
try {
  await redis.connect();
  const rows = await leaseTable(redis, stream);
  console.log(rows.length === 0 ? `no leases, checkpoints or finished shards for stream ${stream} (has an aggregator run against it?)` : formatLeaseTable(rows));
} catch (err) {
  console.error(`cannot read the lease table of ${stream}:`, connectionError ?? err);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
