/** ingestor: config from INGESTOR_* / KINESIS_* env (see src/config.ts); SIGINT/SIGTERM flush and exit. */
import { ConfigError, Ingestor, loadConfig } from '../src/index.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const ingestor = new Ingestor(config);
await ingestor.start();
const shutdown = async (signal: string): Promise<void> => {
  ingestor.log.info({ signal }, 'stopping: flushing to Kinesis');
  await ingestor.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
