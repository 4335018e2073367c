/** A KinesisClient for AWS (default credential chain) or an emulator (plain-HTTP endpoint override). */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface KinesisEndpoint {
  region: string;
  /** e.g. http://127.0.0.1:4567 for kinesalite; undefined = AWS. */
  endpoint?: string;
}

export function createKinesisClient(config: KinesisEndpoint): KinesisClient {
  if (config.endpoint === undefined) return new KinesisClient({ region: config.region });
  return new KinesisClient({
    region: config.region,
    endpoint: config.endpoint,
    // Emulators accept any credentials; the SDK still wants some.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // The default HTTP/2 handler cannot talk to plain-HTTP emulators.
    ...(config.endpoint.startsWith('http://') ? { requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10_000 }) } : {}),
    maxAttempts: 1, // the producer owns retries (ordering depends on it)
  });
}
