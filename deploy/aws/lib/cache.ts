/**
 * ElastiCache for Redis OSS in cluster mode: TLS in transit (required, not optional), encryption at rest,
 * Multi-AZ with automatic failover, and RBAC — one ElastiCache user per service, each with its own
 * generated password in Secrets Manager and the same ACL as the compose stack (deploy/redis/users.acl.in,
 * read at synth time so the two cannot drift), the `default` user switched off.
 *
 * Every multi-key script of libs/state keeps its keys in one hash slot ({SYMBOL} tags), so the services
 * run on any number of shards; they connect through the configuration endpoint (REDIS_CLUSTER_NODES).
 */
import { readFileSync } from 'node:fs';
import { RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DeployConfig } from './config.ts';
import { PORTS } from './network.ts';

/** The compose stack's Redis users; the AWS users are derived from it. */
export const COMPOSE_ACL_FILE = new URL('../../redis/users.acl.in', import.meta.url);

/** The users a service connects as (the compose file's exporter has no counterpart here: CloudWatch has ElastiCache's metrics). */
export const REDIS_USERS = ['aggregator', 'inference', 'admin'] as const;
export type RedisUser = (typeof REDIS_USERS)[number];

/**
 * ioredis' cluster client asks a node for the slot map (CLUSTER SLOTS, or SHARDS on newer clients) and
 * INFO; ElastiCache runs no ACL rule a user does not have, so the compose users get these three added.
 */
const CLUSTER_DISCOVERY = ['+cluster|slots', '+cluster|shards', '+cluster|info'];

/**
 * A compose ACL line as an ElastiCache access string. ElastiCache sets passwords through its API and refuses
 * `reset*` rules (a user starts with no keys, channels or commands anyway), so those go; everything else —
 * key patterns, %R~ read-only keys, selectors, command rules — is kept as written.
 */
export function accessStringFor(user: string, aclFile: string = readFileSync(COMPOSE_ACL_FILE, 'utf8')): string {
  const line = aclFile.split('\n').find((l) => l.startsWith(`user ${user} `));
  if (line === undefined) throw new Error(`${COMPOSE_ACL_FILE.pathname} has no line for user ${user}`);
  const rules = line
    .slice(`user ${user} `.length)
    .trim()
    .split(/\s+/)
    .filter((rule) => !/^(resetkeys|resetchannels|resetpass|reset|nopass|>.*|#.*)$/.test(rule));
  // (the compose file may already grant some of them: each rule once)
  return user === 'admin' ? rules.join(' ') : [...rules, ...CLUSTER_DISCOVERY.filter((rule) => !rules.includes(rule))].join(' ');
}

export interface CacheProps {
  config: DeployConfig;
  vpc: ec2.IVpc;
  securityGroup: ec2.ISecurityGroup;
  logRetention: logs.RetentionDays;
}

export class Cache extends Construct {
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** Per user: the secret (JSON {username, password}) its service reads the password from. */
  readonly secrets: Record<RedisUser, secretsmanager.Secret>;
  /** host:port of the configuration endpoint (REDIS_CLUSTER_NODES). */
  readonly configurationEndpoint: string;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const { config } = props;

    this.secrets = {} as Record<RedisUser, secretsmanager.Secret>;
    const users: elasticache.CfnUser[] = [];
    for (const name of REDIS_USERS) {
      const secret = new secretsmanager.Secret(this, `${name}Password`, {
        secretName: `${config.prefix}/redis/${name}`,
        description: `ElastiCache RBAC password of the ${name} user`,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ username: name }),
          generateStringKey: 'password',
          // ElastiCache passwords: 16–128 printable characters without spaces, " / @
          passwordLength: 48,
          excludePunctuation: true,
        },
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.secrets[name] = secret;
      users.push(
        new elasticache.CfnUser(this, `${name}User`, {
          engine: 'redis',
          userId: `${config.prefix}-${name}`,
          userName: name,
          accessString: accessStringFor(name),
          // resolved by CloudFormation at deploy time ({{resolve:secretsmanager:…}}): never in the template
          authenticationMode: { Type: 'password', Passwords: [SecretValue.secretsManager(secret.secretArn, { jsonField: 'password' }).unsafeUnwrap()] },
        }),
      );
    }
    // every user group must hold a user named `default`: this one can do nothing (as in compose: `user default off`)
    const defaultUser = new elasticache.CfnUser(this, 'defaultUser', {
      engine: 'redis',
      userId: `${config.prefix}-default-off`,
      userName: 'default',
      accessString: 'off -@all',
      noPasswordRequired: true,
    });
    const userGroup = new elasticache.CfnUserGroup(this, 'Users', {
      engine: 'redis',
      userGroupId: `${config.prefix}-users`,
      userIds: [defaultUser.ref, ...users.map((u) => u.ref)],
    });

    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'hotpath Redis: isolated subnets',
      subnetIds: props.vpc.isolatedSubnets.map((s) => s.subnetId),
      cacheSubnetGroupName: `${config.prefix}-redis`,
    });

    const logGroup = (kind: string) => new logs.LogGroup(this, `${kind}Log`, { logGroupName: `/${config.prefix}/redis/${kind}`, retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const delivery = (logType: 'slow-log' | 'engine-log', group: logs.LogGroup): elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty => ({
      logType,
      logFormat: 'json',
      destinationType: 'cloudwatch-logs',
      destinationDetails: { cloudWatchLogsDetails: { logGroup: group.logGroupName } },
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupId: `${config.prefix}-redis`,
      replicationGroupDescription: 'hotpath features, state, leases and predictions',
      engine: 'redis',
      engineVersion: config.redisEngineVersion,
      cacheNodeType: config.redisNodeType,
      clusterMode: 'enabled',
      cacheParameterGroupName: 'default.redis7.cluster.on',
      numNodeGroups: config.redisShards,
      replicasPerNodeGroup: config.redisReplicasPerShard,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      port: PORTS.redis,
      transitEncryptionEnabled: true,
      // `required`, not `preferred`: a client without TLS is refused, not served in clear
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      userGroupIds: [userGroup.ref],
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [props.securityGroup.securityGroupId],
      // the state is rebuilt from Kinesis (checkpoints), but a daily snapshot makes a lost cluster a restore, not a replay
      snapshotRetentionLimit: 1,
      snapshotWindow: '03:00-04:00',
      preferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      autoMinorVersionUpgrade: true,
      logDeliveryConfigurations: [delivery('slow-log', logGroup('slow')), delivery('engine-log', logGroup('engine'))],
    });
    // deleting the stack leaves a final snapshot behind, not nothing
    this.replicationGroup.applyRemovalPolicy(RemovalPolicy.SNAPSHOT);
    this.replicationGroup.addResourceDependency(userGroup);
    this.replicationGroup.addResourceDependency(subnets);
    this.configurationEndpoint = `${this.replicationGroup.attrConfigurationEndPointAddress}:${this.replicationGroup.attrConfigurationEndPointPort}`;
  }
}
