/**
 * What may reach what, and who may do what, in the synthesized template: only the ALB is public; the
 * tasks and Redis are private; one task role per service with its needs alone (only the ingestor puts
 * records, the aggregator reads and subscribes, no `*` but where AWS offers no narrower scope: ECR's token,
 * X-Ray's PutTraceSegments); secrets reach their one service, as files.
 */
import { describe, expect, it } from 'vitest';
import { REDIS_USERS } from '../lib/cache.ts';
import { actionsOf, container, environmentOf, logicalId, ofType, type Resource, resourcesOf, roleId, roleStatements, securityRules, synthesize } from './support.ts';

const { resources, baseTemplate } = synthesize();
const group = (description: string) => logicalId(resources, 'AWS::EC2::SecurityGroup', (p) => p.GroupDescription === description);
const sg = {
  alb: group('hotpath ALB: the only public entry'),
  inference: group('hotpath inference tasks'),
  aggregator: group('hotpath aggregator tasks'),
  ingestor: group('hotpath ingestor tasks'),
  redis: group('hotpath ElastiCache Redis'),
};
const rules = securityRules(resources);
const ingress = (g: string) => rules.filter((r) => r.group === g && r.direction === 'ingress');
const egress = (g: string) => rules.filter((r) => r.group === g && r.direction === 'egress');
const statementsOfRole = (name: string) => roleStatements(resources, roleId(resources, name));
const allStatements = () => [
  ...ofType(resources, 'AWS::IAM::Policy').flatMap(([, r]) => r.Properties!.PolicyDocument.Statement),
  ...ofType(resources, 'AWS::IAM::Role').flatMap(([, r]) => (r.Properties!.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement)),
];

