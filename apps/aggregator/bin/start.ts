/** aggregator: AGGREGATOR_* / KINESIS_* / REDIS_URL env; SIGINT/SIGTERM commit and hand leases back within AGGREGATOR_STOP_TIMEOUT_MS. */
import { configOrExit, parseCli } from '@hotpath/config';
import { AGGREGATOR_ENV, aggregatorConfigFromEnv } from '../src/config.ts';

parseCli({
  name: 'aggregator',
  usage: `

Leases the Kinesis stream's shards (a lease table in Redis, shared with its peers), keeps each symbol's
order book and features from the events, and writes the feature vectors to Redis for inference.
Configured by the environment only (defaults: docs/configuration.md); SIGINT/SIGTERM commit and hand the
leases back within AGGREGATOR_STOP_TIMEOUT_MS.`,
  env: AGGREGATOR_ENV,
  examples: ['REDIS_URL=redis://127.0.0.1:6379 KINESIS_ENDPOINT=http://127.0.0.1:4567 AGGREGATOR_SYMBOLS=BTCUSDT pnpm --filter aggregator start'],
});
// a wrong setting: its variable named on stderr, exit code 2
const config = configOrExit(() => aggregatorConfigFromEnv(process.env));
// (loaded after the arguments: --help answers without loading the service)
const { main } = await import('@hotpath/service');
const { Aggregator } = await import('../src/index.ts');
await main(() => {
  const aggregator = new Aggregator(config);
  return { log: aggregator.log, lifecycle: { start: () => aggregator.start(), stop: (ms: number) => aggregator.stop(ms) }, stopTimeoutMs: config.stopTimeoutMs };
});
