/**
 * The hotpath pipeline on AWS, one stack: network → stream → cache → monitoring → services → alarms.
 * The ECR repository and the Binance key come from the base stack (base-stack.ts), deployed first.
 */
import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.ts';
import { Cache } from './cache.ts';
import type { DeployConfig } from './config.ts';
import { Network } from './network.ts';
import { Observability } from './observability.ts';
import { Services } from './services.ts';
import { Streaming } from './streaming.ts';

export interface HotpathStackProps extends StackProps {
  config: DeployConfig;
  repository: ecr.IRepository;
  binanceApiKey: secretsmanager.ISecret;
}

export class HotpathStack extends Stack {
  readonly network: Network;
  readonly streaming: Streaming;
  readonly cache: Cache;
  readonly observability: Observability;
  readonly services: Services;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: HotpathStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.network = new Network(this, 'Network', config);
    this.streaming = new Streaming(this, 'Streaming', config);
    this.cache = new Cache(this, 'Cache', { config, vpc: this.network.vpc, securityGroup: this.network.redis, logRetention });
    this.observability = new Observability(this, 'Observability', { config, logRetention });
    this.services = new Services(this, 'Services', {
      config,
      network: this.network,
      streaming: this.streaming,
      cache: this.cache,
      repository: props.repository,
      binanceApiKey: props.binanceApiKey,
      remoteWriteUrl: this.observability.remoteWriteUrl,
      workspaceArn: this.observability.workspace.attrArn,
      logRetention,
    });
    this.alarms = new Alarms(this, 'Alarms', { config, services: this.services, streaming: this.streaming, cache: this.cache, topics: this.observability.topics });
    Tags.of(this).add('project', 'hotpath');

    // what the README's next steps need, printed by `cdk deploy`
    const scheme = config.certificateArn === undefined ? 'http' : 'https';
    new CfnOutput(this, 'Url', { value: `${scheme}://${this.services.loadBalancer.loadBalancerDnsName}/`, description: 'the live page and API (point your DNS name at the ALB for HTTPS)' });
    new CfnOutput(this, 'StreamName', { value: this.streaming.stream.streamName });
    new CfnOutput(this, 'RedisConfigurationEndpoint', { value: this.cache.configurationEndpoint });
    new CfnOutput(this, 'PrometheusQueryUrl', { value: `${this.observability.workspace.attrPrometheusEndpoint}api/v1/query`, description: 'AMP query API (SigV4: awscurl --service aps, or Grafana)' });
    new CfnOutput(this, 'ClusterName', { value: this.services.cluster.clusterName });
  }
}
