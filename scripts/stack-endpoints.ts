/**
 * Where `pnpm read:vector`, `pnpm leases` and the other tools that talk to the stack find it: a flag, else
 * the environment, else the `pnpm start` running from this checkout (its .hotpath/state.json), else the
 * setting's default. Taking an endpoint from the state file is said on stderr, so a user who expected
 * another Redis sees why.
 */
import { fileURLToPath } from 'node:url';
import { describeLauncherState, launcherStateForTool } from '@hotpath/config';

/** The Redis variables, for a tool's usage (docs/configuration.md has the whole story). */
export const REDIS_USAGE_ENV = {
  REDIS_URL: 'redis://host:port or rediss:// (TLS); may name the ACL user',
  REDIS_CLUSTER_NODES: 'host:port,…: a Redis Cluster seeded from these nodes',
  REDIS_CLUSTER_NAT_MAP: 'from-host:port=to-host:port,…: cluster addresses reached elsewhere',
  REDIS_TLS_CA_FILE: 'PEM file of the CA for rediss://',
  REDIS_USERNAME: 'the ACL user',
  REDIS_PASSWORD_FILE: 'a file holding the password',
} as const;

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Endpoints {
  /** Undefined: the Redis variables (or their default) decide. */
  redisUrl: string | undefined;
  /** Undefined: KINESIS_STREAM (or its default) decides. */
  stream: string | undefined;
}

/**
 * `given` (from the tool's flags) completed from the running `pnpm start` where neither a flag nor a
 * variable sets it; `stream` only for a tool that names a stream (pass it, possibly undefined).
 */
export function stackEndpoints(tool: string, given: { redisUrl: string | undefined; stream?: string | undefined }, env: NodeJS.ProcessEnv = process.env, root = ROOT): Endpoints {
  const out: Endpoints = { redisUrl: given.redisUrl, stream: given.stream };
  const needRedis = given.redisUrl === undefined && !env['REDIS_URL'] && !env['REDIS_CLUSTER_NODES'];
  const needStream = 'stream' in given && given.stream === undefined && !env['KINESIS_STREAM'];
  if (!needRedis && !needStream) return out;
  const state = launcherStateForTool(tool, root);
  if (state === undefined) return out;
  const taken: string[] = [];
  if (needRedis) taken.push(`Redis ${(out.redisUrl = state.redisUrl)}`);
  if (needStream) taken.push(`stream ${(out.stream = state.kinesisStream)}`);
  process.stderr.write(`${tool}: ${taken.join(', ')} from ${describeLauncherState(state)}\n`);
  return out;
}
