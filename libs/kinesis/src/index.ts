export { KplAggregator, KplFormatError, KPL_MAGIC, MAX_RECORD_BYTES, deaggregate, type UserRecord } from './kpl.ts';
export { KinesisProducer, DEFAULT_PRODUCER_CONFIG, MAX_USER_RECORD_BYTES, partitionHash, type ProducerConfig, type ProducerMetrics } from './producer.ts';
export { createKinesisClient, type KinesisEndpoint } from './client.ts';
export { readStream, visitStream, type ReadRecord, type ReadStreamOptions } from './reader.ts';
export type { KinesisClient } from '@aws-sdk/client-kinesis';
export { ShardReader, checkpointOf, compareCheckpoints, listShards, type ConsumedRecord, type ShardReaderOptions, type StartPosition } from './consumer.ts';
export { FetchWorker, type ShardSource } from './fetcher.ts';
export { SubscribedShardReader, createSubscribeClient, registerConsumer } from './subscriber.ts';
export {
  ShardCoordinator,
  describeShards,
  systemClock,
  type CoordinatedReaderOptions,
  type CoordinatorClock,
  type HeldShardStatus,
  type Lease,
  type LeaseRecord,
  type LeaseStore,
  type LeasedShard,
  type ShardCoordinatorOptions,
  type ShardDescription,
  type ShardRecordProcessor,
  type ShardState,
  type StopReason,
} from './shard-coordinator.ts';
