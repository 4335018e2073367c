/** aggregator: AGGREGATOR_* / KINESIS_* / REDIS_URL env; SIGINT/SIGTERM commit and hand leases back. */
import { Aggregator, AggregatorConfigSchema } from '../src/index.ts';

const env = process.env;
const parsed = AggregatorConfigSchema.safeParse({
  redisUrl: env['REDIS_URL'],
  symbols: env['AGGREGATOR_SYMBOLS'] ?? 'BTCUSDT',
  kinesisStream: env['KINESIS_STREAM'],
  kinesisRegion: env['KINESIS_REGION'],
  kinesisEndpoint: env['KINESIS_ENDPOINT'],
  owner: env['AGGREGATOR_ID'],
  leaseTtlMs: env['AGGREGATOR_LEASE_TTL_MS'],
  pollMs: env['AGGREGATOR_POLL_MS'],
  getRecordsLimit: env['AGGREGATOR_GET_RECORDS_LIMIT'],
  stateCommitMs: env['AGGREGATOR_STATE_COMMIT_MS'],
  vectorTtlMs: env['AGGREGATOR_VECTOR_TTL_MS'],
  host: env['AGGREGATOR_HOST'],
  port: env['AGGREGATOR_PORT'],
  logLevel: env['LOG_LEVEL'],
});
if (!parsed.success) {
  console.error(`invalid aggregator configuration:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`);
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
