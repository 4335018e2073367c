/** aggregator: AGGREGATOR_* / KINESIS_* / REDIS_URL env; SIGINT/SIGTERM commit and hand leases back within AGGREGATOR_STOP_TIMEOUT_MS. */
import { describeIssues, variablesOf } from '@hotpath/config';
import { ConfigurationError, main } from '@hotpath/service';
import { AGGREGATOR_ENV, Aggregator, aggregatorConfigFromEnv } from '../src/index.ts';

await main(() => {
  const parsed = aggregatorConfigFromEnv(process.env);
  if (!parsed.success) throw new ConfigurationError(`invalid aggregator configuration:\n  ${describeIssues(parsed.error, variablesOf(AGGREGATOR_ENV))}`);
  const aggregator = new Aggregator(parsed.data);
  return { log: aggregator.log, lifecycle: { start: () => aggregator.start(), stop: (ms: number) => aggregator.stop(ms) }, stopTimeoutMs: parsed.data.stopTimeoutMs };
});
