/**
 * /health: whether the aggregator does its job, answered within
 * HEALTH_DEADLINE_MS whatever Redis does. Redis answers (on a cluster, every
 * master), the last write did
 * not fail, the last lease round did not, records that keep arriving are
 * applied (not all refused, e.g. as duplicates), and every shard held gets
 * answers from Kinesis. A quiet stream or holding no lease (another instance
 * has the shards) is not a fault.
 */
import type { HeldShardStatus } from '@hotpath/kinesis';
import { pingEveryMaster, type RedisClient } from '@hotpath/state';
import { DeadlineError, withDeadline } from '@hotpath/service';

/** What the shard processors report as they go: when records arrived and were applied, how the writes ended. */
export class Progress {
  startedAtMs = 0;
  lastRecordMs = 0;
  lastAppliedMs = 0;
  lastWriteMs = 0;
  lastWriteFailedMs = 0;
  lastWriteError = '';
  /** Now minus the arrival of the newest record written, at that write; -1 before any. */
  lagSeconds = -1;
  /**
   * Vector writes Redis refused as older than the vector already there (a new owner replaying from its checkpoint):
   * since when every one was, and the last; readers see nothing new until it has caught up.
   */
  vectorRefusedSinceMs = 0;
  lastVectorRefusedMs = 0;

  /** A write Redis took: `published` false when it refused the vector as older than the one it has. */
  wrote(published: boolean): void {
    this.lastWriteMs = Date.now();
    if (published) this.vectorRefusedSinceMs = 0;
    else {
      if (this.vectorRefusedSinceMs === 0) this.vectorRefusedSinceMs = this.lastWriteMs;
      this.lastVectorRefusedMs = this.lastWriteMs;
    }
  }

  writeFailed(err: unknown): void {
    this.lastWriteFailedMs = Date.now();
    this.lastWriteError = redisErrorCode(err);
  }
}

export interface AggregatorHealth {
  ok: boolean;
  leases: number;
  /** `ok`, `timeout` or the Redis error code (never the raw error text). */
  redis: string;
  /** `ok`, or `failing: <code>` when the last vector or state write failed. */
  writes: string;
  /** `ok`, or `failing: <code>` when the last lease round (heartbeat, renew, acquire) failed. */
  leaseRounds: string;
  /**
   * `stalled` when records kept arriving and none was applied for stallAfterMs; `catching_up` when every vector
   * written for stallAfterMs was refused as older than the one readers have (replaying from a checkpoint).
   */
  applying: 'ok' | 'stalled' | 'catching_up';
  /** `ok`, or `stalled: …` when a shard held got no answer from Kinesis for stallAfterMs. */
  reading: string;
  lastAppliedAgeMs: number;
  lastWriteAgeMs: number;
  kinesisLagSeconds: number;
}

/** /health answers within this, whatever Redis does. */
const HEALTH_DEADLINE_MS = 500;

export async function aggregatorHealth(
  redis: RedisClient,
  progress: Progress,
  leases: { held: readonly HeldShardStatus[]; roundError: { err: unknown } | undefined },
  stallAfterMs: number,
): Promise<AggregatorHealth> {
  const now = Date.now();
  const p = progress;
  // on a cluster every master must answer: one down (or failing over) leaves its slots' symbols unwritable
  const answer = await withDeadline(pingEveryMaster(redis), HEALTH_DEADLINE_MS).then(
    () => 'ok',
    (err: unknown) => (err instanceof DeadlineError ? 'timeout' : redisErrorCode(err)),
  );
  const writes = p.lastWriteFailedMs > p.lastWriteMs ? `failing: ${p.lastWriteError}` : 'ok';
  const leaseRounds = leases.roundError === undefined ? 'ok' : `failing: ${redisErrorCode(leases.roundError.err)}`;
  // a shard read whose reader got no answer from Kinesis for stallAfterMs (an outage, a stuck reader): nothing is read
  const unread = leases.held.filter((s) => s.state === 'reading' && now - s.lastPollMs > stallAfterMs).length;
  // every vector refused as older than the published one for stallAfterMs: still catching up, readers see a frozen vector
  const catchingUp = p.vectorRefusedSinceMs > 0 && p.lastVectorRefusedMs - p.vectorRefusedSinceMs > stallAfterMs && now - p.lastVectorRefusedMs < stallAfterMs;
  // records read for stallAfterMs and none applied: the state no longer follows the stream
  const stalled = p.lastRecordMs > 0 && p.lastRecordMs - Math.max(p.lastAppliedMs, p.startedAtMs) > stallAfterMs;
  return {
    ok: answer === 'ok' && writes === 'ok' && leaseRounds === 'ok' && !stalled && !catchingUp && unread === 0,
    leases: leases.held.length,
    redis: answer,
    writes,
    leaseRounds,
    applying: stalled ? 'stalled' : catchingUp ? 'catching_up' : 'ok',
    reading: unread === 0 ? 'ok' : `stalled: ${unread} shard(s) without an answer from Kinesis`,
    lastAppliedAgeMs: p.lastAppliedMs === 0 ? -1 : now - p.lastAppliedMs,
    lastWriteAgeMs: p.lastWriteMs === 0 ? -1 : now - p.lastWriteMs,
    kinesisLagSeconds: p.lagSeconds,
  };
}

/** A short, stable code for a Redis failure (READONLY, OOM, …): health answers carry no raw error text. */
export function redisErrorCode(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = /^([A-Z][A-Z_]{2,})\b/.exec(message)?.[1];
  if (code !== undefined) return code;
  if (/timed? ?out/i.test(message)) return 'timeout';
  if (/connection|ECONN|closed|EPIPE/i.test(message)) return 'unreachable';
  return 'error';
}
