/**
 * The reader of one leased shard (polling or fan-out, in the fetch thread or in this one), its malformed records
 * and failed Kinesis calls counted and logged.
 */
import { type CoordinatedReaderOptions, FanoutShardReader, type FetchWorker, type KinesisClient, ShardReader, type ShardReaderOptions, type ShardSource } from '@hotpath/kinesis';
import type { Logger } from '@hotpath/telemetry';
import type { AggregatorConfig } from './config.ts';
import type { AggregatorMetrics } from './metrics.ts';

export interface ShardSourceDeps {
  config: AggregatorConfig;
  kinesis: KinesisClient;
  /** The thread that reads the shards when `fetch` is `worker`. */
  fetcher: FetchWorker | undefined;
  /** The registered stream consumer when `consumer` is `fanout`. */
  consumerArn: string | undefined;
  metrics: AggregatorMetrics;
  log: Logger;
}

/** A reader for a leased shard: polling or fan-out, in the fetch thread or in this one. */
export function createShardSource(coordinated: CoordinatedReaderOptions, deps: ShardSourceDeps): ShardSource {
  const { shardId } = coordinated;
  const { config, metrics: m, log, fetcher, kinesis, consumerArn } = deps;
  const options: ShardReaderOptions = {
    ...coordinated,
    streamName: config.kinesisStream,
    pollMs: config.pollMs,
    limit: config.getRecordsLimit,
    onMalformed: (sequenceNumber, err) => {
      m.recordsBy(err.code).inc();
      log.warn({ shardId, sequenceNumber, err }, 'malformed KPL record skipped');
    },
    onError: (err) => {
      // (names only: an SDK error is a fixed set of names; anything else is 'other', so the label set stays bounded)
      const name = (err as { name?: unknown }).name;
      m.kinesisErrors.inc({ error: typeof name === 'string' && /^[A-Za-z]{1,64}$/.test(name) ? name : 'other' });
      log.warn({ shardId, err }, 'Kinesis call failed: retried with backoff');
    },
  };
  if (fetcher !== undefined) return fetcher.reader(consumerArn === undefined ? options : { ...options, consumerArn });
  return consumerArn === undefined ? new ShardReader(kinesis, options) : new FanoutShardReader(kinesis, { ...options, consumerArn });
}
