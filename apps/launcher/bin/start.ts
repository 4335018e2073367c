/**
 * pnpm start — the whole stack on this machine: Redis, Kinesis (embedded),
 * exchange-sim or live Binance (BINANCE_API_KEY / BINANCE_API_KEY_FILE),
 * ingestor, aggregator, inference with the shipped model. Ctrl-C stops it all.
 */
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Launcher, launcherConfigFromEnv, redactCredentials, RedisUnavailableError } from '../src/index.ts';
import { describeIssues } from '@hotpath/config';

const parsed = launcherConfigFromEnv(process.env);
if (!parsed.success) {
  console.error(`invalid configuration:\n  ${describeIssues(parsed.error)}`);
  process.exit(2);
}
const launcher = new Launcher(parsed.data, fileURLToPath(new URL('../../..', import.meta.url)));
let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await launcher.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
try {
  await launcher.start();
} catch (err) {
  console.error(redactCredentials(err instanceof RedisUnavailableError ? err.message : `could not start: ${inspect(err)}`));
  await launcher.stop();
  process.exit(2);
}
