/**
 * The launcher (bin/start.ts turns on the compile cache first) — the whole stack on this machine: Redis, Kinesis (embedded),
 * exchange-sim or live Binance (BINANCE_API_KEY / BINANCE_API_KEY_FILE),
 * ingestor, aggregator, inference with the shipped model. Ctrl-C stops it all.
 */
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Launcher, launcherConfigFromEnv, redactCredentials, RedisUnavailableError } from '../src/index.ts';
import { configOrExit } from '@hotpath/config';
import { RedisConnectionError } from '@hotpath/state';

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
  // (a Redis the operator set that refuses the connection: the message names the setting, never a secret)
  console.error(redactCredentials(err instanceof RedisUnavailableError || err instanceof RedisConnectionError ? err.message : `could not start: ${inspect(err)}`));
  await launcher.stop();
  process.exit(2);
}
