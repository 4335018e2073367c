/**
 * Which Redis the stack uses: the operator's (REDIS_URL or REDIS_CLUSTER_NODES, with TLS and AUTH as set) when
 * it answers, else a private redis-server from PATH, else a clear error. An operator's Redis that refuses the
 * connection (TLS, password, user) is an error naming the setting, never silently replaced by a private one.
 */
import { RedisConnection, RedisConnectionError, redisAnswers, redisConnectionEnv, type RedisConnectionSettings } from '@hotpath/state';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '@hotpath/service';
import { STOP_GRACE_MS } from './child.ts';
import { childEnv } from './child-env.ts';
import type { LauncherErrorCode } from './errors.ts';
import { redactCredentials } from './redact.ts';

/** No Redis to run on: REDIS_URL does not answer and no redis-server could be started. The message says what to install or set. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  readonly code: LauncherErrorCode = 'redis_unavailable';
}

export interface RedisHandle {
  /** Where it is, as given (so without a password kept in a file): safe to print once redacted. */
  url: string;
  /** Why the operator's Redis was not used (it did not answer), when a private one was started instead. */
  unusedBecause?: string;
  /**
   * What a service that uses it is given: REDIS_URL and every other Redis variable the operator set
   * (REDIS_CLUSTER_NODES, REDIS_TLS_CA_FILE, REDIS_PASSWORD_FILE…), file paths made absolute.
   */
  clientEnv: Record<string, string>;
  /** The spawned redis-server's pid, when we started one. */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * redis-server behind a small sh guard: children run in their own process
 * groups, so nothing would stop this server if the launcher were killed with
 * SIGKILL. The guard prints the server's pid, stops it (SIGTERM: the AOF is
 * flushed) when the launcher's pid disappears, and forwards its own SIGTERM.
 */
const GUARD = `redis-server "$@" >/dev/null 2>&1 &
r=$!
echo $r
trap 'kill -TERM $r 2>/dev/null; wait $r; exit 0' TERM INT
while kill -0 "$LAUNCHER_PID" 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.5; done
kill -TERM $r 2>/dev/null
wait $r`;

/** How long the operator's Redis gets to answer before a private one is started. */
const CHECK_MS = 2_000;

export async function resolveRedis(configured: RedisConnectionSettings | undefined): Promise<RedisHandle> {
  let unusedBecause: string | undefined;
  if (configured !== undefined) {
    // (a file that cannot be read, a TLS or AUTH refusal: RedisConnectionError naming the setting, thrown to the caller)
    const connection = new RedisConnection(configured);
    try {
      const client = await connection.connect({ name: 'launcher-check', connectTimeout: CHECK_MS, readyTimeoutMs: CHECK_MS, maxRetriesPerRequest: 0 });
      client.disconnect();
      // the services run from the repository root: a file's path must not depend on where pnpm start ran
      const files = { tlsCaFile: configured.tlsCaFile && resolve(configured.tlsCaFile), passwordFile: configured.passwordFile && resolve(configured.passwordFile) };
      return { url: configured.url, clientEnv: redisConnectionEnv({ ...configured, ...files }), stop: async () => undefined };
    } catch (err) {
      if (!(err instanceof RedisConnectionError) || err.permanent) throw err;
      unusedBecause = err.message; // (no secret: the connection's errors never quote one)
    }
  }
  if (spawnSync('redis-server', ['--version']).error) {
    throw new RedisUnavailableError(
      `${unusedBecause === undefined ? '' : `${redactCredentials(unusedBecause)}; and `}no redis-server on PATH. Install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:6379.`,
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''];
  const proc: ChildProcess = spawn('sh', ['-c', GUARD, 'redis-guard', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
    env: childEnv(process.env, [], { LAUNCHER_PID: String(process.pid) }),
  });
  const pid = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve(Number.parseInt(d.toString(), 10)));
    proc.once('exit', () => reject(new RedisUnavailableError('redis-server did not start')));
  });
  proc.stdout!.resume();
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url, 500))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new RedisUnavailableError(`redis-server did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    unusedBecause,
    clientEnv: { REDIS_URL: url },
    pid,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM'); // the guard passes it on; redis-server flushes its AOF on SIGTERM
      // a flush that cannot finish (full disk) must not hold the launcher: the guard's group is guard + server
      const killer = setTimeout(() => {
        try {
          process.kill(-proc.pid!, 'SIGKILL');
        } catch {
          // the group went away on its own meanwhile
        }
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(killer);
    },
  };
}
