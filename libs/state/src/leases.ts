/**
 * Shard leases in Redis, KCL-style (libs/kinesis's `LeaseStore`, which the
 * shard coordinator balances over): a lease (leaseKey = the shard id) has an
 * owner, an expiry (Redis server time, so instance clocks do not matter) and
 * a fencing token, the leaseCounter, from a counter that only grows. Acquire
 * takes a free or expired lease (stealing from a dead owner) with a new
 * token; renew extends only the holder's lease; release hands it back. All
 * leases of a stream share the hash tag {stream}, so each script touches one
 * Cluster slot. The hash holds `owner`, `token`, `expires`.
 */
import type { Result } from 'ioredis';
import type { RedisClient } from './connection.ts';
import { scanKeys } from './nodes.ts';

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local owner = redis.call('HGET', KEYS[1], 'owner')
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires') or '0')
if owner and owner ~= ARGV[1] and expires > now then return {0, 0, expires - now} end
-- tokens never go back, even after Redis lost its data: the server clock in microseconds is their floor
-- (in milliseconds, a lease taken again within the millisecond of the data loss got the same token).
-- Exact as a Lua double until 2255; written with %.0f, since Lua's own number-to-string keeps 14 digits.
local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
local token = redis.call('INCR', KEYS[2])
if token < floor then
  token = floor
  redis.call('SET', KEYS[2], string.format('%.0f', token))
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', string.format('%.0f', token), 'expires', now + tonumber(ARGV[2]))
return {1, token, tonumber(ARGV[2])}
`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'expires')) <= now then return 0 end
redis.call('HSET', KEYS[1], 'expires', now + tonumber(ARGV[3]))
return 1
`;

const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    hpLeaseAcquire(lease: string, counter: string, owner: string, ttlMs: string): Result<[number, number, number], Context>;
    hpLeaseRenew(lease: string, owner: string, token: string, ttlMs: string): Result<number, Context>;
    hpLeaseRelease(lease: string, owner: string, token: string): Result<number, Context>;
    hpHeartbeat(members: string, owner: string, ttlMs: string): Result<number, Context>;
  }
}

/** A lease held, in the KCL's names. */
export interface Lease {
  readonly leaseKey: string;
  readonly leaseOwner: string;
  /** The fencing token every write under this lease carries. */
  readonly leaseCounter: number;
}

/** What renew and release need: the lease acquire returned, or its key and counter. */
export type HeldLease = Pick<Lease, 'leaseKey' | 'leaseCounter'>;

/** One row of the lease table (`pnpm leases`): libs/kinesis's LeaseRecord, by shape (this lib does not depend on that one). */
export interface LeaseRecord {
  leaseKey: string;
  leaseOwner: string;
  leaseCounter: number;
  /** By the Redis server's clock; 0 or less once expired (free to take). */
  expiresInMs: number;
}

export class LeaseManager {
  constructor(
    private readonly redis: RedisClient,
    private readonly stream: string,
    readonly owner: string,
    readonly ttlMs: number,
  ) {
    redis.defineCommand('hpLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('hpLeaseRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('hpLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('hpHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
  }

  private key(shardId: string): string {
    return `${this.keyPrefix()}${shardId}`;
  }

  private keyPrefix(): string {
    return `lease:{${this.stream}}:`;
  }

  private counter(): string {
    return `leasetoken:{${this.stream}}`;
  }

  /** Takes the shard if it is free, expired or already ours; undefined when another live owner holds it. */
  async acquire(shardId: string): Promise<Lease | undefined> {
    const [ok, token] = await this.redis.hpLeaseAcquire(this.key(shardId), this.counter(), this.owner, String(this.ttlMs));
    return ok === 1 ? { leaseKey: shardId, leaseOwner: this.owner, leaseCounter: token } : undefined;
  }

  /** False when the lease was lost (expired and taken, or released): stop writing at once. */
  async renew(lease: HeldLease): Promise<boolean> {
    return (await this.redis.hpLeaseRenew(this.key(lease.leaseKey), this.owner, String(lease.leaseCounter), String(this.ttlMs))) === 1;
  }

  async release(lease: HeldLease): Promise<void> {
    await this.redis.hpLeaseRelease(this.key(lease.leaseKey), this.owner, String(lease.leaseCounter));
  }

  /**
   * The stream's lease table, by leaseKey: every lease held or expired (a
   * released one is gone). The keys share the {stream} hash tag, so on a
   * cluster they live on the master owning that slot — but mid-migration some
   * are already on the target: every master is scanned (scanKeys).
   */
  async list(): Promise<LeaseRecord[]> {
    const [seconds, micros] = await this.redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const prefix = this.keyPrefix();
    const rows: LeaseRecord[] = [];
    for (const key of await scanKeys(this.redis, `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`)) {
      const h = await this.redis.hgetall(key);
      if (h['owner'] === undefined) continue; // released between the scan and the read
      rows.push({ leaseKey: key.slice(prefix.length), leaseOwner: h['owner'], leaseCounter: Number(h['token']), expiresInMs: Number(h['expires']) - now });
    }
    return rows.sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
  }

  /** Announces this instance alive for one TTL; returns how many instances are alive (for balancing). */
  async heartbeat(): Promise<number> {
    return this.redis.hpHeartbeat(`members:{${this.stream}}`, this.owner, String(this.ttlMs));
  }

  /**
   * Records that a closed (resharded) shard was read to its end and its
   * state committed: its children may start (KCL's SHARD_END checkpoint).
   */
  async markFinished(shardId: string): Promise<void> {
    await this.redis.sadd(`shardend:{${this.stream}}`, shardId);
  }

  async finishedShards(): Promise<Set<string>> {
    return new Set(await this.redis.smembers(`shardend:{${this.stream}}`));
  }

  /** Leaves the membership at once (graceful stop), so the others' fair share grows now, not after a TTL. */
  async leave(): Promise<void> {
    await this.redis.zrem(`members:{${this.stream}}`, this.owner);
  }

  /** Owner of each shard's lease (expired ones included), for balancing and /health. */
  async owners(shardIds: readonly string[]): Promise<Map<string, { owner: string; expiresMs: number }>> {
    const out = new Map<string, { owner: string; expiresMs: number }>();
    for (const s of shardIds) {
      const h = await this.redis.hgetall(this.key(s));
      if (h['owner'] !== undefined) out.set(s, { owner: h['owner'], expiresMs: Number(h['expires']) });
    }
    return out;
  }
}
