/** aggregator: AGGREGATOR_* / KINESIS_* / REDIS_URL env; SIGINT/SIGTERM commit and hand leases back within AGGREGATOR_STOP_TIMEOUT_MS. */
import { configOrExit } from '@hotpath/config';
import { main } from '@hotpath/service';
import { Aggregator, aggregatorConfigFromEnv } from '../src/index.ts';

// a wrong setting: its variable named on stderr, exit code 2
const config = configOrExit(() => aggregatorConfigFromEnv(process.env));
await main(() => {
  const aggregator = new Aggregator(config);
  return { log: aggregator.log, lifecycle: { start: () => aggregator.start(), stop: (ms: number) => aggregator.stop(ms) }, stopTimeoutMs: config.stopTimeoutMs };
});
