/** What the aggregator does when its Redis connection changes: counts and logs it, and rewrites everything after a reconnect. */
import { type RedisClient, watchRedisClient } from '@hotpath/state';
import type { Logger } from '@hotpath/telemetry';
import type { AggregatorMetrics } from './metrics.ts';
import type { ShardProcessor } from './shard-processor.ts';

export function watchAggregatorRedis(redis: RedisClient, m: AggregatorMetrics, log: Logger, openShards: ReadonlySet<ShardProcessor>): void {
  watchRedisClient(redis, {
    event: (event, err) => {
      m.redisEvents.inc({ event });
      if (err !== undefined) log.warn({ err, event }, 'redis connection error');
    },
    slotsMoved: (slots) => {
      m.slotsMoved.inc(slots);
      log.info({ slots }, 'redis cluster slots moved to another master (failover or migration)');
    },
  });
  // A Redis that restarted may have lost its last acknowledged writes (appendfsync everysec):
  // write every symbol's vector and state again at the next checkpoint, changed or not.
  let connectedBefore = false;
  redis.on('ready', () => {
    if (connectedBefore) {
      for (const shard of openShards) shard.rewriteAll();
      log.info('redis reconnected: everything will be written again');
    }
    connectedBefore = true;
  });
}
