/**
 * Test support: the app synthesized as `cdk synth` builds it (cdk.json's context, overridden per test),
 * and readers over the template for what the assertions look at again and again (a role's statements,
 * a container, the security groups' rules wherever CloudFormation keeps them).
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BaseStack } from '../lib/base-stack.ts';
import { loadDeployConfig, type DeployConfig } from '../lib/config.ts';
import { HotpathStack } from '../lib/stack.ts';

export const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

export interface Synthesized {
  config: DeployConfig;
  stack: HotpathStack;
  base: BaseStack;
  template: Template;
  baseTemplate: Template;
  resources: Record<string, Resource>;
}

export interface Resource {
  Type: string;
  Properties?: Record<string, any>;
}

/** Both stacks, from cdk.json's context plus `context` (an image tag is always given: it has no default). */
export function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, imageTag: 'test-tag', ...context } });
  const config = loadDeployConfig(app.node.getAllContext() as Record<string, unknown>);
  const base = new BaseStack(app, 'HotpathBase', { config });
  const stack = new HotpathStack(app, 'Hotpath', { config, repository: base.repository, binanceApiKey: base.binanceApiKey });
  const template = Template.fromStack(stack);
  return { config, stack, base, template, baseTemplate: Template.fromStack(base), resources: template.toJSON().Resources as Record<string, Resource> };
}

export function ofType(resources: Record<string, Resource>, type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

/** The logical id of the one resource of `type` whose properties pass `match`. */
export function logicalId(resources: Record<string, Resource>, type: string, match: (props: Record<string, any>) => boolean): string {
  const found = ofType(resources, type).filter(([, r]) => match(r.Properties ?? {}));
  if (found.length !== 1) throw new Error(`${found.length} resources of ${type} match, not 1`);
  return found[0]![0];
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** Every statement of the identity policies attached to a role (inline policies and AWS::IAM::Policy both). */
export function roleStatements(resources: Record<string, Resource>, roleId: string): Statement[] {
  const inline = (resources[roleId]?.Properties?.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement as Statement[]);
  const attached = ofType(resources, 'AWS::IAM::Policy')
    .filter(([, r]) => (r.Properties!.Roles as unknown[]).some((ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId })))
    .flatMap(([, r]) => r.Properties!.PolicyDocument.Statement as Statement[]);
  return [...inline, ...attached];
}

/** The logical id of the role named `${prefix}-${name}`. */
export const roleId = (resources: Record<string, Resource>, roleName: string): string => logicalId(resources, 'AWS::IAM::Role', (p) => p.RoleName === roleName);

/** A container of a task definition family, by name. */
export function container(resources: Record<string, Resource>, family: string, name: string): Record<string, any> {
  const id = logicalId(resources, 'AWS::ECS::TaskDefinition', (p) => p.Family === family);
  const found = (resources[id]!.Properties!.ContainerDefinitions as Record<string, any>[]).find((c) => c.Name === name);
  if (found === undefined) throw new Error(`${family} has no container ${name}`);
  return found;
}

export const environmentOf = (c: Record<string, any>): Record<string, unknown> => Object.fromEntries((c.Environment ?? []).map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));

export interface Rule {
  /** The group the rule belongs to (logical id). */
  group: string;
  direction: 'ingress' | 'egress';
  cidr?: string;
  /** The other group (logical id), for group-to-group rules. */
  peer?: string;
  protocol: string;
  fromPort?: number;
  toPort?: number;
}

const groupRef = (v: unknown): string | undefined => (v as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];

/** Every security group rule, inline in AWS::EC2::SecurityGroup or a separate Ingress/Egress resource. */
export function securityRules(resources: Record<string, Resource>): Rule[] {
  const rules: Rule[] = [];
  const rule = (group: string, direction: Rule['direction'], r: Record<string, any>): Rule => ({
    group,
    direction,
    ...(r.CidrIp !== undefined ? { cidr: r.CidrIp } : {}),
    ...(r.CidrIpv6 !== undefined ? { cidr: r.CidrIpv6 } : {}),
    ...(groupRef(r.SourceSecurityGroupId ?? r.DestinationSecurityGroupId) !== undefined ? { peer: groupRef(r.SourceSecurityGroupId ?? r.DestinationSecurityGroupId)! } : {}),
    protocol: String(r.IpProtocol),
    fromPort: r.FromPort,
    toPort: r.ToPort,
  });
  for (const [id, r] of ofType(resources, 'AWS::EC2::SecurityGroup')) {
    for (const i of r.Properties!.SecurityGroupIngress ?? []) rules.push(rule(id, 'ingress', i));
    for (const e of r.Properties!.SecurityGroupEgress ?? []) rules.push(rule(id, 'egress', e));
  }
  for (const [, r] of ofType(resources, 'AWS::EC2::SecurityGroupIngress')) rules.push(rule(groupRef(r.Properties!.GroupId)!, 'ingress', r.Properties!));
  for (const [, r] of ofType(resources, 'AWS::EC2::SecurityGroupEgress')) rules.push(rule(groupRef(r.Properties!.GroupId)!, 'egress', r.Properties!));
  return rules;
}
