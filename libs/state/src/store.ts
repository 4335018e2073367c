/**
 * Redis state of the hot path. Per symbol (hash tag {SYMBOL}, so every
 * multi-key script stays in one Redis Cluster slot):
 *
 *   feat:{S}   the feature vector (vector.ts), with a TTL: a symbol nobody
 *              updates disappears instead of being served forever
 *   state:{S}  the aggregator's recoverable state and the checkpoint of the
 *              last record applied, one blob
 *   fence:{S}  the highest lease token that wrote the symbol
 *
 * Writes are fenced: a commit carries the writer's lease token and is
 * refused when a higher token has written the symbol, so an instance that
 * lost its lease (paused, partitioned) cannot overwrite newer state. The
 * state and its checkpoint change in one script: a crash never separates
 * them. Vectors are also published between state commits (`publish`); a
 * vector never goes back to a lower version, so the deterministic replay
 * after a crash (from the last committed state) re-publishes nothing older
 * than what readers already saw.
 */
import type { Result } from 'ioredis';
import type { RedisClient } from './connection.ts';
import type { StateErrorCode } from './errors.ts';
import { STATUS_OFFSET, VERSION_OFFSET, decodeVector, type FeatureVectorRecord, type VectorStatus } from '@hotpath/features';

export const keys = {
  vector: (symbol: string): string => `feat:{${symbol}}`,
  state: (symbol: string): string => `state:{${symbol}}`,
  fence: (symbol: string): string => `fence:{${symbol}}`,
};

// The stored vector's version (f64 LE at VERSION_OFFSET), -1 when none.
const STORED_VERSION = `
local function storedVersion(key)
  local v = redis.call('GETRANGE', key, ${VERSION_OFFSET}, ${VERSION_OFFSET + 7})
  if string.len(v) < 8 then return -1 end
  return struct.unpack('<d', v)
end
`;

// KEYS vector, state, fence; ARGV token, vector, state blob, ttl, version. Returns {ok, fence, published}.
const COMMIT = `${STORED_VERSION}
local fence = tonumber(redis.call('GET', KEYS[3]) or '0')
local token = tonumber(ARGV[1])
if token < fence then return {0, fence, 0} end
if token > fence then redis.call('SET', KEYS[3], ARGV[1]) end
redis.call('SET', KEYS[2], ARGV[3])
if tonumber(ARGV[5]) < storedVersion(KEYS[1]) then return {1, token, 0} end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
return {1, token, 1}
`;

// KEYS vector, fence; ARGV token, vector, ttl, version.
const PUBLISH = `${STORED_VERSION}
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = tonumber(ARGV[1])
if token < fence then return {0, fence} end
if token > fence then redis.call('SET', KEYS[2], ARGV[1]) end
if tonumber(ARGV[4]) < storedVersion(KEYS[1]) then return {1, 0} end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1, 1}
`;

// KEYS vector, fence; ARGV token, offset, status byte, version.
const SET_STATUS = `${STORED_VERSION}
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = tonumber(ARGV[1])
if token < fence then return 0 end
if token > fence then redis.call('SET', KEYS[2], ARGV[1]) end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if tonumber(ARGV[4]) < storedVersion(KEYS[1]) then return -2 end
redis.call('SETRANGE', KEYS[1], ARGV[2], ARGV[3])
return 1
`;

function vectorVersion(vector: Buffer): number {
  return vector.length >= VERSION_OFFSET + 8 ? vector.readDoubleLE(VERSION_OFFSET) : -1;
}

/** A value under state:{S} that is not a checkpoint + state (Redis contents are untrusted). */
export class StoredStateError extends Error {
  override readonly name = 'StoredStateError';
  readonly code: StateErrorCode = 'malformed_stored_state';
}

