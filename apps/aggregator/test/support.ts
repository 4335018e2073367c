/** What the aggregator tests share: the fixture as the ingestor publishes it, a clean stop, the watch on a dead owner's leases. */
import { expect, vi } from 'vitest';
import type { Redis } from 'ioredis';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import type { Aggregator } from '../src/index.ts';

/**
 * Watches the leases of `shards` from a killed `owner` until others hold every one; resolves with each lease's last
 * expiry under `owner` (Redis server time, ms; the last renewal it made before it died, in flight ones included).
 */
export async function expiriesUntilTaken(redis: Redis, stream: string, shards: readonly string[], owner: string): Promise<Map<string, number>> {
  const lastExpiry = new Map<string, number>();
  await vi.waitFor(
    async () => {
      for (const shard of shards) {
        const lease = await redis.hgetall(`lease:{${stream}}:${shard}`);
        if (lease['owner'] === owner) lastExpiry.set(shard, Number(lease['expires']));
      }
      for (const shard of shards) expect((await redis.hget(`lease:{${stream}}:${shard}`, 'owner')) ?? owner, shard).not.toBe(owner);
    },
    { timeout: 60_000, interval: 20 },
  );
  expect([...lastExpiry.keys()].sort()).toEqual([...shards].sort()); // (seen under the dead owner first: watched from its death)
  return lastExpiry;
}

/** The fixture as the ingestor would publish it: a Connected event, then every frame, the REST snapshot in place. */
export function envelopes(): Buffer[] {
  const writer = new EnvelopeWriter('BTCUSDT', 7);
  return [writer.connected(1, 'test'), ...recordingEnvelopes(readRecording(FIXTURE_SPOT_BTCUSDT), writer)];
}

/**
 * A graceful stop given all the time it needs (its default deadline is for production; how fast this machine is, is
 * not what is tested): it must leave nothing undone, state committed and leases handed back.
 */
export async function stopCleanly(agg: Aggregator): Promise<void> {
  expect((await agg.stop(120_000)).failed).toEqual([]);
}
