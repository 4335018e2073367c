/**
 * The one way every service and script connects to Redis: a single server
 * (`redis://`, `rediss://` for TLS) or a Redis Cluster (REDIS_CLUSTER_NODES),
 * with a CA file, an ACL user and a password read from a file — settings in
 * connection-settings.ts. A connection that cannot work fails at start with a
 * RedisConnectionError naming the setting to fix, never a secret.
 *
 * Cluster options, and why:
 *  - scaleReads 'master': every read goes where the writes go. Fenced commits
 *    and the claim script read what they (or the last owner) wrote; a replica
 *    lags, so reading from it could undo the fence's guarantee.
 *  - CLUSTERDOWN / TRYAGAIN / a node gone: retried after a short delay, at most
 *    maxRedirections times per command; during a failover (a replica taking
 *    over, ~node-timeout + 1 s) commands fail and succeed again on the same
 *    client without a restart. clusterRetryStrategy (the whole cluster
 *    unreachable) backs off up to CLUSTER_RETRY_CAP_MS and never gives up: the
 *    service recovers when Redis does, and says so on /health meanwhile.
 *  - slotsRefreshTimeout bounded: a hung node cannot stall the slot map.
 *  - natMap: nodes announce the addresses they know themselves by (a docker
 *    network's, a NAT's inside); REDIS_CLUSTER_NAT_MAP maps each to the one this
 *    client reaches. ElastiCache in a VPC needs none (the service runs in the
 *    VPC); a cluster in docker reached from the host does.
 *  - dnsLookup passthrough with TLS: ioredis would resolve a seed hostname (the
 *    ElastiCache configuration endpoint) to an IP and verify the certificate
 *    against the IP, which it does not name; passing the name through keeps
 *    TLS verification on the hostname.
 *  - redisOptions: TLS, user and password reach every node the client learns.
 */
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { SecretFileError, readSecretFile } from '@hotpath/config';
import type { RefinementCtx } from 'zod';
import { REDIS_CONNECTION_ENV, redisConnectionSettings, settingProblems, type RedisConnectionConfig, type RedisConnectionSettings, type RedisConnectionVariable } from './connection-settings.ts';

export {
  REDIS_CONNECTION_ENV,
  REDIS_CONNECTION_HELP,
  RedisConnectionSchema,
  parseHostPort,
  redisConnectionEnv,
  redisConnectionFields,
  redisConnectionSettings,
  settingProblems,
  type ClusterNodeAddress,
  type RedisConnectionConfig,
  type RedisConnectionSettings,
  type RedisConnectionVariable,
} from './connection-settings.ts';

export const REDIS_CONNECTION_ERROR_CODES = ['redis_setting_invalid', 'redis_tls_failed', 'redis_auth_failed', 'redis_unreachable', 'redis_cluster_down'] as const;
export type RedisConnectionErrorCode = (typeof REDIS_CONNECTION_ERROR_CODES)[number];

/** A connection that cannot work: the setting to fix is `variable`; the message never holds a secret or the URL. */
export class RedisConnectionError extends Error {
  override readonly name = 'RedisConnectionError';
  constructor(
    readonly code: RedisConnectionErrorCode,
    readonly variable: RedisConnectionVariable,
    /** Why, without the role and variable the message starts with (a config issue's text). */
    readonly detail: string,
    /** Who was connecting (RedisRole.name), when known. */
    readonly role?: string,
  ) {
    super(`redis${role === undefined ? '' : ` (${role})`}: ${variable}: ${detail}`);
  }

  /** Retrying cannot fix it (TLS, AUTH, a setting): a service fails its start on it; unreachable and cluster_down may heal. */
  get permanent(): boolean {
    return this.code === 'redis_tls_failed' || this.code === 'redis_auth_failed' || this.code === 'redis_setting_invalid';
  }
}

export type RedisClient = Redis | Cluster;

