/** ingestor: config from INGESTOR_* / KINESIS_* env (see src/config.ts); SIGINT/SIGTERM flush within INGESTOR_STOP_TIMEOUT_MS and exit. */
import { ConfigurationError, main } from '@hotpath/service';
import { ConfigError, Ingestor, loadConfig } from '../src/index.ts';

await main(() => {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigurationError(err.message);
    throw err;
  }
  const ingestor = new Ingestor(config);
  // the ingestor's own stop splits the deadline between REST work and the Kinesis flush
  return { log: ingestor.log, lifecycle: { start: () => ingestor.start(), stop: (ms: number) => ingestor.stop(ms) }, stopTimeoutMs: config.stopTimeoutMs };
});
