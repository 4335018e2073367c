/**
 * The lease table as an operator reads it (`pnpm leases`, scripts/leases.ts):
 * every shard of the stream Redis knows of, with its lease (leaseOwner,
 * leaseCounter, how long until it expires) and its checkpoint. A checkpoint
 * here is the oldest one the shard's symbols committed (where a new owner
 * resumes), SHARD_END once the shard was read to its end, `-` when none.
 */
import { compareCheckpoints } from '@hotpath/kinesis';
import { LeaseManager, keys, scanKeys, type RedisClient } from '@hotpath/state';

export interface LeaseTableRow {
  leaseKey: string;
  /** `-` when nobody holds a lease on the shard. */
  leaseOwner: string;
  leaseCounter: number | undefined;
  /** By the Redis server's clock; 0 or less once expired (free to take); undefined without a lease. */
  expiresInMs: number | undefined;
  checkpoint: string;
}

export async function leaseTable(redis: RedisClient, stream: string): Promise<LeaseTableRow[]> {
  // (an owner name of its own: the table is only read)
  const leases = new LeaseManager(redis, stream, 'lease-table-reader', 1);
  const [held, finished, checkpoints] = await Promise.all([leases.list(), leases.finishedShards(), oldestCheckpoints(redis)]);
  const rows = new Map<string, LeaseTableRow>();
  const row = (leaseKey: string): LeaseTableRow => {
    let r = rows.get(leaseKey);
    if (r === undefined) rows.set(leaseKey, (r = { leaseKey, leaseOwner: '-', leaseCounter: undefined, expiresInMs: undefined, checkpoint: '-' }));
    return r;
  };
  for (const l of held) Object.assign(row(l.leaseKey), { leaseOwner: l.leaseOwner, leaseCounter: l.leaseCounter, expiresInMs: l.expiresInMs });
  for (const [shardId, checkpoint] of checkpoints) row(shardId).checkpoint = checkpoint;
  for (const shardId of finished) row(shardId).checkpoint = 'SHARD_END';
  return [...rows.values()].sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
}

/**
 * Shard → the oldest checkpoint its symbols committed, from every `state:{S}` key (the checkpoint is the value's
 * head: a u32 length, then `shardId/sequence:subSequence`; only the head is read, not the ~100 kB state).
 */
async function oldestCheckpoints(redis: RedisClient): Promise<Map<string, string>> {
  const oldest = new Map<string, string>();
  // (every master of a cluster: each symbol's state lives in its own {SYMBOL} slot)
  for (const key of await scanKeys(redis, keys.state('*'))) {
    const head = await redis.getrangeBuffer(key, 0, 3);
    if (head.length < 4) continue;
    const stored = (await redis.getrangeBuffer(key, 4, 3 + head.readUInt32LE(0))).toString('utf8');
    const slash = stored.lastIndexOf('/');
    if (slash < 0) continue; // nothing committed yet, or not a checkpoint this table can place
    const [shardId, checkpoint] = [stored.slice(0, slash), stored.slice(slash + 1)];
    const seen = oldest.get(shardId);
    if (seen === undefined || compareCheckpoints(checkpoint, seen) < 0) oldest.set(shardId, checkpoint);
  }
  return oldest;
}

/** The rows as aligned text columns, a header first. */
export function formatLeaseTable(rows: readonly LeaseTableRow[]): string {
  const cells = [
    ['leaseKey', 'leaseOwner', 'leaseCounter', 'expires in', 'checkpoint'],
    ...rows.map((r) => [r.leaseKey, r.leaseOwner, r.leaseCounter === undefined ? '-' : String(r.leaseCounter), expiresIn(r.expiresInMs), r.checkpoint]),
  ];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  return cells
    .map((c) =>
      c
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function expiresIn(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms > 0 ? `${(ms / 1000).toFixed(1)} s` : `expired ${(-ms / 1000).toFixed(1)} s ago`;
}
