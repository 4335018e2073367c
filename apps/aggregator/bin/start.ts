/** aggregator: AGGREGATOR_* / KINESIS_* / REDIS_URL env; SIGINT/SIGTERM commit and hand leases back. */
import { Aggregator, aggregatorConfigFromEnv } from '../src/index.ts';
import { describeIssues } from '@hotpath/config';

const parsed = aggregatorConfigFromEnv(process.env);
if (!parsed.success) {
  console.error(`invalid aggregator configuration:\n  ${describeIssues(parsed.error)}`);
  process.exit(2);
}
const aggregator = new Aggregator(parsed.data);
await aggregator.start();
const shutdown = async (): Promise<void> => {
  await aggregator.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
