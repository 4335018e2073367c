/**
 * The Kinesis stream the ingestor writes (partition key = symbol) and the enhanced fan-out consumer the
 * aggregators read through (SubscribeToShard: records pushed over HTTP/2, ~70 ms instead of a 200 ms poll,
 * and 2 MB/s per shard for this consumer alone). Every aggregator task shares the one consumer: shards
 * are split between them by the leases in Redis, as with polling.
 */
import { Duration } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';
import type { DeployConfig } from './config.ts';

/** The aggregator's AGGREGATOR_FANOUT_CONSUMER_NAME default: the consumer it registers or finds. */
export const FANOUT_CONSUMER_NAME = 'hotpath-aggregator';

export class Streaming extends Construct {
  readonly stream: kinesis.Stream;
  readonly consumer: kinesis.StreamConsumer;

  constructor(scope: Construct, id: string, config: DeployConfig) {
    super(scope, id);
    const provisioned = config.kinesisMode === 'provisioned';
    this.stream = new kinesis.Stream(this, 'MarketEvents', {
      streamName: `${config.prefix}-market-events`,
      streamMode: provisioned ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      ...(provisioned ? { shardCount: config.kinesisShards } : {}),
      retentionPeriod: Duration.hours(config.kinesisRetentionHours),
      // the AWS-managed key (aws/kinesis): encrypted at rest, no key to pay for or grant
      encryption: kinesis.StreamEncryption.MANAGED,
    });
    this.consumer = new kinesis.StreamConsumer(this, 'AggregatorConsumer', { streamConsumerName: FANOUT_CONSUMER_NAME, stream: this.stream });
  }
}
