/**
 * How a service is told which Redis to use (one server or a Cluster, TLS,
 * ACL user, password), as typed settings, a zod fragment apps merge into
 * their configuration, and the env map that names each variable:
 *
 *   REDIS_URL              redis://host:port or rediss://host:port (TLS); may name the ACL user
 *   REDIS_CLUSTER_NODES    host:port,host:port — set: a Redis Cluster seeded from these nodes
 *                          (REDIS_URL then gives only the scheme and the user, not the host)
 *   REDIS_CLUSTER_NAT_MAP  from-host:port=to-host:port,… — addresses the nodes announce that
 *                          this client cannot reach as such (docker, NAT): see connection.ts
 *   REDIS_TLS_CA_FILE      PEM file of the CA that signed the servers' certificates (rediss:// only)
 *   REDIS_USERNAME         the ACL user (or in REDIS_URL, not both)
 *   REDIS_PASSWORD_FILE    a file holding the password (a secret), so it is in no environment
 *
 * Only paths are settings: the files are read once, when the connection is
 * made (connection.ts). Messages name the variable, never a secret or the URL
 * (which may hold one).
 */
import { z, type RefinementCtx } from 'zod';

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export interface RedisConnectionSettings {
  /** redis:// or rediss:// (TLS). Its user is the ACL user; a password in it is refused when passwordFile is given. */
  url: string;
  /** Set: a Redis Cluster, seeded from these nodes (one is enough; the client learns the rest). */
  clusterNodes?: readonly ClusterNodeAddress[] | undefined;
  /** Announced node address (`host:port`) → the address this client reaches it at. */
  natMap?: Readonly<Record<string, ClusterNodeAddress>> | undefined;
  tlsCaFile?: string | undefined;
  username?: string | undefined;
  passwordFile?: string | undefined;
}

/** Environment variable → setting, to merge into an app's env map. */
export const REDIS_CONNECTION_ENV = {
  REDIS_URL: 'redisUrl',
  REDIS_CLUSTER_NODES: 'redisClusterNodes',
  REDIS_CLUSTER_NAT_MAP: 'redisClusterNatMap',
  REDIS_TLS_CA_FILE: 'redisTlsCaFile',
  REDIS_USERNAME: 'redisUsername',
  REDIS_PASSWORD_FILE: 'redisPasswordFile',
} as const;
export type RedisConnectionVariable = keyof typeof REDIS_CONNECTION_ENV;

/** What each variable means, for the generated configuration reference (docs/configuration.md). */
export const REDIS_CONNECTION_HELP: Readonly<Record<RedisConnectionVariable, string>> = {
  REDIS_URL:
    '`redis://host:port` or `rediss://host:port` (TLS); may name the ACL user (`redis://aggregator@redis:6379`) and a database (`/2`, one server only). With REDIS_CLUSTER_NODES it gives only the scheme and the user',
  REDIS_CLUSTER_NODES: '`host:port,host:port`: set, the services use Redis Cluster, seeded from these nodes (one is enough; ElastiCache: the configuration endpoint)',
  REDIS_CLUSTER_NAT_MAP: '`from-host:port=to-host:port,…`: addresses the cluster nodes announce that this client reaches elsewhere (docker, a NAT); not needed inside an ElastiCache VPC',
  REDIS_TLS_CA_FILE: 'PEM file of the CA that signed the servers’ certificates (`rediss://` only); unset, the system’s CAs',
  REDIS_USERNAME: 'the ACL user (or in REDIS_URL, not both)',
  REDIS_PASSWORD_FILE: 'a file holding the password (a Docker or Secrets Manager secret), so it is in no environment; never in a log',
};

/** `host:port` or `[v6]:port`; undefined when it is not one. */
export function parseHostPort(text: string): ClusterNodeAddress | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(text.trim());
  if (m === null) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65_535 ? { host: m[1]!.replace(/^\[|\]$/g, ''), port } : undefined;
}

// (host:port lists are no secret: a refused entry is quoted so the operator sees which one)
const nodeList = z.string().transform((text, ctx): ClusterNodeAddress[] => {
  const out: ClusterNodeAddress[] = [];
  const entries = text.split(',').filter((s) => s.trim() !== '');
  for (const entry of entries) {
    const node = parseHostPort(entry);
    if (node === undefined) ctx.addIssue({ code: 'custom', message: `"${entry.trim()}" is not host:port` });
    else out.push(node);
  }
  if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'names no node (host:port,host:port)' });
  return out;
});

const natMapList = z.string().transform((text, ctx): Record<string, ClusterNodeAddress> => {
  const out: Record<string, ClusterNodeAddress> = {};
  for (const entry of text.split(',').filter((s) => s.trim() !== '')) {
    const [from, to, extra] = entry.split('=');
    const source = from === undefined ? undefined : parseHostPort(from);
    const target = to === undefined ? undefined : parseHostPort(to);
    if (source === undefined || target === undefined || extra !== undefined) ctx.addIssue({ code: 'custom', message: `"${entry.trim()}" is not from-host:port=to-host:port` });
    else out[`${source.host}:${source.port}`] = target;
  }
  return out;
});

