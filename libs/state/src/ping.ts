/**
 * Whether a private, plain redis-server (one this process or a test spawned:
 * no TLS, no AUTH, a URL without secrets) answers PING within a deadline — one
 * connection, no retries, always closed. A Redis the operator configured is
 * checked through RedisConnection (TLS, AUTH, a cluster, typed errors).
 */
import { Redis } from 'ioredis';

export async function redisAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
