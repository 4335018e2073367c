/**
 * The pieces of the synthesized deployment, each checked on the template: counts, encryption, the
 * services' settings, scaling, logs, metrics, traces and alarms. Then the parameters that change its shape
 * (on-demand Kinesis, more symbol groups, HTTPS, endpoints, the trace sampling ratio) on a second synthesis,
 * and tracing turned off on a third.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { accessStringFor } from '../lib/cache.ts';
import { LOCAL_ROOT_SPANS, OTLP_ENDPOINT_URL, SCRAPE_INTERVAL_S, XRAY_INDEXED_ATTRIBUTES } from '../lib/collector.ts';
import { ALERTMANAGER_FILE, RULE_FILES } from '../lib/observability.ts';
import { container, environmentOf, logicalId, ofType, type Resource, synthesize } from './support.ts';

const { template, resources } = synthesize();
/** The three services and their task definition families in the default deployment. */
const PIPELINE = [
  ['ingestor', 'hotpath-ingestor-btcusdt'],
  ['aggregator', 'hotpath-aggregator'],
  ['inference', 'hotpath-inference'],
] as const;
/** A string property as text, the tokens of an Fn::Join shown as TOKEN. */
const textOf = (v: unknown): string => (typeof v === 'string' ? v : (v as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
const one = (type: string): Record<string, any> => {
  const found = ofType(resources, type);
  expect(found).toHaveLength(1);
  return found[0]![1].Properties!;
};

describe('the default deployment: one BTCUSDT pipeline', () => {
  it('has one of each piece, three services and their task definitions', () => {
    const counts: Record<string, number> = {
      'AWS::EC2::VPC': 1,
      'AWS::EC2::NatGateway': 1,
      'AWS::EC2::Subnet': 6, // public, private, isolated × 2 AZs
      'AWS::Kinesis::Stream': 1,
      'AWS::Kinesis::StreamConsumer': 1,
      'AWS::ElastiCache::ReplicationGroup': 1,
      'AWS::ElastiCache::User': 4, // aggregator, inference, admin, default (off)
      'AWS::ElastiCache::UserGroup': 1,
      'AWS::ECS::Cluster': 1,
      'AWS::ECS::Service': 3,
      'AWS::ECS::TaskDefinition': 3,
      'AWS::ElasticLoadBalancingV2::LoadBalancer': 1,
      'AWS::APS::Workspace': 1,
      'AWS::APS::RuleGroupsNamespace': 2,
      'AWS::SNS::Topic': 2,
      'AWS::SecretsManager::Secret': 3, // the Redis users'; the Binance key is the base stack's
    };
    for (const [type, n] of Object.entries(counts)) template.resourceCountIs(type, n);
  });

  it('Kinesis: provisioned with the shards asked for, encrypted with the AWS-managed key, 24 h retention', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      Name: 'hotpath-market-events',
      ShardCount: 1,
      RetentionPeriodHours: 24,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
    });
  });

  it('the enhanced fan-out consumer is on that stream, and the aggregator reads through it by name', () => {
    const stream = logicalId(resources, 'AWS::Kinesis::Stream', () => true);
    template.hasResourceProperties('AWS::Kinesis::StreamConsumer', { ConsumerName: 'hotpath-aggregator', StreamARN: { 'Fn::GetAtt': [stream, 'Arn'] } });
    const env = environmentOf(container(resources, 'hotpath-aggregator', 'aggregator'));
    expect(env.AGGREGATOR_CONSUMER).toBe('fanout');
    expect(env.AGGREGATOR_FANOUT_CONSUMER_NAME).toEqual({ 'Fn::GetAtt': [logicalId(resources, 'AWS::Kinesis::StreamConsumer', () => true), 'ConsumerName'] });
    expect(env.KINESIS_STREAM).toEqual({ Ref: stream });
  });

  it('Redis: cluster mode, TLS required in transit, encrypted at rest, Multi-AZ failover, RBAC users only', () => {
    const rg = one('AWS::ElastiCache::ReplicationGroup');
    expect(rg).toMatchObject({
      ClusterMode: 'enabled',
      CacheParameterGroupName: 'default.redis7.cluster.on',
      NumNodeGroups: 1,
      ReplicasPerNodeGroup: 1,
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      Engine: 'redis',
      CacheNodeType: 'cache.t4g.small',
    });
    expect(rg.AuthToken).toBeUndefined(); // users, not one shared token
    template.hasResource('AWS::ElastiCache::ReplicationGroup', { DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot' });
    expect(rg.UserGroupIds).toEqual([{ Ref: logicalId(resources, 'AWS::ElastiCache::UserGroup', () => true) }]);
    expect(rg.LogDeliveryConfigurations.map((l: any) => l.LogType).sort()).toEqual(['engine-log', 'slow-log']);
  });

  it('Redis users: the compose ACL of each, without reset rules, plus cluster discovery; `default` is off', () => {
    const user = (name: string) => resources[logicalId(resources, 'AWS::ElastiCache::User', (p) => p.UserName === name)]!.Properties!;
    const compose = readFileSync(new URL('../../redis/users.acl.in', import.meta.url), 'utf8');
    for (const name of ['aggregator', 'inference']) {
      const access = user(name).AccessString as string;
      const composeRules = compose
        .split('\n')
        .find((l) => l.startsWith(`user ${name} `))!
        .split(/\s+/)
        .slice(2);
      const kept = composeRules.filter((r) => !r.startsWith('reset'));
      expect(access.split(' ')).toEqual([...kept, ...['+cluster|slots', '+cluster|shards', '+cluster|info'].filter((r) => !kept.includes(r))]);
      expect(access).toBe(accessStringFor(name));
    }
    expect(user('inference').AccessString).toContain('%R~feat:*'); // features are read-only for inference
    expect(user('default')).toMatchObject({ AccessString: 'off -@all', NoPasswordRequired: true });
    const group = one('AWS::ElastiCache::UserGroup');
    expect(group.UserIds).toHaveLength(4);
  });

  it('the services connect over TLS to the configuration endpoint as their own users, password from the file', () => {
    for (const user of ['aggregator', 'inference']) {
      const env = environmentOf(container(resources, `hotpath-${user}`, user));
      const url = JSON.stringify(env.REDIS_URL);
      expect(url).toContain(`"rediss://${user}@"`);
      expect(url).toContain('ConfigurationEndPoint.Address');
      expect(JSON.stringify(env.REDIS_CLUSTER_NODES)).toContain('ConfigurationEndPoint.Port');
      expect(env.REDIS_PASSWORD_FILE).toBe('/run/secrets/hotpath/redis-password');
    }
    // the ingestor never talks to Redis
    expect(Object.keys(environmentOf(container(resources, 'hotpath-ingestor-btcusdt', 'ingestor'))).filter((k) => k.startsWith('REDIS'))).toEqual([]);
  });

  it('every variable set for a service is one its code reads (named in its app or a lib it uses), or the image\u2019s', () => {
    const sourcesOf = (dir: string): string =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.ts'))
        .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
        .join('\n');
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const libs = readdirSync(join(root, 'libs'))
      .map((lib) => sourcesOf(join(root, 'libs', lib, 'src')))
      .join('\n');
    const image = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8'); // HEALTH_URL, NODE_ENV
    for (const [service, family] of [
      ['ingestor', 'hotpath-ingestor-btcusdt'],
      ['aggregator', 'hotpath-aggregator'],
      ['inference', 'hotpath-inference'],
    ] as const) {
      const known = `${sourcesOf(join(root, 'apps', service, 'src'))}\n${libs}\n${image}`;
      const unread = Object.keys(environmentOf(container(resources, family, service))).filter((name) => !new RegExp(`\\b${name}\\b`).test(known));
      expect(unread, `${service} is given variables nothing reads`).toEqual([]);
    }
  });

  it('ingestor: one task per symbol group, never two at once; live Binance; the image tag asked for', () => {
    const service = resources[logicalId(resources, 'AWS::ECS::Service', (p) => p.ServiceName === 'ingestor-btcusdt')]!.Properties!;
    expect(service.DesiredCount).toBe(1);
    expect(service.DeploymentConfiguration).toMatchObject({ MinimumHealthyPercent: 0, MaximumPercent: 100, DeploymentCircuitBreaker: { Enable: true, Rollback: true } });
    const main = container(resources, 'hotpath-ingestor-btcusdt', 'ingestor');
    expect(environmentOf(main)).toMatchObject({
      INGESTOR_SYMBOLS: 'BTCUSDT',
      INGESTOR_STREAM_URL: 'wss://stream-sbe.binance.com:9443',
      INGESTOR_REST_URL: 'https://api.binance.com',
      INGESTOR_HOST: '0.0.0.0',
    });
    expect(main.Command).toEqual(['node', 'apps/ingestor/bin/start.js']);
    expect(JSON.stringify(main.Image)).toMatch(/":test-tag"\]\]\}$/);
  });

  it('aggregator: N tasks, rolling with new tasks first; inference: N replicas behind the ALB on /ready', () => {
    const service = (name: string) => resources[logicalId(resources, 'AWS::ECS::Service', (p) => p.ServiceName === name)]!.Properties!;
    expect(service('aggregator')).toMatchObject({ DesiredCount: 2, DeploymentConfiguration: { MinimumHealthyPercent: 100, MaximumPercent: 200 } });
    expect(service('inference')).toMatchObject({ DesiredCount: 2, LoadBalancers: [{ ContainerName: 'inference', ContainerPort: 9092 }] });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Port: 9092, TargetType: 'ip', HealthCheckPath: '/ready' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    const peers = environmentOf(container(resources, 'hotpath-inference', 'inference')).INFERENCE_STATUS_PEERS;
    expect(peers).toBe('ingestor-btcusdt=http://ingestor-btcusdt.hotpath.internal:9090/health,aggregator=http://aggregator.hotpath.internal:9091/health');
  });

  it('autoscaling: the aggregator on the consumer\u2019s MillisBehindLatest, inference on CPU', () => {
    const targets = ofType(resources, 'AWS::ApplicationAutoScaling::ScalableTarget').map(([, r]) => [r.Properties!.MinCapacity, r.Properties!.MaxCapacity]);
    expect(targets.sort()).toEqual([
      [2, 4],
      [2, 4],
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Kinesis',
      MetricName: 'SubscribeToShardEvent.MillisBehindLatest',
      Dimensions: Match.arrayWith([{ Name: 'ConsumerName', Value: Match.anyValue() }]),
      AlarmActions: [{ Ref: Match.stringLikeRegexp('MillisBehindLatestUpperPolicy') }],
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      StepScalingPolicyConfiguration: { StepAdjustments: [Match.objectLike({ ScalingAdjustment: 1 }), Match.objectLike({ ScalingAdjustment: 2 })] },
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TargetValue: 50 },
    });
  });

  it('logs: every log group has the retention asked for; every container logs to its service\u2019s group', () => {
    const groups = ofType(resources, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(6); // three services, Redis slow + engine logs, AMP
    for (const [, g] of groups) expect(g.Properties!.RetentionInDays).toBe(30);
    for (const [, td] of ofType(resources, 'AWS::ECS::TaskDefinition')) {
      for (const c of td.Properties!.ContainerDefinitions) expect(c.LogConfiguration.LogDriver).toBe('awslogs');
    }
  });

  it('metrics: a collector beside each service scrapes it like prometheus.yml and writes to AMP', () => {
    const prometheus = parse(readFileSync(new URL('../../../prometheus/prometheus.yml', import.meta.url), 'utf8')) as { scrape_configs: { job_name: string; scrape_interval: string }[] };
    for (const [service, family] of PIPELINE) {
      const collector = container(resources, family, 'collector');
      expect(collector.Essential).toBe(false);
      const env = environmentOf(collector);
      const config = parse(env.AOT_CONFIG_CONTENT as string);
      const [scrape] = config.receivers.prometheus.config.scrape_configs;
      const compose = prometheus.scrape_configs.find((s) => s.job_name === service)!;
      expect(scrape.job_name).toBe(service);
      expect(scrape.scrape_interval).toBe(compose.scrape_interval);
      expect(`${SCRAPE_INTERVAL_S[service]}s`).toBe(compose.scrape_interval);
      expect(scrape.static_configs[0].targets).toEqual([`127.0.0.1:${{ ingestor: 9090, aggregator: 9091, inference: 9092 }[service]}`]);
      expect(config.exporters.prometheusremotewrite.auth.authenticator).toBe('sigv4auth');
      expect(config.service.pipelines.metrics.exporters).toEqual(['prometheusremotewrite']);
      expect(JSON.stringify(env.AMP_REMOTE_WRITE_URL)).toContain('api/v1/remote_write');
    }
  });

  it('traces: each service sends its spans (OTLP/HTTP) to the collector beside it, which sends them to X-Ray', () => {
    for (const [service, family] of PIPELINE) {
      const env = environmentOf(container(resources, family, service));
      // the collector in the same task, over loopback; 1 % of market events by default; the service's own name
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://127.0.0.1:4318');
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(OTLP_ENDPOINT_URL);
      expect(env.OTEL_TRACES_SAMPLER_ARG).toBe('0.01');
      expect(env).not.toHaveProperty('OTEL_SERVICE_NAME');
      expect(env).not.toHaveProperty('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
      expect(env).not.toHaveProperty('OTEL_SDK_DISABLED');

      const collector = environmentOf(container(resources, family, 'collector'));
      const config = parse(collector.AOT_CONFIG_CONTENT as string);
      // what the service posts to is what the collector listens on: host and port of one URL
      const listen = new URL(`http://${config.receivers.otlp.protocols.http.endpoint}`);
      const target = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT as string);
      expect([listen.hostname, listen.port]).toEqual([target.hostname, target.port]);
      expect(config.receivers.otlp.protocols).not.toHaveProperty('grpc');
      expect(config.service.pipelines.traces).toEqual({ receivers: ['otlp'], processors: ['memory_limiter', 'resourcedetection', 'attributes/local-root', 'batch/traces'], exporters: ['awsxray'] });
      for (const processor of config.service.pipelines.traces.processors) expect(config.processors).toHaveProperty([processor]);
      expect(config.processors.memory_limiter.limit_mib).toBeLessThan(container(resources, family, 'collector').MemoryReservation);
      // the region of the stack (the sidecar's AWS_REGION), annotations for the span attributes one filters on
      expect(config.exporters.awsxray).toEqual({ region: '${env:AWS_REGION}', indexed_attributes: [...XRAY_INDEXED_ATTRIBUTES], index_all_attributes: false });
      expect(collector.AWS_REGION).toEqual({ Ref: 'AWS::Region' });
      // this service's local roots, and only they, become X-Ray segments named after the service
      expect(config.processors['attributes/local-root']).toEqual({
        include: { match_type: 'strict', span_names: [...LOCAL_ROOT_SPANS[service]] },
        actions: [
          { key: 'aws.span.kind', value: 'LOCAL_ROOT', action: 'insert' },
          { key: 'aws.local.service', value: service, action: 'insert' },
        ],
      });
      // the metrics pipeline is untouched by the traces one
      expect(config.service.pipelines.metrics.receivers).toEqual(['prometheus']);
    }
  });

  it('the local-root span names are spans each service starts: a root, or a child of a context from another process', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    for (const [service, names] of Object.entries(LOCAL_ROOT_SPANS)) {
      const code = readdirSync(join(root, 'apps', service, 'src'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.ts'))
        .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
        .join('\n');
      for (const name of names) expect(code, `${service} starts no span '${name}'`).toContain(`'${name}'`);
    }
  });

  it('AMP: our recording and alerting rules as they are; alert manager routes critical and warning to SNS', () => {
    for (const [name, file] of Object.entries(RULE_FILES)) template.hasResourceProperties('AWS::APS::RuleGroupsNamespace', { Name: name, Data: readFileSync(file, 'utf8') });
    const definition = one('AWS::APS::Workspace').AlertManagerDefinition['Fn::Join'][1] as unknown[];
    const topic = (name: string) => ({ Ref: logicalId(resources, 'AWS::SNS::Topic', (p) => p.TopicName === name) });
    expect(definition).toContainEqual(topic('hotpath-critical'));
    expect(definition).toContainEqual(topic('hotpath-warning'));
    // the inhibit rules are the compose Alertmanager's
    const config = parse(parse(textOf(one('AWS::APS::Workspace').AlertManagerDefinition)).alertmanager_config);
    expect(config.inhibit_rules).toEqual(parse(readFileSync(ALERTMANAGER_FILE, 'utf8')).inhibit_rules);
    expect(config.receivers.map((r: any) => r.name)).toEqual(['critical', 'warning']);
    expect(config.route.routes[0]).toMatchObject({ matchers: ['severity="critical"'], receiver: 'critical' });
  });

  it('SNS: both topics encrypted with the stack\u2019s key, AMP may publish to them from this workspace only', () => {
    const key = logicalId(resources, 'AWS::KMS::Key', () => true);
    for (const [, t] of ofType(resources, 'AWS::SNS::Topic')) expect(t.Properties!.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    const policies = ofType(resources, 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(2);
    for (const [, p] of policies) {
      const [statement] = p.Properties!.PolicyDocument.Statement;
      expect(statement.Principal).toEqual({ Service: 'aps.amazonaws.com' });
      expect([...statement.Action].sort()).toEqual(['sns:GetTopicAttributes', 'sns:Publish']);
      expect(statement.Condition.ArnEquals['aws:SourceArn']).toEqual({ 'Fn::GetAtt': [logicalId(resources, 'AWS::APS::Workspace', () => true), 'Arn'] });
    }
    expect(resources[key]!.Properties!.EnableKeyRotation).toBe(true);
  });

  it('alarms: each goes to a topic; a missing service, a silent stream, Redis memory and a dead ALB target are covered', () => {
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm').filter(([, a]) => typeof a.Properties!.AlarmName === 'string');
    const names = alarms.map(([, a]) => a.Properties!.AlarmName as string);
    expect(names).toEqual(
      expect.arrayContaining([
        'hotpath-ingestor-btcusdt-tasks-below-minimum',
        'hotpath-aggregator-tasks-below-minimum',
        'hotpath-inference-tasks-below-minimum',
        'hotpath-kinesis-no-incoming-records',
        'hotpath-kinesis-write-throttled',
        'hotpath-redis-0001-001-memory-critical',
        'hotpath-redis-0001-002-memory-critical',
        'hotpath-alb-no-healthy-inference',
      ]),
    );
    for (const [, a] of alarms) {
      const topic = textOf(a.Properties!.AlarmDescription).startsWith('[critical]') ? 'hotpath-critical' : 'hotpath-warning';
      expect(a.Properties!.AlarmActions).toEqual([{ Ref: logicalId(resources, 'AWS::SNS::Topic', (p) => p.TopicName === topic) }]);
    }
    const running = alarms.find(([, a]) => a.Properties!.AlarmName === 'hotpath-aggregator-tasks-below-minimum')![1].Properties!;
    expect(running).toMatchObject({ MetricName: 'CPUUtilization', Statistic: 'SampleCount', TreatMissingData: 'breaching', Threshold: 1 });
  });
});

describe('parameters that change the shape', () => {
  const variant = synthesize({
    kinesisMode: 'on-demand',
    symbolGroups: 'BTCUSDT;ETHUSDT,SOLUSDT',
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0b1e8a3c-1111-2222-3333-444455556666',
    albIngressCidrs: '203.0.113.0/24',
    vpcEndpoints: 'true',
    redisShards: '2',
    logRetentionDays: '90',
    cpuArchitecture: 'arm64',
    tracesSampleRatio: '0.25',
  });
  const r: Record<string, Resource> = variant.resources;

  it('on-demand Kinesis has no shard count', () => {
    variant.template.hasResourceProperties('AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'ON_DEMAND' }, ShardCount: Match.absent() });
  });

  it('one ingestor service per symbol group, each with its own role and symbols; the aggregator takes them all', () => {
    const ingestors = ofType(r, 'AWS::ECS::Service')
      .map(([, s]) => s.Properties!.ServiceName)
      .filter((n: string) => n.startsWith('ingestor'));
    expect(ingestors.sort()).toEqual(['ingestor-btcusdt', 'ingestor-ethusdt']);
    expect(environmentOf(container(r, 'hotpath-ingestor-ethusdt', 'ingestor')).INGESTOR_SYMBOLS).toBe('ETHUSDT,SOLUSDT');
    expect(environmentOf(container(r, 'hotpath-aggregator', 'aggregator')).AGGREGATOR_SYMBOLS).toBe('BTCUSDT,ETHUSDT,SOLUSDT');
    expect(ofType(r, 'AWS::IAM::Role').map(([, role]) => role.Properties!.RoleName)).toEqual(expect.arrayContaining(['hotpath-ingestor-btcusdt-task', 'hotpath-ingestor-ethusdt-task']));
  });

  it('with a certificate: HTTPS on 443 and 80 redirected; the ALB open to the given range only', () => {
    variant.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: Match.stringLikeRegexp('^arn:aws:acm:') }] });
    variant.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', Port: '443' }) })],
    });
    const albSg = logicalId(r, 'AWS::EC2::SecurityGroup', (p) => p.GroupDescription === 'hotpath ALB: the only public entry');
    expect(r[albSg]!.Properties!.SecurityGroupIngress.map((i: any) => [i.CidrIp, i.FromPort]).sort()).toEqual([
      ['203.0.113.0/24', 443],
      ['203.0.113.0/24', 80],
    ]);
  });

  it('the trace sampling ratio asked for reaches every service of the pipeline, each ingestor too', () => {
    for (const [service, family] of [...PIPELINE, ['ingestor', 'hotpath-ingestor-ethusdt']] as const) {
      expect(environmentOf(container(r, family, service))).toMatchObject({ OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_ENDPOINT_URL });
    }
  });

  it('interface endpoints for the AWS APIs (X-Ray too); Redis on two shards alarmed per node; retention and architecture follow', () => {
    const endpoints = ofType(r, 'AWS::EC2::VPCEndpoint').filter(([, e]) => e.Properties!.VpcEndpointType === 'Interface');
    expect(endpoints).toHaveLength(7);
    expect(endpoints.map(([, e]) => textOf(e.Properties!.ServiceName).replace(/^com\.amazonaws\.TOKEN\./, '')).sort()).toEqual([
      'aps-workspaces',
      'ecr.api',
      'ecr.dkr',
      'kinesis-streams',
      'logs',
      'secretsmanager',
      'xray',
    ]);
    variant.template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { NumNodeGroups: 2 });
    const memory = ofType(r, 'AWS::CloudWatch::Alarm').filter(([, a]) => /memory-critical$/.test(a.Properties!.AlarmName ?? ''));
    expect(memory).toHaveLength(4);
    for (const [, g] of ofType(r, 'AWS::Logs::LogGroup')) expect(g.Properties!.RetentionInDays).toBe(90);
    for (const [, td] of ofType(r, 'AWS::ECS::TaskDefinition')) expect(td.Properties!.RuntimePlatform.CpuArchitecture).toBe('ARM64');
  });
});

describe('tracing off (tracesSampleRatio=0)', () => {
  const off = synthesize({ tracesSampleRatio: '0', vpcEndpoints: 'true' });

  it('no OTLP endpoint in any service (their tracing is off), no traces pipeline, no X-Ray permission or endpoint', () => {
    for (const [service, family] of PIPELINE) {
      const env = environmentOf(container(off.resources, family, service));
      expect(env).not.toHaveProperty('OTEL_EXPORTER_OTLP_ENDPOINT');
      expect(env).not.toHaveProperty('OTEL_TRACES_SAMPLER_ARG');
      const config = parse(environmentOf(container(off.resources, family, 'collector')).AOT_CONFIG_CONTENT as string);
      expect(Object.keys(config.service.pipelines)).toEqual(['metrics']);
      expect(config.receivers).not.toHaveProperty('otlp');
      expect(config.exporters).not.toHaveProperty('awsxray');
    }
    expect(JSON.stringify(off.resources)).not.toContain('xray');
  });
});
