/**
 * Monitoring on AWS: an Amazon Managed Prometheus workspace that the collector sidecars write to, with
 * prometheus/rules/*.yml loaded as they are (the same recording and alerting rules promtool tests), and
 * AMP's alert manager routing by severity to two SNS topics — `critical` (page) and `warning` (chat) —
 * the way prometheus/alertmanager routes to PagerDuty and Slack. CloudWatch alarms (alarms.ts) publish
 * to the same topics. The topics are encrypted with a key of this stack that AMP and CloudWatch may use.
 */
import { readFileSync } from 'node:fs';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as aps from 'aws-cdk-lib/aws-aps';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { parse, stringify } from 'yaml';
import type { DeployConfig } from './config.ts';

/** Loaded into AMP as they are: one rule groups namespace per file. */
export const RULE_FILES = { recording: new URL('../../../prometheus/rules/recording.yml', import.meta.url), alerts: new URL('../../../prometheus/rules/alerts.yml', import.meta.url) };
/** The compose stack's Alertmanager: its inhibit rules are reused unchanged. */
export const ALERTMANAGER_FILE = new URL('../../../prometheus/alertmanager/alertmanager.yml', import.meta.url);

export type Severity = 'critical' | 'warning';

/**
 * AMP's alert manager definition. The routing mirrors prometheus/alertmanager/alertmanager.yml with SNS in
 * place of PagerDuty and Slack: critical alerts repeat every 5 minutes, warnings every 30; latency
 * warnings grouped per service and instance. Inhibit rules (a dead feed explains stale features, …) are
 * the compose file's own.
 */
export function alertManagerDefinition(topicArns: Record<Severity, string>, region: string, alertmanagerYaml: string = readFileSync(ALERTMANAGER_FILE, 'utf8')): string {
  const compose = parse(alertmanagerYaml) as { inhibit_rules?: unknown[] };
  const receiver = (severity: Severity) => ({
    name: severity,
    sns_configs: [{ topic_arn: topicArns[severity], sigv4: { region }, subject: `[hotpath ${severity}] {{ .CommonLabels.alertname }}`, attributes: { severity } }],
  });
  const config = {
    route: {
      receiver: 'warning',
      group_by: ['alertname', 'service'],
      group_wait: '10s',
      group_interval: '10s',
      repeat_interval: '1h',
      routes: [
        { matchers: ['severity="critical"'], receiver: 'critical', group_wait: '10s', repeat_interval: '5m' },
        {
          matchers: ['severity="warning"', 'alertname=~"InferenceLatency.*|RedisReadLatencyHigh|ModelInferenceSlow"'],
          receiver: 'warning',
          group_by: ['service', 'instance'],
          group_wait: '30s',
          group_interval: '5m',
          repeat_interval: '1h',
        },
        { matchers: ['severity="warning"'], receiver: 'warning', group_wait: '30s', repeat_interval: '30m' },
      ],
    },
    inhibit_rules: compose.inhibit_rules ?? [],
    receivers: [receiver('critical'), receiver('warning')],
  };
  return stringify({ alertmanager_config: stringify(config, { lineWidth: 0 }) }, { lineWidth: 0 });
}

export interface ObservabilityProps {
  config: DeployConfig;
  logRetention: logs.RetentionDays;
}

export class Observability extends Construct {
  readonly workspace: aps.CfnWorkspace;
  /** Where the collectors write (…/api/v1/remote_write). */
  readonly remoteWriteUrl: string;
  readonly topics: Record<Severity, sns.Topic>;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);

    this.key = new kms.Key(this, 'AlarmsKey', {
      alias: `${config.prefix}/alarms`,
      description: 'hotpath: encrypts the alarm topics; AMP and CloudWatch may publish through it',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // the services that publish to the encrypted topics must be able to use the key (a key policy, not IAM)
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmPublishers',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com'), new iam.ServicePrincipal('aps.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy `*` means this key
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    this.topics = {
      critical: new sns.Topic(this, 'Critical', { topicName: `${config.prefix}-critical`, displayName: 'hotpath critical (page)', masterKey: this.key }),
      warning: new sns.Topic(this, 'Warning', { topicName: `${config.prefix}-warning`, displayName: 'hotpath warning', masterKey: this.key }),
    };
    if (config.alarmEmail !== undefined) {
      for (const topic of Object.values(this.topics)) topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    }

    const logGroup = new logs.LogGroup(this, 'PrometheusLogs', {
      // AMP's rule-evaluation and alert-delivery errors (vended logs: the prefix spares a resource policy per group)
      logGroupName: `/aws/vendedlogs/${config.prefix}/prometheus`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.workspace = new aps.CfnWorkspace(this, 'Workspace', {
      alias: config.prefix,
      loggingConfiguration: { logGroupArn: logGroup.logGroupArn },
      alertManagerDefinition: alertManagerDefinition({ critical: this.topics.critical.topicArn, warning: this.topics.warning.topicArn }, stack.region),
    });
    this.remoteWriteUrl = `${this.workspace.attrPrometheusEndpoint}api/v1/remote_write`;

    for (const [name, file] of Object.entries(RULE_FILES)) {
      new aps.CfnRuleGroupsNamespace(this, `${name}Rules`, { workspace: this.workspace.attrArn, name, data: readFileSync(file, 'utf8') });
    }

    for (const topic of Object.values(this.topics)) {
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AmpAlertManager',
          principals: [new iam.ServicePrincipal('aps.amazonaws.com')],
          actions: ['sns:Publish', 'sns:GetTopicAttributes'],
          resources: [topic.topicArn],
          conditions: { ArnEquals: { 'aws:SourceArn': this.workspace.attrArn }, StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
    }
  }
}