/** What differs between the clients of one service: its name and how each command may wait and retry. */
export interface RedisRole {
  /** Who connects: in errors, and the connection's CLIENT SETNAME (CLIENT LIST shows it). */
  name: string;
  /** Every command gives up after this (ms): no wait on a dead node is unbounded. */
  commandTimeout?: number | undefined;
  maxRetriesPerRequest?: number | null | undefined;
  enableOfflineQueue?: boolean | undefined;
  /** TCP + TLS handshake (ms); default 5 s. */
  connectTimeout?: number | undefined;
  lazyConnect?: boolean | undefined;
  /** connectRedis: ready within this (ms), else RedisConnectionError; default 10 s. */
  readyTimeoutMs?: number | undefined;
}

/** The longest pause between two reconnects of a whole cluster (or of one server). */
export const CLUSTER_RETRY_CAP_MS = 2_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_READY_TIMEOUT_MS = 10_000;

/** 100 ms, doubling, at most CLUSTER_RETRY_CAP_MS; never gives up (a service recovers when Redis does). */
export function reconnectDelay(times: number): number {
  return Math.min(100 * 2 ** Math.min(Math.max(times - 1, 0), 10), CLUSTER_RETRY_CAP_MS);
}

/**
 * The settings resolved once: URL parsed, the CA and password files read (a
 * service's clients share them). Throws RedisConnectionError
 * ('redis_setting_invalid') naming the variable when a setting cannot work.
 */
export class RedisConnection {
  readonly clustered: boolean;
  readonly tls: boolean;
  // private fields: a logged RedisConnection shows no password (nor the CA, which is long)
  readonly #password: string | undefined;
  readonly #ca: Buffer | undefined;
  readonly #username: string | undefined;
  readonly #host: string;
  readonly #port: number;
  readonly #db: number;
  // (private too: REDIS_URL may hold the password)
  readonly #settings: RedisConnectionSettings;