/** The fields to spread into an app's `z.object({...})`, keyed as REDIS_CONNECTION_ENV names them. */
export const redisConnectionFields = {
  /** redis:// or rediss:// (TLS); may name the ACL user (`redis://aggregator@redis:6379`). */
  redisUrl: z.string().default('redis://127.0.0.1:6379'),
  redisClusterNodes: nodeList.optional(),
  redisClusterNatMap: natMapList.optional(),
  redisTlsCaFile: z.string().min(1).optional(),
  redisUsername: z.string().min(1).optional(),
  redisPasswordFile: z.string().min(1).optional(),
};

export interface RedisConnectionConfig {
  redisUrl: string;
  redisClusterNodes?: ClusterNodeAddress[] | undefined;
  redisClusterNatMap?: Record<string, ClusterNodeAddress> | undefined;
  redisTlsCaFile?: string | undefined;
  redisUsername?: string | undefined;
  redisPasswordFile?: string | undefined;
}

/** What is wrong with the settings taken together: the variable to fix and why (no value quoted). */
export interface SettingProblem {
  variable: RedisConnectionVariable;
  message: string;
}

export function settingProblems(s: RedisConnectionSettings): SettingProblem[] {
  let url: URL;
  try {
    url = new URL(s.url);
  } catch {
    return [{ variable: 'REDIS_URL', message: 'not a URL (redis://host:port or rediss://host:port)' }];
  }
  const problems: SettingProblem[] = [];
  const tls = url.protocol === 'rediss:';
  if (url.protocol !== 'redis:' && !tls) problems.push({ variable: 'REDIS_URL', message: 'not a redis:// or rediss:// URL' });
  if (url.hostname === '') problems.push({ variable: 'REDIS_URL', message: 'has no host' });
  if (url.password !== '' && s.passwordFile !== undefined) problems.push({ variable: 'REDIS_URL', message: 'already has a password; give it in the URL or in REDIS_PASSWORD_FILE, not both' });
  if (url.username !== '' && s.username !== undefined && decodeURIComponent(url.username) !== s.username)
    problems.push({ variable: 'REDIS_USERNAME', message: 'differs from the user REDIS_URL names; give it in one place' });
  if (s.tlsCaFile !== undefined && !tls) problems.push({ variable: 'REDIS_TLS_CA_FILE', message: 'is set but REDIS_URL is not rediss:// (TLS)' });
  const clustered = s.clusterNodes !== undefined && s.clusterNodes.length > 0;
  if (clustered && !/^\/?0?$/.test(url.pathname)) problems.push({ variable: 'REDIS_URL', message: 'names a database; a Redis Cluster has only database 0' });
  if (s.natMap !== undefined && Object.keys(s.natMap).length > 0 && !clustered)
    problems.push({ variable: 'REDIS_CLUSTER_NAT_MAP', message: 'is set but REDIS_CLUSTER_NODES is not (a NAT map is for a Cluster)' });
  return problems;
}

/** For an object schema's `.transform`: the settings, with what is wrong as zod issues on the settings named. */
export function redisConnectionSettings(c: RedisConnectionConfig, ctx: RefinementCtx): RedisConnectionSettings {
  const settings: RedisConnectionSettings = {
    url: c.redisUrl,
    clusterNodes: c.redisClusterNodes,
    natMap: c.redisClusterNatMap,
    tlsCaFile: c.redisTlsCaFile,
    username: c.redisUsername,
    passwordFile: c.redisPasswordFile,
  };
  for (const p of settingProblems(settings)) ctx.addIssue({ code: 'custom', path: [REDIS_CONNECTION_ENV[p.variable]], message: p.message });
  return settings;
}

/** The fragment alone (scripts that need only Redis): env settings in, RedisConnectionSettings out. */
export const RedisConnectionSchema = z.object(redisConnectionFields).transform(redisConnectionSettings);

/** `host:port`, an IPv6 host in brackets: what parseHostPort reads back. */
function hostPort(n: ClusterNodeAddress): string {
  return `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`;
}

/**
 * The settings as environment variables again, only those set (the launcher
 * hands them to the services it starts): RedisConnectionSchema reads them back
 * to the same settings. REDIS_URL is as given, so it may hold a password.
 */
export function redisConnectionEnv(s: RedisConnectionSettings): Partial<Record<RedisConnectionVariable, string>> {
  const env: Partial<Record<RedisConnectionVariable, string>> = { REDIS_URL: s.url };
  if (s.clusterNodes !== undefined && s.clusterNodes.length > 0) env.REDIS_CLUSTER_NODES = s.clusterNodes.map(hostPort).join(',');
  if (s.natMap !== undefined && Object.keys(s.natMap).length > 0) {
    env.REDIS_CLUSTER_NAT_MAP = Object.entries(s.natMap)
      .map(([from, to]) => {
        // the key is `host:port` as announced: an IPv6 host gets its brackets back
        const colon = from.lastIndexOf(':');
        return `${hostPort({ host: from.slice(0, colon), port: Number(from.slice(colon + 1)) })}=${hostPort(to)}`;
      })
      .join(',');
  }
  if (s.tlsCaFile !== undefined) env.REDIS_TLS_CA_FILE = s.tlsCaFile;
  if (s.username !== undefined) env.REDIS_USERNAME = s.username;
  if (s.passwordFile !== undefined) env.REDIS_PASSWORD_FILE = s.passwordFile;
  return env;
}
