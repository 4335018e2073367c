export { AggregatedRecordBuilder, KplFormatError, KPL_MAGIC, MAX_RECORD_BYTES, deaggregate, type UserRecord } from './kpl.ts';
export { KinesisProducer, DEFAULT_PRODUCER_CONFIG, MAX_USER_RECORD_BYTES, partitionHash, type ProducerConfig, type ProducerMetrics } from './producer.ts';
export { createKinesisClient, type KinesisEndpoint } from './client.ts';
export { readStream, visitStream, type ReadRecord, type ReadStreamOptions } from './read-stream.ts';
export type { KinesisClient } from '@aws-sdk/client-kinesis';
export { KINESIS_ERROR_CODES, type KinesisErrorCode } from './errors.ts';
export { ShardReader, checkpointOf, compareCheckpoints, listShards, type ConsumedRecord, type ShardReaderOptions, type StartPosition } from './shard-reader.ts';
export { FetchWorker, type ShardSource } from './fetch-worker.ts';
export { FanoutShardReader, createSubscribeClient, registerConsumer } from './fanout-reader.ts';
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
