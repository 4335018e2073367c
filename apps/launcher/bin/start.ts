/**
 * pnpm start — the whole stack on this machine: Redis, Kinesis (embedded),
 * exchange-sim or live Binance (BINANCE_API_KEY / BINANCE_API_KEY_FILE),
 * ingestor, aggregator, inference with the shipped model. Ctrl-C stops it all.
 */
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Launcher, launcherConfigFromEnv, redactCredentials, RedisUnavailableError } from '../src/index.ts';
import { configOrExit } from '@hotpath/config';

// a wrong setting: its variable named on stderr (INFERENCE_PORT, never a key), exit code 2
const config = configOrExit(() => launcherConfigFromEnv(process.env));
const launcher = new Launcher(config, fileURLToPath(new URL('../../..', import.meta.url)));
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
