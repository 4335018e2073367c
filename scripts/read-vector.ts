/**
 * pnpm read:vector [SYMBOL] [REDIS_URL] — prints a symbol's feature vector from Redis as named JSON. The Redis
 * settings as the services read them (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_TLS_CA_FILE, REDIS_USERNAME,
 * REDIS_PASSWORD_FILE…); a URL argument stands for REDIS_URL.
 */
import { FEATURE_NAMES } from '@hotpath/features';
import { configOrExit, loadConfig } from '@hotpath/config';
import { z } from 'zod';
import { FeatureStore, REDIS_CONNECTION_ENV, STATUS_NAMES, checkedRedisSettings, connectRedis, redisConnectionFields, type RedisClient } from '@hotpath/state';

const symbol = (process.argv[2] ?? 'BTCUSDT').toUpperCase();
// (the CA and password files read here too: one that cannot be read is a configuration error naming its variable)
const Settings = z.object(redisConnectionFields).transform(checkedRedisSettings);
// a wrong setting: its variable named on stderr, exit code 2 (never the URL: it may hold a password)
const settings = configOrExit(() =>
  loadConfig(
    { name: 'pnpm read:vector', schema: Settings, env: REDIS_CONNECTION_ENV, secrets: ['redisUrl'] },
    { env: process.env, ...(process.argv[3] !== undefined ? { overrides: { redisUrl: process.argv[3] } } : {}) },
  ),
);
let redis: RedisClient | undefined;
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
