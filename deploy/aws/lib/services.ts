/**
 * The ECS Fargate cluster and the three services, each in private subnets without a public IP:
 *
 * - ingestor: one service per symbol group, one task each, never two at once (a deployment stops the old
 *   task before it starts the new one: min 0 %, max 100 %). The new task takes over from the stream
 *   (INGESTOR_RESUME_LOOKBACK_SECONDS) — two live ingestors would publish every event twice.
 * - aggregator: N tasks sharing the shards by leases in Redis; scales on how far the fan-out consumer is
 *   behind the stream's tip (Kinesis' SubscribeToShardEvent.MillisBehindLatest).
 * - inference: N replicas (one prediction per tick, agreed in Redis) behind the ALB; scales on CPU.
 *
 * Task roles, least privilege: only the ingestor may put records; the aggregator reads and subscribes;
 * inference calls no AWS API but AMP's remote write (which every collector sidecar needs).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { Cache } from './cache.ts';
import type { DeployConfig } from './config.ts';
import { type Network, PORTS } from './network.ts';
import { SECRETS_DIR, ServiceTask } from './task.ts';
import type { Streaming } from './streaming.ts';

/** The model the image ships (models/btcusdt-10s); another is set through the Redis pointer (docs/inference.md). */
const MODEL_PATH = '/app/models/btcusdt-10s/model.onnx';

export interface ServicesProps {
  config: DeployConfig;
  network: Network;
  streaming: Streaming;
  cache: Cache;
  repository: ecr.IRepository;
  binanceApiKey: secretsmanager.ISecret;
  remoteWriteUrl: string;
  workspaceArn: string;
  logRetention: logs.RetentionDays;
}

/** The ingestor service of one symbol group is named after its first symbol (symbols are in one group only). */
export const ingestorName = (group: readonly string[]): string => `ingestor-${group[0]!.toLowerCase()}`;