describe('network: only the ALB is public', () => {
  it('the one group open to an address range is the ALB, on its listener port', () => {
    const open = rules.filter((r) => r.direction === 'ingress' && r.cidr !== undefined);
    expect(open).toEqual([{ group: sg.alb, direction: 'ingress', cidr: '0.0.0.0/0', protocol: 'tcp', fromPort: 80, toPort: 80 }]);
  });

  it('the ALB is internet-facing in the public subnets; every service runs in the private ones without a public IP', () => {
    const [[, alb]] = ofType(resources, 'AWS::ElasticLoadBalancingV2::LoadBalancer') as [[string, Resource]];
    expect(alb.Properties!.Scheme).toBe('internet-facing');
    const subnetsOf = (kind: string) =>
      ofType(resources, 'AWS::EC2::Subnet')
        .filter(([, r]) => r.Properties!.Tags.some((t: any) => t.Key === 'aws-cdk:subnet-name' && t.Value === kind))
        .map(([id]) => ({ Ref: id }));
    expect(alb.Properties!.Subnets).toEqual(subnetsOf('public'));
    const services = ofType(resources, 'AWS::ECS::Service');
    expect(services).toHaveLength(3);
    for (const [, s] of services) {
      expect(s.Properties!.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('DISABLED');
      expect(s.Properties!.NetworkConfiguration.AwsvpcConfiguration.Subnets).toEqual(subnetsOf('private'));
    }
    // Redis: isolated subnets, no route out of the VPC at all
    const [[, cacheSubnets]] = ofType(resources, 'AWS::ElastiCache::SubnetGroup') as [[string, Resource]];
    expect(cacheSubnets.Properties!.SubnetIds).toEqual(subnetsOf('data'));
    const routes = ofType(resources, 'AWS::EC2::Route').map(([, r]) => JSON.stringify(r.Properties!.RouteTableId));
    for (const subnet of subnetsOf('data')) {
      const table = ofType(resources, 'AWS::EC2::SubnetRouteTableAssociation').find(([, r]) => JSON.stringify(r.Properties!.SubnetId) === JSON.stringify(subnet))![1].Properties!.RouteTableId;
      expect(routes).not.toContain(JSON.stringify(table));
    }
  });

  it('inference takes traffic from the ALB alone; ingestor and aggregator only the status page\u2019s /health calls', () => {
    expect(ingress(sg.inference)).toEqual([expect.objectContaining({ peer: sg.alb, protocol: 'tcp', fromPort: 9092, toPort: 9092 })]);
    expect(ingress(sg.ingestor)).toEqual([expect.objectContaining({ peer: sg.inference, fromPort: 9090, toPort: 9090 })]);
    expect(ingress(sg.aggregator)).toEqual([expect.objectContaining({ peer: sg.inference, fromPort: 9091, toPort: 9091 })]);
  });

  it('Redis takes 6379 from the aggregator and inference only, and sends nothing', () => {
    expect(
      ingress(sg.redis)
        .map((r) => [r.peer, r.fromPort, r.toPort])
        .sort(),
    ).toEqual(
      [
        [sg.aggregator, 6379, 6379],
        [sg.inference, 6379, 6379],
      ].sort(),
    );
    // CDK's placeholder for "no egress": a rule matching no traffic
    expect(egress(sg.redis)).toEqual([expect.objectContaining({ cidr: '255.255.255.255/32', protocol: 'icmp' })]);
  });

  it('no group sends everything: the tasks reach HTTPS (AWS APIs), the ingestor also Binance\u2019s 9443, the ALB only inference', () => {
    expect(rules.filter((r) => r.direction === 'egress' && r.protocol === '-1')).toEqual([]);
    expect(egress(sg.alb)).toEqual([expect.objectContaining({ peer: sg.inference, fromPort: 9092, toPort: 9092 })]);
    const wide = (g: string) =>
      egress(g)
        .filter((r) => r.cidr === '0.0.0.0/0')
        .map((r) => r.fromPort)
        .sort();
    expect(wide(sg.ingestor)).toEqual([443, 9443]);
    expect(wide(sg.aggregator)).toEqual([443]);
    expect(wide(sg.inference)).toEqual([443]);
    expect(egress(sg.ingestor).some((r) => r.peer === sg.redis)).toBe(false);
  });

  it('the ALB keeps /admin and /metrics inside: a fixed 404 before any forward', () => {
    const [[, rule]] = ofType(resources, 'AWS::ElasticLoadBalancingV2::ListenerRule') as [[string, Resource]];
    expect(rule.Properties!.Conditions).toEqual([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/admin', '/admin/*', '/metrics'] } }]);
    expect(rule.Properties!.Actions[0].Type).toBe('fixed-response');
    expect(rule.Properties!.Actions[0].FixedResponseConfig.StatusCode).toBe('404');
  });
});

describe('IAM: one task role per service, least privilege', () => {
  it('one task role and one execution role per service', () => {
    for (const name of ['ingestor-btcusdt', 'aggregator', 'inference']) {
      for (const kind of ['task', 'exec']) expect(() => roleId(resources, `hotpath-${name}-${kind}`)).not.toThrow();
    }
    const taskDefs = ofType(resources, 'AWS::ECS::TaskDefinition').map(([, r]) => [r.Properties!.Family, r.Properties!.TaskRoleArn['Fn::GetAtt'][0], r.Properties!.ExecutionRoleArn['Fn::GetAtt'][0]]);
    expect(new Set(taskDefs.map(([, task]) => task)).size).toBe(3);
    expect(new Set(taskDefs.map(([, , exec]) => exec)).size).toBe(3);
  });

  it('the ingestor puts records and reads the stream back (to take over from its predecessor), nothing else', () => {
    const byAction = Object.fromEntries(statementsOfRole('hotpath-ingestor-btcusdt-task').map((s) => [s.Sid, actionsOf(s).sort()]));
    expect(byAction).toEqual({
      PublishEnvelopes: ['kinesis:PutRecord', 'kinesis:PutRecords'],
      ReadStream: ['kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'],
      RemoteWriteMetrics: ['aps:RemoteWrite'],
      PutTraces: ['xray:PutTraceSegments'],
    });
  });

  it('the aggregator reads and subscribes through its consumer; it cannot put', () => {
    const statements = statementsOfRole('hotpath-aggregator-task');
    expect(Object.fromEntries(statements.map((s) => [s.Sid, actionsOf(s).sort()]))).toEqual({
      ReadStream: ['kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'],
      RegisterConsumer: ['kinesis:RegisterStreamConsumer'],
      SubscribeThroughConsumer: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'],
      RemoteWriteMetrics: ['aps:RemoteWrite'],
      PutTraces: ['xray:PutTraceSegments'],
    });
    const subscribe = statements.find((s) => s.Sid === 'SubscribeThroughConsumer')!;
    expect(JSON.stringify(subscribe.Resource)).toContain('"/consumer/",{"Fn::GetAtt":["StreamingAggregatorConsumer');
  });

  it('inference calls no AWS API but its collector\u2019s: the metrics remote write and the spans to X-Ray', () => {
    expect(statementsOfRole('hotpath-inference-task').flatMap(actionsOf)).toEqual(['aps:RemoteWrite', 'xray:PutTraceSegments']);
  });

  it('only the ingestor\u2019s role may PutRecord(s), anywhere in the template', () => {
    const putters = ofType(resources, 'AWS::IAM::Role')
      .filter(([id]) => roleStatements(resources, id).some((s) => actionsOf(s).some((a) => /^kinesis:(PutRecords?|\*)$/.test(a))))
      .map(([, r]) => r.Properties!.RoleName);
    expect(putters).toEqual(['hotpath-ingestor-btcusdt-task']);
  });

  it('nobody gets `*`: no wildcard action, and no wildcard resource but ECR\u2019s token call and X-Ray\u2019s PutTraceSegments (AWS offers them no other)', () => {
    const statements = allStatements();
    expect(statements.length).toBeGreaterThan(10);
    const onAnything: string[][] = [];
    for (const s of statements) {
      for (const action of actionsOf(s)) expect(action).not.toMatch(/(^\*$|:\*$)/);
      if (resourcesOf(s).includes('*')) {
        // alone in its statement: `*` never widens another action that has an ARN
        expect(resourcesOf(s)).toEqual(['*']);
        onAnything.push(actionsOf(s));
      }
    }
    // one token call per execution role, one PutTraceSegments per task role (its collector), nothing else
    expect(onAnything.map((a) => a.join()).sort()).toEqual([...Array(3).fill('ecr:GetAuthorizationToken'), ...Array(3).fill('xray:PutTraceSegments')]);
    const tracers = ofType(resources, 'AWS::IAM::Role')
      .filter(([id]) => roleStatements(resources, id).some((s) => actionsOf(s).some((a) => a.startsWith('xray:'))))
      .map(([, r]) => r.Properties!.RoleName)
      .sort();
    expect(tracers).toEqual(['hotpath-aggregator-task', 'hotpath-inference-task', 'hotpath-ingestor-btcusdt-task']);
    // CDK's default-security-group lockdown runs a Lambda with AWS' basic logging policy: that is the one managed policy
    const managed = ofType(resources, 'AWS::IAM::Role')
      .flatMap(([, r]) => r.Properties!.ManagedPolicyArns ?? [])
      .map((a: unknown) => JSON.stringify(a));
    expect(managed).toEqual([expect.stringContaining('service-role/AWSLambdaBasicExecutionRole')]);
  });

  it('each execution role reads its own service\u2019s secret and no other', () => {
    const secretReads = (name: string) =>
      statementsOfRole(`hotpath-${name}-exec`)
        .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
        .flatMap(resourcesOf)
        .map((r) => JSON.stringify(r));
    expect(secretReads('aggregator')).toEqual([JSON.stringify({ Ref: logicalId(resources, 'AWS::SecretsManager::Secret', (p) => p.Name === 'hotpath/redis/aggregator') })]);
    expect(secretReads('inference')).toEqual([JSON.stringify({ Ref: logicalId(resources, 'AWS::SecretsManager::Secret', (p) => p.Name === 'hotpath/redis/inference') })]);
    const ingestor = secretReads('ingestor-btcusdt');
    expect(ingestor).toHaveLength(1);
    expect(ingestor[0]).toContain('BinanceApiKey'); // the base stack's secret, by its output
  });
});

describe('secrets: from Secrets Manager, handed to the service as files', () => {
  it('the Binance key is a Secrets Manager secret of the base stack, generated as a placeholder (no key in any template)', () => {
    baseTemplate.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'hotpath/binance-api-key', GenerateSecretString: { PasswordLength: 32, ExcludePunctuation: true } });
  });

  it('one generated Redis password per user, each the password of its ElastiCache user by dynamic reference', () => {
    for (const user of REDIS_USERS) {
      const secret = logicalId(resources, 'AWS::SecretsManager::Secret', (p) => p.Name === `hotpath/redis/${user}`);
      expect(resources[secret]!.Properties!.GenerateSecretString).toMatchObject({ GenerateStringKey: 'password', PasswordLength: 48, SecretStringTemplate: JSON.stringify({ username: user }) });
      const cacheUser = logicalId(resources, 'AWS::ElastiCache::User', (p) => p.UserName === user);
      expect(resources[cacheUser]!.Properties!.AuthenticationMode).toEqual({
        Type: 'password',
        Passwords: [{ 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret }, ':SecretString:password::}}']] }],
      });
    }
  });

  it('no service container has a secret in its environment: the init container gets them and writes files', () => {
    const cases = [
      { family: 'hotpath-ingestor-btcusdt', service: 'ingestor', file: '/run/secrets/hotpath/binance-api-key', variable: 'INGESTOR_API_KEY_FILE' },
      { family: 'hotpath-aggregator', service: 'aggregator', file: '/run/secrets/hotpath/redis-password', variable: 'REDIS_PASSWORD_FILE' },
      { family: 'hotpath-inference', service: 'inference', file: '/run/secrets/hotpath/redis-password', variable: 'REDIS_PASSWORD_FILE' },
    ];
    for (const { family, service, file, variable } of cases) {
      const main = container(resources, family, service);
      const init = container(resources, family, 'secrets');
      expect(main.Secrets).toBeUndefined();
      expect(container(resources, family, 'collector').Secrets).toBeUndefined();
      expect(environmentOf(main)[variable]).toBe(file);
      for (const name of Object.keys(environmentOf(main))) expect(name).not.toMatch(/(PASSWORD|API_KEY|TOKEN|SECRET)$/);
      expect(init.Essential).toBe(false);
      expect(init.Secrets).toHaveLength(1);
      expect(JSON.parse(environmentOf(init).HOTPATH_SECRET_FILES as string)).toEqual({ [init.Secrets[0].Name]: file });
      expect(main.DependsOn).toEqual([{ ContainerName: 'secrets', Condition: 'SUCCESS' }]);
      // the service reads the files through a read-only mount; its own filesystem is read-only too
      expect(main.MountPoints).toContainEqual({ ContainerPath: '/run/secrets/hotpath', ReadOnly: true, SourceVolume: 'secrets' });
      expect(main.ReadonlyRootFilesystem).toBe(true);
    }
  });
});
