/**
 * CloudWatch alarms for what the services' own metrics cannot say: a task that is not running has no
 * /metrics (its series just end), Kinesis' and ElastiCache's own limits are theirs to report, and the ALB
 * is the viewer's side. The services' behaviour (latency, staleness, fallbacks, gaps…) is alerted on in
 * AMP by prometheus/rules. The redis_exporter alerts of those rules (RedisDown, RedisMemory*) have no
 * series on AWS: the ElastiCache alarms here stand in for them, at the same thresholds.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { Cache } from './cache.ts';
import type { DeployConfig } from './config.ts';
import type { Severity } from './observability.ts';
import { ingestorName, type Services } from './services.ts';
import type { Streaming } from './streaming.ts';

export interface AlarmsProps {
  config: DeployConfig;
  services: Services;
  streaming: Streaming;
  cache: Cache;
  topics: Record<Severity, sns.ITopic>;
}

/** ElastiCache's node ids in cluster mode: `<group>-<shard, 4 digits>-<node, 3 digits>`. */
export function cacheNodeIds(replicationGroupId: string, shards: number, replicasPerShard: number): string[] {
  const ids: string[] = [];
  for (let shard = 1; shard <= shards; shard++) {
    for (let node = 1; node <= replicasPerShard + 1; node++) ids.push(`${replicationGroupId}-${String(shard).padStart(4, '0')}-${String(node).padStart(3, '0')}`);
  }
  return ids;
}

export class Alarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const { config, services, streaming, cache, topics } = props;

    const alarm = (name: string, severity: Severity, description: string, options: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription'>) => {
      const a = new cloudwatch.Alarm(this, name, { ...options, alarmName: `${config.prefix}-${name}`, alarmDescription: `[${severity}] ${description}` });
      a.addAlarmAction(new actions.SnsAction(topics[severity]));
      a.addOkAction(new actions.SnsAction(topics[severity]));
      this.alarms.push(a);
      return a;
    };

    // the SampleCount of a service's CPUUtilization is its number of running tasks (one sample per task a minute)
    const running = (service: ecs.FargateService, name: string, minimum: number) => {
      alarm(`${name}-tasks-below-minimum`, 'critical', `fewer than ${minimum} running task(s) of ${name} for 3 minutes`, {
        metric: service.metricCpuUtilization({ statistic: 'SampleCount', period: Duration.minutes(1) }),
        threshold: minimum,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        // no sample at all is no task at all
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    };
    services.ingestors.forEach((ingestor, i) => {
      running(ingestor, ingestorName(config.symbolGroups[i]!), 1);
    });
    running(services.aggregator, 'aggregator', 1);
    running(services.inference, 'inference', 1);

    const stream = streaming.stream;
    alarm('kinesis-no-incoming-records', 'critical', `nothing was written to ${stream.streamName} for 5 minutes: no ingestor is publishing`, {
      metric: stream.metricIncomingRecords({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm('kinesis-write-throttled', 'warning', `writes to ${stream.streamName} were throttled (shard limits: 1 MB/s or 1000 records/s each)`, {
      metric: stream.metricPutRecordsThrottledRecords({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('kinesis-consumer-behind', 'warning', 'the aggregators\u2019 fan-out consumer is more than 10 s behind the stream (cf. KinesisLagHigh)', {
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Kinesis',
        metricName: 'SubscribeToShardEvent.MillisBehindLatest',
        dimensionsMap: { StreamName: stream.streamName, ConsumerName: streaming.consumer.streamConsumerName },
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: 10_000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });

    const group = cache.replicationGroup.replicationGroupId!;
    for (const node of cacheNodeIds(group, config.redisShards, config.redisReplicasPerShard)) {
      const short = `redis-${node.slice(group.length + 1)}`;
      const metric = (metricName: string, statistic: string) =>
        new cloudwatch.Metric({ namespace: 'AWS/ElastiCache', metricName, dimensionsMap: { CacheClusterId: node }, statistic, period: Duration.minutes(1) });
      alarm(`${short}-memory-critical`, 'critical', `Redis node ${node} above 95 % of its memory (cf. RedisMemoryCritical)`, {
        metric: metric('DatabaseMemoryUsagePercentage', 'Maximum'),
        threshold: 95,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
      });
      alarm(`${short}-memory-high`, 'warning', `Redis node ${node} above 85 % of its memory (cf. RedisMemoryHigh)`, {
        metric: metric('DatabaseMemoryUsagePercentage', 'Maximum'),
        threshold: 85,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
      });
      alarm(`${short}-engine-cpu-high`, 'warning', `Redis node ${node}'s engine thread above 80 % for 5 minutes: commands queue, latency grows`, {
        metric: metric('EngineCPUUtilization', 'Average'),
        threshold: 80,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
      });
    }

    alarm('alb-no-healthy-inference', 'critical', 'no inference replica passes the ALB health check: the API and page are down', {
      metric: services.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm('alb-5xx', 'warning', 'the ALB answered more than 10 errors of its own (5xx) in 5 minutes', {
      metric: services.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 10,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