  constructor(settings: RedisConnectionSettings) {
    this.#settings = settings;
    const [problem] = settingProblems(settings);
    if (problem !== undefined) throw new RedisConnectionError('redis_setting_invalid', problem.variable, problem.message);
    const url = new URL(settings.url);
    this.tls = url.protocol === 'rediss:';
    this.clustered = (settings.clusterNodes?.length ?? 0) > 0;
    this.#host = url.hostname.replace(/^\[|\]$/g, '');
    this.#port = url.port === '' ? 6379 : Number(url.port);
    const db = url.pathname.replace(/^\//, '');
    this.#db = db === '' ? 0 : Number(db);
    if (!Number.isInteger(this.#db) || this.#db < 0) throw new RedisConnectionError('redis_setting_invalid', 'REDIS_URL', 'its path is not a database number');
    this.#username = settings.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
    if (settings.tlsCaFile !== undefined) this.#ca = readCa(settings.tlsCaFile);
    if (settings.passwordFile !== undefined) {
      try {
        this.#password = readSecretFile(settings.passwordFile, 'REDIS_PASSWORD_FILE');
      } catch (err) {
        // SecretFileError says "REDIS_PASSWORD_FILE=<path>: <reason>"; the variable leads our message already
        const reason = err instanceof SecretFileError ? err.message.slice(err.variable.length + 1) : 'cannot be read';
        throw new RedisConnectionError('redis_setting_invalid', 'REDIS_PASSWORD_FILE', reason);
      }
    } else if (url.password !== '') {
      this.#password = decodeURIComponent(url.password);
    }
  }

  /** Where this connects, for messages: host:port (or the seed nodes), never the user or password. */
  get where(): string {
    return this.clustered ? (this.#settings.clusterNodes ?? []).map((n) => `${n.host}:${n.port}`).join(',') : `${this.#host}:${this.#port}`;
  }

  /** What every connection to a node carries: TLS, user and password, timeouts, the client name. */
  private nodeOptions(role: RedisRole): RedisOptions {
    return {
      username: this.#username,
      password: this.#password,
      tls: this.tls ? (this.#ca === undefined ? {} : { ca: this.#ca }) : undefined,
      connectTimeout: role.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
      commandTimeout: role.commandTimeout,
      maxRetriesPerRequest: role.maxRetriesPerRequest,
      connectionName: role.name.replace(/[^A-Za-z0-9_.:-]/g, '-'),
    };
  }

  /** A client, connecting in the background (or at the first command with lazyConnect): prefer connect(). */
  client(role: RedisRole): RedisClient {
    const node = this.nodeOptions(role);
    if (!this.clustered) {
      return new Redis({ ...node, host: this.#host, port: this.#port, db: this.#db, enableOfflineQueue: role.enableOfflineQueue, lazyConnect: role.lazyConnect, retryStrategy: reconnectDelay });
    }
    const options: ClusterOptions = {
      scaleReads: 'master',
      enableOfflineQueue: role.enableOfflineQueue,
      lazyConnect: role.lazyConnect,
      clusterRetryStrategy: reconnectDelay,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      retryDelayOnFailover: 200,
      maxRedirections: 16,
      slotsRefreshTimeout: 2_000,
      slotsRefreshInterval: 5_000,
      natMap: this.#settings.natMap === undefined ? undefined : { ...this.#settings.natMap },
      dnsLookup: this.tls ? (host, callback) => callback(null, host) : undefined,
      redisOptions: node,
    };
    return new Cluster(
      (this.#settings.clusterNodes ?? []).map((n) => ({ host: n.host, port: n.port })),
      options,
    );
  }

  /**
   * A client that is ready (a cluster: every slot served), or a
   * RedisConnectionError: at once for a TLS or AUTH refusal (retrying cannot
   * fix them), after readyTimeoutMs when nothing answers. The client is closed
   * on failure.
   */
  async connect(role: RedisRole): Promise<RedisClient> {
    const client = this.client({ ...role, lazyConnect: false });
    try {
      await this.ready(client, role);
      if (!this.clustered && (await this.isClusterNode(client))) {
        throw new RedisConnectionError(
          'redis_setting_invalid',
          'REDIS_CLUSTER_NODES',
          `${this.where} is a Redis Cluster node: set REDIS_CLUSTER_NODES (keys of other nodes would fail with MOVED)`,
          role.name,
        );
      }
      return client;
    } catch (err) {
      client.on('error', ignore); // errors of a client given up on: already reported by this throw
      client.disconnect();
      throw err;
    }
  }

  /** Whether a single-server client reached a Cluster node (INFO refused, e.g. a user without it: cannot tell, so no). */
  private async isClusterNode(client: RedisClient): Promise<boolean> {
    return /^cluster_enabled:1/m.test(await client.info('cluster').catch(() => ''));
  }

  /**
   * Why a cluster client's connections close: ioredis fetches the slot map on
   * a side connection whose errors it swallows, so a TLS or AUTH refusal
   * reaches the client as "Connection is closed." One plain connection to the
   * first seed, with the same TLS and AUTH and no retry, says what it was.
   */
  private async probe(role: RedisRole): Promise<Error | undefined> {
    const seed = this.#settings.clusterNodes![0]!;
    const timeout = role.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const r = new Redis({ ...this.nodeOptions(role), host: seed.host, port: seed.port, lazyConnect: true, commandTimeout: timeout, maxRetriesPerRequest: 0, retryStrategy: () => null });
    let first: Error | undefined;
    r.on('error', (err: Error) => {
      first ??= err;
    });
    try {
      await r.connect();
      await r.ping();
    } catch (err) {
      first ??= err as Error;
    } finally {
      r.disconnect();
    }
    return first;
  }

  /**
   * Resolves once `client` (made by client()) is ready, or rejects with a
   * RedisConnectionError: at once for a TLS or AUTH refusal, after
   * readyTimeoutMs when nothing answers. The client is left as it is (still
   * reconnecting on its own): for a service that starts without Redis and
   * says so, rather than waits.
   */
  waitReady(client: RedisClient, role: RedisRole): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    return this.ready(client, role);
  }

  private ready(client: RedisClient, role: RedisRole): Promise<void> {
    const timeoutMs = role.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      let last: Error | undefined;
      let answered = false; // a cluster node served the slot map: reachable, authenticated, but not ready
      let probed = false;
      let done = false;
      const finish = (err?: RedisConnectionError): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        // a client given up on may still emit (in this very tick): its errors are this rejection's
        if (err !== undefined) client.on('error', ignore);
        client.off('error', onError).off('node error', onError).off('refresh', onRefresh).off('ready', onReady);
        if (err === undefined) resolve();
        else reject(err);
      };
      const failure = (): RedisConnectionError => {
        if (this.clustered && answered)
          return new RedisConnectionError(
            'redis_cluster_down',
            'REDIS_CLUSTER_NODES',
            `the cluster at ${this.where} answers but is not ready within ${timeoutMs} ms: cluster_state not ok (slots not served, a failover in progress), or the nodes it names cannot be reached (addresses inside docker or a NAT: REDIS_CLUSTER_NAT_MAP)`,
            role.name,
          );
        return last === undefined
          ? new RedisConnectionError('redis_unreachable', this.clustered ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL', `no answer from ${this.where} within ${timeoutMs} ms`, role.name)
          : this.classify(last, role.name, timeoutMs);
      };
      const onError = (err: Error & { lastNodeError?: Error }): void => {
        last = err.lastNodeError ?? err;
        const e = this.classify(last, role.name, timeoutMs);
        if (e.permanent) finish(e);
        else if (this.clustered && !probed) {
          probed = true;
          void this.probe(role).then((cause) => {
            if (cause !== undefined) onError(cause);
          });
        }
      };
      const onRefresh = (): void => {
        answered = true;
      };
      const onReady = (): void => finish();
      const timer = setTimeout(() => finish(failure()), timeoutMs);
      // (no 'end' to wait for: reconnectDelay never gives up, the deadline ends the wait)
      client.on('error', onError).on('node error', onError).on('refresh', onRefresh).once('ready', onReady);
    });
  }

  /** What a client error means for the operator: the setting to look at, the cause in words, no secret. */
  classify(err: Error, role?: string, timeoutMs?: number): RedisConnectionError {
    const code = String((err as NodeJS.ErrnoException).code ?? '');
    const text = this.scrub(`${code === '' ? '' : `${code}: `}${err.message}`);
    // a TLS client meeting a server without TLS there: a plaintext reply, or a hang the server ends
    if (this.tls && (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/.test(code) || /before secure TLS connection was established/.test(err.message))) {
      return new RedisConnectionError('redis_tls_failed', 'REDIS_URL', `no TLS handshake with ${this.where}: rediss:// needs the server's TLS port (${text})`, role);
    }
    if (/^(ERR_TLS_|ERR_SSL_)|CERT|UNABLE_TO_|SELF_SIGNED/.test(code) || /certificate/i.test(err.message)) {
      if (/ALTNAME/.test(code)) return new RedisConnectionError('redis_tls_failed', 'REDIS_URL', `the server's certificate does not name the host of REDIS_URL (${text})`, role);
      const why =
        this.#ca === undefined
          ? "the server's certificate is not signed by a CA this system trusts: set REDIS_TLS_CA_FILE to the CA that signed it"
          : "the server's certificate is not signed by the CA in REDIS_TLS_CA_FILE";
      return new RedisConnectionError('redis_tls_failed', 'REDIS_TLS_CA_FILE', `TLS handshake with ${this.where} failed: ${why} (${text})`, role);
    }
    if (/\bNOAUTH\b/.test(err.message))
      return new RedisConnectionError(
        'redis_auth_failed',
        'REDIS_PASSWORD_FILE',
        `${this.where} requires a password and ${this.#password === undefined ? 'none is set' : 'it was not accepted'} (${text})`,
        role,
      );
    if (/\bNOPERM\b/.test(err.message))
      return new RedisConnectionError(
        'redis_auth_failed',
        'REDIS_USERNAME',
        `the user may not run a command the client needs at connect (INFO; CLUSTER INFO and CLUSTER SLOTS on a cluster): grant it (${text})`,
        role,
      );
    if (/\bWRONGPASS\b|invalid password|invalid username-password/i.test(err.message)) {
      return new RedisConnectionError(
        'redis_auth_failed',
        'REDIS_PASSWORD_FILE',
        `${this.where} refused the ${this.#username === undefined ? 'password' : 'user (REDIS_USERNAME or REDIS_URL) and password'} (${text})`,
        role,
      );
    }
    if (/\bCLUSTERDOWN\b/.test(err.message)) return new RedisConnectionError('redis_cluster_down', 'REDIS_CLUSTER_NODES', `the cluster at ${this.where} is down (${text})`, role);
    if (/cluster support disabled/i.test(err.message))
      return new RedisConnectionError('redis_setting_invalid', 'REDIS_CLUSTER_NODES', `${this.where} is not a Redis Cluster node: unset REDIS_CLUSTER_NODES (${text})`, role);
    const within = timeoutMs === undefined ? '' : ` within ${timeoutMs} ms`;
    // a connection accepted, then reset at the first bytes: a plaintext client at a TLS-only port, the usual cause
    const hint = !this.tls && code === 'ECONNRESET' ? '; if the server requires TLS, use rediss://' : '';
    return new RedisConnectionError('redis_unreachable', this.clustered ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL', `no answer from ${this.where}${within} (${text})${hint}`, role);
  }

  /** Error texts from the client may quote a command's arguments: the password never gets through. */
  private scrub(text: string): string {
    const p = this.#password;
    const out = p === undefined || p === '' ? text : text.split(p).join('***');
    return out.replace(/\/\/[^/@\s]*@/g, '//***@');
  }
}

const ignore = (): void => undefined;

function readCa(path: string): Buffer {
  let ca: Buffer;
  try {
    ca = readFileSync(path);
  } catch (err) {
    throw new RedisConnectionError('redis_setting_invalid', 'REDIS_TLS_CA_FILE', `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new RedisConnectionError('redis_setting_invalid', 'REDIS_TLS_CA_FILE', `${path}: not a PEM certificate`);
  return ca;
}

/**
 * For an app schema's `.transform` (with redisConnectionFields spread in):
 * the settings, checked as the connection will use them — the CA and password
 * files read once here, so one that cannot be read is a configuration issue
 * naming its variable (a ConfigError: exit code 2) rather than a failed start.
 * The files are read again when the service connects (RedisConnection).
 */
export function checkedRedisSettings(c: RedisConnectionConfig, ctx: RefinementCtx): RedisConnectionSettings {
  const settings = redisConnectionSettings(c, ctx);
  if (settingProblems(settings).length > 0) return settings; // (already issues, each naming its variable)
  try {
    new RedisConnection(settings);
  } catch (err) {
    if (!(err instanceof RedisConnectionError)) throw err;
    ctx.addIssue({ code: 'custom', path: [REDIS_CONNECTION_ENV[err.variable]], message: err.detail });
  }
  return settings;
}

/** What startCheck logs through: a pino logger, or anything with the same two calls. */
export interface StartCheckLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * A service's Redis check at start, the same for every service: true once
 * every client is ready; false when Redis does not answer within each role's
 * readyTimeoutMs (logged with the error whole and the variable; the clients
 * keep reconnecting, the service starts and says so on /health); a TLS or AUTH
 * refusal, or another setting that cannot work, is logged the same way and
 * thrown — retrying cannot fix a setting, the start fails.
 */
export async function startCheck(connection: RedisConnection, clients: readonly (readonly [RedisClient, RedisRole])[], log: StartCheckLog): Promise<boolean> {
  try {
    await Promise.all(clients.map(([client, role]) => connection.waitReady(client, role)));
    return true;
  } catch (err) {
    const variable = err instanceof RedisConnectionError ? err.variable : undefined;
    if (err instanceof RedisConnectionError && !err.permanent) {
      log.warn({ err, variable }, 'Redis not reachable at start: retrying in the background');
      return false;
    }
    log.error({ err, variable }, 'Redis refused the connection: fix the setting named');
    throw err;
  }
}

/** A client of `settings`, ready, or a RedisConnectionError naming the setting to fix. */
export async function connectRedis(settings: RedisConnectionSettings | RedisConnection, role: RedisRole): Promise<RedisClient> {
  const connection = settings instanceof RedisConnection ? settings : new RedisConnection(settings);
  return connection.connect(role);
}

/** A client of `settings` that connects on its own (no wait): for clients that must exist before Redis is up. */
export function createRedisClient(settings: RedisConnectionSettings | RedisConnection, role: RedisRole): RedisClient {
  return (settings instanceof RedisConnection ? settings : new RedisConnection(settings)).client(role);
}
