/**
 * Inference's two Redis clients from one connection (libs/state's factory: one
 * server or a Redis Cluster, TLS, ACL user, password file): commands that fail
 * fast — a tick never queues behind a reconnect — and a subscriber that waits
 * for Redis instead (ioredis re-subscribes after every reconnect). Their
 * connection events are counted; the start check is libs/state's, the same as
 * every service's.
 */
import { ignoreRejection } from '@hotpath/service';
import { RedisConnection, startCheck, watchRedisClient, type RedisClient, type RedisRole } from '@hotpath/state';
import type { Logger } from '@hotpath/telemetry';
import type { InferenceConfig } from './config.ts';
import type { InferenceMetrics } from './metrics.ts';

/** How long the start waits for Redis before going on without it (a TLS or AUTH refusal comes at once). */
const REDIS_START_CHECK_MS = 5_000;

export class InferenceRedis {
  readonly commands: RedisClient;
  readonly subscriber: RedisClient;
  private readonly connection: RedisConnection;
  private readonly roles: [RedisClient, RedisRole][];
  private readonly connectFailed: (err: unknown) => void;

  /** `onError`: a connection error of either client (a node's, on a cluster), for /health's "degraded". */
  /**
   * `autoPipeline`: the commands issued in one event-loop turn (a tick's claims, its writes) leave as one pipeline
   * per node — ioredis groups them by slot owner, so on a cluster the symbols' keys (each its own hash tag) still
   * reach the right masters; each command keeps its own reply, error and timeout.
   */
  constructor(config: InferenceConfig, metrics: InferenceMetrics, log: Logger, onError: () => void, autoPipeline = true) {
    // the settings were checked at load (a file gone since throws RedisConnectionError here)
    this.connection = new RedisConnection(config.redis);
    const commandRole: RedisRole = {
      name: 'inference',
      commandTimeout: config.redisTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      readyTimeoutMs: REDIS_START_CHECK_MS,
    };
    const subscriberRole: RedisRole = { name: 'inference-subscriber', enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: true, readyTimeoutMs: REDIS_START_CHECK_MS };
    this.commands = this.connection.client(commandRole);
    this.subscriber = this.connection.client(subscriberRole);
    // (set on the client, not through libs/state's role: only inference's tick issues many commands at once)
    this.commands.options.enableAutoPipelining = autoPipeline;
    this.roles = [
      [this.commands, commandRole],
      [this.subscriber, subscriberRole],
    ];
    this.connectFailed = ignoreRejection(log, 'a failed connect is the error the start check classifies and reports; the client reconnects by itself');
    for (const c of [this.commands, this.subscriber]) {
      watchRedisClient(c, {
        event: (event) => {
          metrics.redisEvents.inc({ event });
          if (event === 'error' || event === 'node_error') onError();
        },
        slotsMoved: (slots) => {
          metrics.slotsMoved.inc(slots);
          log.info({ slots }, 'redis cluster slots moved to another master (failover or migration)');
        },
      });
    }
  }

  /**
   * Connects both clients: false when Redis does not answer within REDIS_START_CHECK_MS (they keep reconnecting
   * in the background; /health says unhealthy meanwhile). A TLS or AUTH refusal (or a file gone) fails the start
   * with the typed error naming the setting: retrying cannot fix it.
   */
  async connect(log: Logger): Promise<boolean> {
    // (connect()'s own rejection is the error the start check classifies; the clients retry by themselves)
    for (const c of [this.commands, this.subscriber]) c.connect().catch(this.connectFailed);
    try {
      return await startCheck(this.connection, this.roles, log);
    } catch (err) {
      this.disconnect();
      throw err;
    }
  }

  disconnect(): void {
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}
