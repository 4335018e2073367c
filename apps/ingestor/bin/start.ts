/** ingestor: config from INGESTOR_* / KINESIS_* env (see src/config.ts); SIGINT/SIGTERM flush within INGESTOR_STOP_TIMEOUT_MS and exit. */
import { configOrExit } from '@hotpath/config';
import { main } from '@hotpath/service';
import { Ingestor, ingestorConfigFromEnv } from '../src/index.ts';

// a wrong setting: its variable named on stderr, exit code 2
const config = configOrExit(() => ingestorConfigFromEnv(process.env));
await main(() => {
  const ingestor = new Ingestor(config);
  // the ingestor's own stop splits the deadline between REST work and the Kinesis flush
  return { log: ingestor.log, lifecycle: { start: () => ingestor.start(), stop: (ms: number) => ingestor.stop(ms) }, stopTimeoutMs: config.stopTimeoutMs };
});