export class Services extends Construct {
  readonly cluster: ecs.Cluster;
  readonly ingestors: ecs.FargateService[] = [];
  readonly aggregator: ecs.FargateService;
  readonly inference: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: ServicesProps) {
    super(scope, id);
    const { config, network, streaming, cache } = props;
    const region = Stack.of(this).region;
    const namespace = `${config.prefix}.internal`;

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: config.prefix,
      vpc: network.vpc,
      containerInsightsV2: config.containerInsights ? ecs.ContainerInsights.ENABLED : ecs.ContainerInsights.DISABLED,
      // private DNS for the status page's /health calls (INFERENCE_STATUS_PEERS)
      defaultCloudMapNamespace: { name: namespace, vpc: network.vpc, useForServiceConnect: false },
    });

    const common = { repository: props.repository, remoteWriteUrl: props.remoteWriteUrl, workspaceArn: props.workspaceArn, logRetention: props.logRetention, config };
    const serviceDefaults = (name: string, task: ServiceTask, securityGroup: ec2.ISecurityGroup) => ({
      serviceName: name,
      cluster: this.cluster,
      taskDefinition: task.taskDefinition,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      securityGroups: [securityGroup],
      // a deployment whose tasks never become healthy is rolled back, not retried for hours
      circuitBreaker: { enable: true, rollback: true },
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
      cloudMapOptions: { name, dnsTtl: Duration.seconds(10) },
    });
    const streamArn = streaming.stream.streamArn;
    const readStream = new iam.PolicyStatement({
      sid: 'ReadStream',
      actions: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'],
      resources: [streamArn],
    });

    const peers: string[] = [];
    for (const group of config.symbolGroups) {
      const name = ingestorName(group);
      const task = new ServiceTask(this, name, {
        ...common,
        service: 'ingestor',
        name,
        environment: {
          INGESTOR_STREAM_URL: config.binanceStreamUrl,
          INGESTOR_REST_URL: config.binanceRestUrl,
          INGESTOR_SYMBOLS: group.join(','),
          INGESTOR_API_KEY_FILE: `${SECRETS_DIR}/binance-api-key`,
          KINESIS_STREAM: streaming.stream.streamName,
          KINESIS_REGION: region,
          INGESTOR_HOST: '0.0.0.0',
          INGESTOR_PORT: String(PORTS.ingestor),
        },
        secrets: [{ file: 'binance-api-key', secret: ecs.Secret.fromSecretsManager(props.binanceApiKey) }],
      });
      task.taskRole.addToPolicy(new iam.PolicyStatement({ sid: 'PublishEnvelopes', actions: ['kinesis:PutRecord', 'kinesis:PutRecords'], resources: [streamArn] }));
      // at start it reads the stream back to take over from its predecessor (newest trade id, gaps left open)
      task.taskRole.addToPolicy(readStream.copy());
      this.ingestors.push(
        new ecs.FargateService(this, `${name}Service`, {
          ...serviceDefaults(name, task, network.ingestor),
          desiredCount: 1,
          minHealthyPercent: 0,
          maxHealthyPercent: 100,
        }),
      );
      peers.push(`${name}=http://${name}.${namespace}:${PORTS.ingestor}/health`);
    }

    const redis = (user: 'aggregator' | 'inference') => ({
      // the configuration endpoint seeds the cluster client; the URL gives the scheme (TLS) and the ACL user
      REDIS_URL: `rediss://${user}@${cache.configurationEndpoint}`,
      REDIS_CLUSTER_NODES: cache.configurationEndpoint,
      REDIS_PASSWORD_FILE: `${SECRETS_DIR}/redis-password`,
    });
    const redisSecret = (user: 'aggregator' | 'inference') => [{ file: 'redis-password', secret: ecs.Secret.fromSecretsManager(cache.secrets[user], 'password') }];

    const aggregatorTask = new ServiceTask(this, 'aggregator', {
      ...common,
      service: 'aggregator',
      name: 'aggregator',
      environment: {
        ...redis('aggregator'),
        AGGREGATOR_SYMBOLS: config.symbolGroups.flat().join(','),
        KINESIS_STREAM: streaming.stream.streamName,
        KINESIS_REGION: region,
        AGGREGATOR_CONSUMER: 'fanout',
        AGGREGATOR_FANOUT_CONSUMER_NAME: streaming.consumer.streamConsumerName,
        AGGREGATOR_HOST: '0.0.0.0',
        AGGREGATOR_PORT: String(PORTS.aggregator),
      },
      secrets: redisSecret('aggregator'),
    });
    aggregatorTask.taskRole.addToPolicy(readStream.copy());
    // registerConsumer() registers the consumer or, as here where the stack made it, gets ResourceInUse and reuses it
    aggregatorTask.taskRole.addToPolicy(new iam.PolicyStatement({ sid: 'RegisterConsumer', actions: ['kinesis:RegisterStreamConsumer'], resources: [streamArn] }));
    aggregatorTask.taskRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SubscribeThroughConsumer',
        actions: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'],
        // this consumer under any creation timestamp: one registered again keeps working
        resources: [`${streamArn}/consumer/${streaming.consumer.streamConsumerName}:*`],
      }),
    );
    this.aggregator = new ecs.FargateService(this, 'aggregatorService', {
      ...serviceDefaults('aggregator', aggregatorTask, network.aggregator),
      desiredCount: config.aggregatorTasks,
      // new tasks join (leases rebalance) before old ones leave and hand theirs back
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });
    peers.push(`aggregator=http://aggregator.${namespace}:${PORTS.aggregator}/health`);

    const lag = new cloudwatch.Metric({
      namespace: 'AWS/Kinesis',
      metricName: 'SubscribeToShardEvent.MillisBehindLatest',
      dimensionsMap: { StreamName: streaming.stream.streamName, ConsumerName: streaming.consumer.streamConsumerName },
      statistic: 'Maximum',
      period: Duration.minutes(1),
    });
    this.aggregator.autoScaleTaskCount({ minCapacity: config.aggregatorTasks, maxCapacity: config.aggregatorMaxTasks }).scaleOnMetric('MillisBehindLatest', {
      metric: lag,
      // more tasks help only while there are more shards than tasks: past that they wait as warm standbys
      scalingSteps: [
        { upper: 1_000, change: -1 },
        { lower: 10_000, change: +1 },
        { lower: 60_000, change: +2 },
      ],
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      cooldown: Duration.minutes(5),
      evaluationPeriods: 3,
    });

    const inferenceTask = new ServiceTask(this, 'inference', {
      ...common,
      service: 'inference',
      name: 'inference',
      environment: {
        ...redis('inference'),
        INFERENCE_SYMBOLS: config.inferenceSymbols.join(','),
        INFERENCE_MODEL_PATH: MODEL_PATH,
        INFERENCE_HOST: '0.0.0.0',
        INFERENCE_PORT: String(PORTS.inference),
        INFERENCE_STATUS_PEERS: peers.join(','),
      },
      secrets: redisSecret('inference'),
    });
    this.inference = new ecs.FargateService(this, 'inferenceService', {
      ...serviceDefaults('inference', inferenceTask, network.inference),
      desiredCount: config.inferenceTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
    });
    this.inference.autoScaleTaskCount({ minCapacity: config.inferenceTasks, maxCapacity: config.inferenceMaxTasks }).scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 50,
      scaleOutCooldown: Duration.minutes(1),
      scaleInCooldown: Duration.minutes(5),
    });

    ({ loadBalancer: this.loadBalancer, targetGroup: this.targetGroup } = this.publicEntry(config, network));
    this.targetGroup.addTarget(this.inference.loadBalancerTarget({ containerName: 'inference', containerPort: PORTS.inference }));
  }

  /** The ALB: the API, the WebSocket and the live page of inference; its admin and metrics paths are not public. */
  private publicEntry(config: DeployConfig, network: Network): { loadBalancer: elbv2.ApplicationLoadBalancer; targetGroup: elbv2.ApplicationTargetGroup } {
    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      loadBalancerName: `${config.prefix}-public`,
      vpc: this.cluster.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: network.alb,
      dropInvalidHeaderFields: true,
      // the WebSocket pushes a prediction every 2 s: never idle for this long
      idleTimeout: Duration.seconds(60),
    });
    const targetGroup = new elbv2.ApplicationTargetGroup(this, 'InferenceTargets', {
      vpc: this.cluster.vpc,
      port: PORTS.inference,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      healthCheck: { path: '/ready', interval: Duration.seconds(10), timeout: Duration.seconds(5), healthyThresholdCount: 2, unhealthyThresholdCount: 3 },
      // WebSocket clients reconnect; a replica being replaced need not hold them long
      deregistrationDelay: Duration.seconds(15),
    });
    const forward = elbv2.ListenerAction.forward([targetGroup]);
    // `open: false`: the security group's ingress is the allowed CIDRs (network.ts), not 0.0.0.0/0 by default
    const listener =
      config.certificateArn === undefined
        ? loadBalancer.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP, open: false, defaultAction: forward })
        : loadBalancer.addListener('Https', {
            port: 443,
            protocol: elbv2.ApplicationProtocol.HTTPS,
            open: false,
            certificates: [elbv2.ListenerCertificate.fromArn(config.certificateArn)],
            sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
            defaultAction: forward,
          });
    if (config.certificateArn !== undefined) {
      loadBalancer.addListener('HttpRedirect', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }),
      });
    }
    // model swaps (/admin/*) and raw metrics stay inside the VPC, whatever token a request carries
    listener.addAction('InternalPaths', {
      priority: 10,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/admin', '/admin/*', '/metrics'])],
      action: elbv2.ListenerAction.fixedResponse(404, { contentType: 'application/problem+json', messageBody: '{"title":"Not Found","status":404}' }),
    });
    return { loadBalancer, targetGroup };
  }
}
