/** A KinesisClient for AWS (default credential chain) or an emulator (plain-HTTP endpoint override). */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface KinesisEndpoint {
  region: string;
  /** e.g. http://127.0.0.1:4567 for kinesalite; undefined = AWS. */
  endpoint?: string;
}

export function createKinesisClient(config: KinesisEndpoint): KinesisClient {
  // every call has a deadline (the SDK sets none by default): a hung connection must not hang a reader or the producer.
  // requestTimeout alone only logs a warning when it passes (smithy 4.x): throwOnRequestTimeout makes it end the call.
  const requestHandler = new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10_000, throwOnRequestTimeout: true });
  if (config.endpoint === undefined) return new KinesisClient({ region: config.region, requestHandler, maxAttempts: 1 });
  // Only a plain-HTTP endpoint is an emulator (AWS speaks TLS only): it gets placeholder credentials, which
  // emulators accept. An HTTPS endpoint (a VPC endpoint, a FIPS or proxy URL) keeps the default credential chain.
  const emulator = config.endpoint.startsWith('http://');
  return new KinesisClient({
    region: config.region,
    endpoint: config.endpoint,
    requestHandler,
    ...(emulator ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: 1, // the producer owns retries (ordering depends on it)
  });
}
