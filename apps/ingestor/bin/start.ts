/** ingestor: config from INGESTOR_* / KINESIS_* env (see src/config.ts); SIGINT/SIGTERM flush within INGESTOR_STOP_TIMEOUT_MS and exit. */
import { configOrExit, parseCli } from '@hotpath/config';
import { INGESTOR_ENV, ingestorConfigFromEnv } from '../src/config.ts';

parseCli({
  name: 'ingestor',
  usage: `

Reads Binance spot market data (SBE over WebSocket, REST depth snapshots) from the exchange or exchange-sim
and puts every event, as it came, on the Kinesis stream. Configured by the environment only (defaults:
docs/configuration.md); SIGINT/SIGTERM flush within INGESTOR_STOP_TIMEOUT_MS and exit.`,
  env: INGESTOR_ENV,
  examples: [
    'INGESTOR_STREAM_URL=ws://127.0.0.1:9443 INGESTOR_REST_URL=http://127.0.0.1:9443 INGESTOR_SYMBOLS=BTCUSDT INGESTOR_API_KEY=mykey KINESIS_ENDPOINT=http://127.0.0.1:4567 pnpm --filter ingestor start',
  ],
});
// a wrong setting: its variable named on stderr, exit code 2
const config = configOrExit(() => ingestorConfigFromEnv(process.env));
// (loaded after the arguments: --help answers without loading the service)
const { main } = await import('@hotpath/service');
const { Ingestor } = await import('../src/index.ts');
await main(() => {
  const ingestor = new Ingestor(config);
  // the ingestor's own stop splits the deadline between REST work and the Kinesis flush
  return { log: ingestor.log, lifecycle: { start: () => ingestor.start(), stop: (ms: number) => ingestor.stop(ms) }, stopTimeoutMs: config.stopTimeoutMs };
});
