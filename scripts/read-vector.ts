/**
 * pnpm read:vector [SYMBOL] [REDIS_URL] — prints a symbol's feature vector from Redis as named JSON. The Redis
 * settings as the services read them (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_TLS_CA_FILE, REDIS_USERNAME,
 * REDIS_PASSWORD_FILE…); --redis-url (or the URL argument) stands for REDIS_URL; with none of them set, the Redis
 * of the `pnpm start` running from this checkout (.hotpath/state.json).
 */
import { configOrExit, loadConfig, parseCli } from '@hotpath/config';
import { z } from 'zod';
import { REDIS_USAGE_ENV, stackEndpoints } from './stack-endpoints.ts';

const NAME = 'pnpm read:vector';
const { values, positionals } = parseCli({
  name: NAME,
  usage: `[options] [SYMBOL] [REDIS_URL]

Prints SYMBOL's feature vector (default BTCUSDT) from Redis as named JSON: status, version, event time,
schema hash, best bid/ask and each feature by name. Exit 1 when there is none (is the aggregator running?).
Redis: --redis-url (or the REDIS_URL argument), else the Redis variables, else the Redis of the
\`pnpm start\` running from this checkout (.hotpath/state.json, said on stderr), else redis://127.0.0.1:6379.`,
  options: { 'redis-url': { type: 'string', value: '<URL>', description: 'the Redis to read (stands for REDIS_URL)' } },
  maxPositionals: 2,
  env: REDIS_USAGE_ENV,
  examples: ['pnpm read:vector ETHUSDT', 'pnpm read:vector BTCUSDT --redis-url redis://127.0.0.1:6380'],
});
const symbol = (positionals[0] ?? 'BTCUSDT').toUpperCase();
const { redisUrl } = stackEndpoints(NAME, { redisUrl: values['redis-url'] ?? positionals[1] });

// (loaded after the arguments: --help answers without loading the Redis client)
const { FEATURE_NAMES } = await import('@hotpath/features');
const { FeatureStore, REDIS_CONNECTION_ENV, STATUS_NAMES, checkedRedisSettings, connectRedis, redisConnectionFields } = await import('@hotpath/state');
// (the CA and password files read here too: one that cannot be read is a configuration error naming its variable)
const Settings = z.object(redisConnectionFields).transform(checkedRedisSettings);
// a wrong setting: its variable named on stderr, exit code 2 (never the URL: it may hold a password)
const settings = configOrExit(() =>
  loadConfig({ name: NAME, schema: Settings, env: REDIS_CONNECTION_ENV, secrets: ['redisUrl'] }, { env: process.env, ...(redisUrl !== undefined ? { overrides: { redisUrl } } : {}) }),
);
let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
try {
  redis = await connectRedis(settings, { name: 'read-vector', maxRetriesPerRequest: 1, commandTimeout: 5_000, readyTimeoutMs: 5_000 });
  const v = await new FeatureStore(redis).readVector(symbol);
  if (v === undefined) {
    console.error(`no feature vector for ${symbol} (is the aggregator running?)`);
    process.exitCode = 1;
  } else {
    const features = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, v.features[i]]));
    console.log(
      JSON.stringify(
        {
          symbol,
          status: STATUS_NAMES[v.status],
          version: v.version,
          eventTime: new Date(v.eventTimeUs / 1000).toISOString(),
          schemaHash: v.schemaHash,
          bestBid: v.bestBid,
          bestAsk: v.bestAsk,
          features,
        },
        null,
        2,
      ),
    );
  }
} catch (err) {
  // one line for the person at the terminal: a RedisConnectionError names the setting to fix and never holds a secret; a command's error (a VectorFormatError, NOPERM) never holds the password
  console.error(`cannot read ${symbol}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  redis?.disconnect();
}
