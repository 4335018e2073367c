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
 * vector, the state and the checkpoint change in one script: a crash never
 * separates them.
 */
import type { Redis, Result } from 'ioredis';
import { STATUS_OFFSET, decodeVector, type FeatureVectorRecord, type VectorStatus } from './vector.ts';

export const keys = {
  vector: (symbol: string): string => `feat:{${symbol}}`,
  state: (symbol: string): string => `state:{${symbol}}`,
  fence: (symbol: string): string => `fence:{${symbol}}`,
};

const COMMIT = `
local fence = tonumber(redis.call('GET', KEYS[3]) or '0')
local token = tonumber(ARGV[1])
if token < fence then return {0, fence} end
if token > fence then redis.call('SET', KEYS[3], ARGV[1]) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[3])
return {1, token}
`;

const SET_STATUS = `
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) < fence then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('SETRANGE', KEYS[1], ARGV[2], ARGV[3])
return 1
`;

export class FencedWriteError extends Error {
  override readonly name = 'FencedWriteError';
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
    hpCommit(k1: string, k2: string, k3: string, token: string, vector: Buffer, state: Buffer, ttlMs: string): Result<[number, number], Context>;
    hpSetStatus(k1: string, k2: string, token: string, offset: string, status: Buffer): Result<number, Context>;
  }
}

export interface StoredState {
  checkpoint: string;
  state: Buffer;
}

export class FeatureStore {
  constructor(
    private readonly redis: Redis,
    /** How long a feature vector lives without a new write. */
    private readonly vectorTtlMs = 60_000,
  ) {
    redis.defineCommand('hpCommit', { numberOfKeys: 3, lua: COMMIT });
    redis.defineCommand('hpSetStatus', { numberOfKeys: 2, lua: SET_STATUS });
  }

  /** Vector + state + checkpoint in one fenced script. Throws FencedWriteError when a newer owner wrote. */
  async commit(symbol: string, token: number, vector: Buffer, checkpoint: string, state: Buffer): Promise<void> {
    const cp = Buffer.from(checkpoint, 'utf8');
    const blob = Buffer.alloc(4 + cp.length + state.length);
    blob.writeUInt32LE(cp.length, 0);
    cp.copy(blob, 4);
    state.copy(blob, 4 + cp.length);
    const [ok, fence] = await this.redis.hpCommit(keys.vector(symbol), keys.state(symbol), keys.fence(symbol), String(token), vector, blob, String(this.vectorTtlMs));
    if (ok !== 1) throw new FencedWriteError(symbol, token, fence);
  }

  /** Flips the stored vector's status in place (readers see it at once). False when there is no vector yet. */
  async setStatus(symbol: string, token: number, status: VectorStatus): Promise<boolean> {
    const r = await this.redis.hpSetStatus(keys.vector(symbol), keys.fence(symbol), String(token), String(STATUS_OFFSET), Buffer.from([status]));
    if (r === 0) throw new FencedWriteError(symbol, token, Number.NaN);
    return r === 1;
  }

  /** One round trip: the whole vector, consistent by construction (one key, written whole). */
  async readVector(symbol: string): Promise<FeatureVectorRecord | undefined> {
    const b = await this.redis.getBuffer(keys.vector(symbol));
    return b === null ? undefined : decodeVector(b);
  }

  async loadState(symbol: string): Promise<StoredState | undefined> {
    const b = await this.redis.getBuffer(keys.state(symbol));
    if (b === null) return undefined;
    const n = b.readUInt32LE(0);
    return { checkpoint: b.toString('utf8', 4, 4 + n), state: Buffer.from(b.subarray(4 + n)) };
  }
}
