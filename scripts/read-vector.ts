/** pnpm read:vector [SYMBOL] [REDIS_URL] — prints a symbol's feature vector from Redis as named JSON. */
import { Redis } from 'ioredis';
import { FEATURE_NAMES } from '@hotpath/features';
import { FeatureStore, STATUS_NAMES } from '@hotpath/state';

const symbol = (process.argv[2] ?? 'BTCUSDT').toUpperCase();
const redis = new Redis(process.argv[3] ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, lazyConnect: true });
try {
  await redis.connect();
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
  // one line for the person at the terminal: ioredis's text (ECONNREFUSED host:port, WRONGPASS, a VectorFormatError) never holds the URL's password
  console.error(`cannot read ${symbol}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