/** A write refused because a higher lease token has written the symbol: this writer lost its lease. */
export class FencedWriteError extends Error {
  override readonly name = 'FencedWriteError';
  readonly code: StateErrorCode = 'fenced';
  constructor(
    readonly symbol: string,
    readonly token: number,
    readonly fence: number,
  ) {
    super(`write to ${symbol} with token ${token} refused: fenced by token ${fence}`);
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    hpCommit(k1: string, k2: string, k3: string, token: string, vector: Buffer, state: Buffer, ttlMs: string, version: string): Result<[number, number, number], Context>;
    hpPublish(k1: string, k2: string, token: string, vector: Buffer, ttlMs: string, version: string): Result<[number, number], Context>;
    hpSetStatus(k1: string, k2: string, token: string, offset: string, status: Buffer, version: string): Result<number, Context>;
  }
}

export interface StoredState {
  checkpoint: string;
  state: Buffer;
}

export class FeatureStore {
  constructor(
    private readonly redis: RedisClient,
    /** How long a feature vector lives without a new write. */
    private readonly vectorTtlMs = 60_000,
  ) {
    redis.defineCommand('hpCommit', { numberOfKeys: 3, lua: COMMIT });
    redis.defineCommand('hpPublish', { numberOfKeys: 2, lua: PUBLISH });
    redis.defineCommand('hpSetStatus', { numberOfKeys: 2, lua: SET_STATUS });
  }

  /**
   * State + checkpoint (and the vector, unless a higher version is already
   * published) in one fenced script. Throws FencedWriteError when a newer
   * owner wrote. True when the vector was published.
   */
  async commit(symbol: string, token: number, vector: Buffer, checkpoint: string, state: Buffer): Promise<boolean> {
    const cp = Buffer.from(checkpoint, 'utf8');
    const blob = Buffer.alloc(4 + cp.length + state.length);
    blob.writeUInt32LE(cp.length, 0);
    cp.copy(blob, 4);
    state.copy(blob, 4 + cp.length);
    const [ok, fence, published] = await this.redis.hpCommit(
      keys.vector(symbol),
      keys.state(symbol),
      keys.fence(symbol),
      String(token),
      vector,
      blob,
      String(this.vectorTtlMs),
      String(vectorVersion(vector)),
    );
    if (ok !== 1) throw new FencedWriteError(symbol, token, fence);
    return published === 1;
  }

  /** The vector alone, fenced; refused (false) when a higher version is already published. */
  async publish(symbol: string, token: number, vector: Buffer): Promise<boolean> {
    const [ok, r] = await this.redis.hpPublish(keys.vector(symbol), keys.fence(symbol), String(token), vector, String(this.vectorTtlMs), String(vectorVersion(vector)));
    if (ok !== 1) throw new FencedWriteError(symbol, token, r);
    return r === 1;
  }

  /**
   * Flips the stored vector's status in place (readers see it at once), as of
   * vector `version`. False when there is no vector yet or a higher version is
   * published (a replay catching up).
   */
  async setStatus(symbol: string, token: number, status: VectorStatus, version = Number.MAX_SAFE_INTEGER): Promise<boolean> {
    const r = await this.redis.hpSetStatus(keys.vector(symbol), keys.fence(symbol), String(token), String(STATUS_OFFSET), Buffer.from([status]), String(version));
    if (r === 0) throw new FencedWriteError(symbol, token, Number.NaN);
    return r === 1;
  }

  /** One round trip: the whole vector, consistent by construction (one key, written whole). */
  async readVector(symbol: string): Promise<FeatureVectorRecord | undefined> {
    const b = await this.redis.getBuffer(keys.vector(symbol));
    return b === null ? undefined : decodeVector(b);
  }

  /** Throws StoredStateError when the stored value is not a checkpoint + state (Redis contents are untrusted). */
  async loadState(symbol: string): Promise<StoredState | undefined> {
    const b = await this.redis.getBuffer(keys.state(symbol));
    if (b === null) return undefined;
    if (b.length < 4 || 4 + b.readUInt32LE(0) > b.length) throw new StoredStateError(`${keys.state(symbol)} holds ${b.length} bytes that are not a checkpoint and a state`);
    const n = b.readUInt32LE(0);
    return { checkpoint: b.toString('utf8', 4, 4 + n), state: Buffer.from(b.subarray(4 + n)) };
  }
}
