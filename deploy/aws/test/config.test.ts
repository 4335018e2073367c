/**
 * The deployment's parameters (CDK context): defaults, both the cdk.json (JSON) and the -c (string)
 * forms, and refusals that name the context key. And the pure helpers the stack is built from: the
 * ElastiCache access strings from the compose ACL file, the alert manager definition, the node ids.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cacheNodeIds } from '../lib/alarms.ts';
import { accessStringFor } from '../lib/cache.ts';
import { collectorConfig } from '../lib/collector.ts';
import { DEFAULT_TASK_SIZES, DeployConfigError, loadDeployConfig } from '../lib/config.ts';
import { alertManagerDefinition } from '../lib/observability.ts';
import { CDK_JSON_CONTEXT } from './support.ts';

const load = (context: Record<string, unknown>) => loadDeployConfig({ imageTag: 'abc123', ...context });
/** The message of the refusal, which must be a DeployConfigError. */
const refusal = (context: Record<string, unknown>): string => {
  try {
    load(context);
  } catch (err) {
    expect(err).toBeInstanceOf(DeployConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('deployment context', () => {
  it('cdk.json alone (plus a tag) is one BTCUSDT pipeline with the documented defaults', () => {
    const c = load(CDK_JSON_CONTEXT);
    expect(c).toMatchObject({
      prefix: 'hotpath',
      symbolGroups: [['BTCUSDT']],
      inferenceSymbols: ['BTCUSDT'],
      kinesisMode: 'provisioned',
      kinesisShards: 1,
      kinesisRetentionHours: 24,
      aggregatorTasks: 2,
      inferenceTasks: 2,
      logRetentionDays: 30,
      natGateways: 1,
      vpcEndpoints: false,
      redisNodeType: 'cache.t4g.small',
      cpuArchitecture: 'x86_64',
      imageTag: 'abc123',
      tracesSampleRatio: 0.01,
    });
    expect(c.taskSizes).toEqual(DEFAULT_TASK_SIZES);
    expect(c.certificateArn).toBeUndefined();
  });

  it('takes the command line\u2019s strings: groups split by ; and ,, numbers, booleans, JSON task sizes', () => {
    const c = load({
      symbolGroups: 'btcusdt; ethusdt , solusdt',
      inferenceSymbols: 'BTCUSDT,ETHUSDT',
      kinesisShards: '4',
      vpcEndpoints: 'true',
      containerInsights: 'false',
      taskSizes: '{"inference":{"cpu":1024,"memoryMiB":3072}}',
    });
    expect(c.symbolGroups).toEqual([['BTCUSDT'], ['ETHUSDT', 'SOLUSDT']]);
    expect(c.inferenceSymbols).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(c.kinesisShards).toBe(4);
    expect(c.vpcEndpoints).toBe(true);
    expect(c.containerInsights).toBe(false);
    expect(c.taskSizes).toEqual({ ...DEFAULT_TASK_SIZES, inference: { cpu: 1024, memoryMiB: 3072 } });
  });

  it('refuses bad values one line per key, naming it', () => {
    const message = refusal({ kinesisShards: 0, logRetentionDays: 31, kinesisMode: 'fast', redisNodeType: 'm5.large', albIngressCidrs: 'everyone' });
    expect(message).toMatch(/^invalid deployment context/);
    for (const key of ['kinesisShards', 'logRetentionDays', 'kinesisMode', 'redisNodeType', 'albIngressCidrs']) expect(message).toMatch(new RegExp(`^  ${key}(\\[\\d+\\])?: `, 'm'));
    expect(message).toContain('albIngressCidrs[0]: an IPv4 CIDR');
    expect(message).toContain("logRetentionDays: one of CloudWatch's retention periods: 1, 3, 5, 7");
  });

  it('requires an image tag, and says how to give one', () => {
    expect(() => loadDeployConfig({})).toThrow(/imageTag: required: the tag you pushed \(-c imageTag=/);
    expect(refusal({ imageTag: 'has space' })).toMatch(/^ {2}imageTag: an image tag/m);
  });

  it('refuses a symbol in two groups, a predicted symbol nobody ingests, and maxima below the counts', () => {
    expect(refusal({ symbolGroups: 'BTCUSDT;ETHUSDT,BTCUSDT' })).toMatch(/symbolGroups: BTCUSDT is in more than one group/);
    expect(refusal({ symbolGroups: 'ETHUSDT' })).toMatch(/inferenceSymbols: BTCUSDT is in no symbol group/);
    const message = refusal({ aggregatorTasks: 5, aggregatorMaxTasks: 4, inferenceTasks: 3, inferenceMaxTasks: 2 });
    expect(message).toMatch(/aggregatorMaxTasks: below aggregatorTasks \(5\)/);
    expect(message).toMatch(/inferenceMaxTasks: below inferenceTasks \(3\)/);
  });

  it('refuses task sizes Fargate does not offer, and task sizes that are not JSON', () => {
    expect(refusal({ taskSizes: { aggregator: { cpu: 1024, memoryMiB: 1024 } } })).toMatch(/taskSizes\.aggregator: memoryMiB 1024 does not go with cpu 1024/);
    expect(refusal({ taskSizes: { ingestor: { cpu: 300, memoryMiB: 1024 } } })).toMatch(/taskSizes\.ingestor: cpu 300 is not a Fargate size/);
    expect(refusal({ taskSizes: '{nope' })).toMatch(/taskSizes: is not JSON/);
    expect(refusal({ taskSizes: { trainer: { cpu: 256, memoryMiB: 512 } } })).toMatch(/taskSizes: Unrecognized key/);
  });

  it('the trace sampling ratio: a fraction from the command line or cdk.json, 0 allowed (tracing off), nothing outside [0, 1]', () => {
    expect(load({ tracesSampleRatio: '0.25' }).tracesSampleRatio).toBe(0.25);
    expect(load({ tracesSampleRatio: 1 }).tracesSampleRatio).toBe(1);
    expect(load({ tracesSampleRatio: '0' }).tracesSampleRatio).toBe(0);
    expect(refusal({ tracesSampleRatio: '1.5' })).toMatch(/^ {2}tracesSampleRatio: Number must be less than or equal to 1$/m);
    expect(refusal({ tracesSampleRatio: '-0.1' })).toMatch(/^ {2}tracesSampleRatio: Number must be greater than or equal to 0$/m);
    expect(refusal({ tracesSampleRatio: 'often' })).toMatch(/^ {2}tracesSampleRatio: Expected number/m);
  });

  it('refuses an ADOT release that drops random W3C trace ids while tracing is on; other tags and digests pass', () => {
    const old = 'public.ecr.aws/aws-observability/aws-otel-collector:v0.33.9';
    expect(refusal({ adotImage: old })).toMatch(/^ {2}adotImage: ADOT before v0\.34\.0 drops the services' random W3C trace ids/m);
    expect(load({ adotImage: old, tracesSampleRatio: 0 }).adotImage).toBe(old);
    for (const image of [
      'public.ecr.aws/aws-observability/aws-otel-collector:v0.34.0',
      'public.ecr.aws/aws-observability/aws-otel-collector:v1.0.0',
      'public.ecr.aws/aws-observability/aws-otel-collector@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-collector:prod',
    ])
      expect(load({ adotImage: image }).adotImage).toBe(image);
  });

  it('a misspelt key is an error with the likely one, not a silently deployed default; the CDK\u2019s own keys pass', () => {
    expect(refusal({ kinesisShard: 2 })).toMatch(/kinesisShard: not a context key of this app \(did you mean kinesisShards\?\)/);
    expect(refusal({ imagetag: 'x' })).toMatch(/imagetag: not a context key of this app \(did you mean imageTag\?\)/);
    expect(() => load({ '@aws-cdk/core:newStyleStackSynthesis': true, 'aws:cdk:enable-path-metadata': true, 'acknowledged-issue-numbers': [1] })).not.toThrow();
  });
});

describe('Redis access strings from the compose ACL file', () => {
  const acl = [
    '# comment',
    'user default off resetpass resetkeys resetchannels -@all',
    'user svc on resetkeys ~a:* %R~b:* resetchannels &c:* -@all +@read (~a:* +eval)',
    'user admin on resetkeys ~* resetchannels &* +@all',
    '',
  ].join('\n');

  it('drops the reset rules ElastiCache refuses, keeps keys, channels, selectors; services get cluster discovery', () => {
    expect(accessStringFor('svc', acl)).toBe('on ~a:* %R~b:* &c:* -@all +@read (~a:* +eval) +cluster|slots +cluster|shards +cluster|info');
    expect(accessStringFor('admin', acl)).toBe('on ~* &* +@all');
    // a rule the compose line already grants is not repeated
    expect(accessStringFor('svc', 'user svc on ~a:* -@all +cluster|info\n')).toBe('on ~a:* -@all +cluster|info +cluster|slots +cluster|shards');
  });

  it('a user the file does not have is an error, not an empty access string', () => {
    expect(() => accessStringFor('trainer', acl)).toThrow(/has no line for user trainer/);
  });

  it('the real file\u2019s users all translate, none keeps a reset rule', () => {
    for (const user of ['aggregator', 'inference', 'admin']) expect(accessStringFor(user)).not.toMatch(/reset|nopass|>/);
  });
});

describe('monitoring helpers', () => {
  it('the alert manager definition is AMP\u2019s shape: alertmanager_config holding a config with SNS receivers', () => {
    const outer = parse(
      alertManagerDefinition(
        { critical: 'arn:aws:sns:us-east-1:123456789012:c', warning: 'arn:aws:sns:us-east-1:123456789012:w' },
        'us-east-1',
        'inhibit_rules:\n  - source_matchers: [\'a="b"\']\n    target_matchers: [\'c="d"\']\n',
      ),
    );
    expect(Object.keys(outer)).toEqual(['alertmanager_config']);
    const config = parse(outer.alertmanager_config);
    expect(config.receivers).toEqual([
      { name: 'critical', sns_configs: [expect.objectContaining({ topic_arn: 'arn:aws:sns:us-east-1:123456789012:c', sigv4: { region: 'us-east-1' }, attributes: { severity: 'critical' } })] },
      { name: 'warning', sns_configs: [expect.objectContaining({ topic_arn: 'arn:aws:sns:us-east-1:123456789012:w', sigv4: { region: 'us-east-1' }, attributes: { severity: 'warning' } })] },
    ]);
    expect(config.inhibit_rules).toEqual([{ source_matchers: ['a="b"'], target_matchers: ['c="d"'] }]);
    // every route ends at a receiver that exists
    const names = new Set(config.receivers.map((r: { name: string }) => r.name));
    for (const route of [config.route, ...config.route.routes]) expect(names.has(route.receiver)).toBe(true);
  });

  it('the collector config holds no CloudFormation token, only the collector\u2019s own ${env:…}', () => {
    const text = collectorConfig('inference', 9092);
    expect(text).not.toContain('${Token');
    const config = parse(text);
    expect(config.exporters.prometheusremotewrite.endpoint).toBe('${env:AMP_REMOTE_WRITE_URL}');
    expect(config.extensions.sigv4auth).toEqual({ region: '${env:AWS_REGION}', service: 'aps' });
    expect(config.receivers.prometheus.config.scrape_configs[0]).toMatchObject({ job_name: 'inference', scrape_interval: '5s' });
    expect(config.processors.resource.attributes[0]).toEqual({ key: 'service.instance.id', from_attribute: 'aws.ecs.task.arn', action: 'upsert' });
    expect(config.exporters.awsxray.region).toBe('${env:AWS_REGION}');
  });

  it('the collector config without traces is the metrics one alone, every pipeline naming components it defines', () => {
    for (const traces of [true, false]) {
      const config = parse(collectorConfig('aggregator', 9091, { traces }));
      expect(Object.keys(config.service.pipelines)).toEqual(traces ? ['metrics', 'traces'] : ['metrics']);
      for (const pipeline of Object.values(config.service.pipelines) as { receivers: string[]; processors: string[]; exporters: string[] }[]) {
        for (const r of pipeline.receivers) expect(config.receivers).toHaveProperty([r]);
        for (const p of pipeline.processors) expect(config.processors).toHaveProperty([p]);
        for (const e of pipeline.exporters) expect(config.exporters).toHaveProperty([e]);
      }
      // nothing defined and left out of every pipeline (the collector would warn, and it would be dead weight)
      const used = (kind: 'receivers' | 'processors' | 'exporters') => new Set(Object.values(config.service.pipelines).flatMap((p: any) => p[kind]));
      for (const kind of ['receivers', 'processors', 'exporters'] as const) expect(new Set(Object.keys(config[kind]))).toEqual(used(kind));
    }
  });

  it('ElastiCache node ids per shard and replica', () => {
    expect(cacheNodeIds('hp-redis', 2, 1)).toEqual(['hp-redis-0001-001', 'hp-redis-0001-002', 'hp-redis-0002-001', 'hp-redis-0002-002']);
  });
});
