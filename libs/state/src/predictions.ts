/**
 * Redis side of inference. Per symbol (hash tag {SYMBOL}):
 *
 *   pred:{S}:latest        the newest prediction (JSON)
 *   pred:{S}:stream        capped history, entry id = tick time in ms, so a
 *                          tick can appear at most once by construction
 *   pred:{S}:claim:<tick>  which replica makes this tick's prediction (short TTL)
 *   channel pred:{S}       every written prediction, for push to subscribers
 *
 * Replicas agree on one prediction per symbol and tick: `claim` is one
 * script that says whether the tick is already done, takes the claim if it is
 * free, and returns the feature vector — the tick's single read round trip.
 * A replica that dies between claim and write leaves a claim that expires;
 * another replica then claims the same tick late (see inference's backup
 * pass). `write` refuses a tick at or before the last one written.
 */
import type { Result } from 'ioredis';
import type { RedisClient } from './connection.ts';
import { keys as stateKeys } from './store.ts';

export const predictionKeys = {
  latest: (symbol: string): string => `pred:{${symbol}}:latest`,
  stream: (symbol: string): string => `pred:{${symbol}}:stream`,
  claim: (symbol: string, tickMs: number): string => `pred:{${symbol}}:claim:${tickMs}`,
  channel: (symbol: string): string => `pred:{${symbol}}`,
};

/** The global pointer every replica follows for its model: JSON {path}. */
export const MODEL_POINTER_KEY = 'model:current';

const LAST_TICK = `
local function lastTick(stream)
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if last[1] == nil then return -1 end
  return tonumber(string.match(last[1][1], '^(%d+)'))
end
`;

// KEYS vector, claim, stream; ARGV tick, owner, ttl. Returns {outcome, vector}: 1 claimed, 0 claimed by another, 2 already written.
const CLAIM = `${LAST_TICK}
local outcome = 0
if lastTick(KEYS[3]) >= tonumber(ARGV[1]) then outcome = 2
elseif redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then outcome = 1 end
return {outcome, redis.call('GET', KEYS[1])}
`;

// KEYS latest, stream; ARGV tick, json, maxlen, channel. 1 written, 0 refused (the tick or a later one is already there).
const WRITE = `${LAST_TICK}
if lastTick(KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], ARGV[1] .. '-0', 'p', ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1
`;

export const ClaimOutcome = { Taken: 0, Claimed: 1, Done: 2 } as const;
export type ClaimOutcome = (typeof ClaimOutcome)[keyof typeof ClaimOutcome];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    hpClaimTickBuffer(k1: string, k2: string, k3: string, tick: string, owner: string, ttlMs: string): Result<[number, Buffer | null], Context>;
    hpWritePrediction(k1: string, k2: string, tick: string, json: string, maxLen: string, channel: string): Result<number, Context>;
  }
}

export class PredictionStore {
  constructor(
    private readonly redis: RedisClient,
    /** Entries kept per symbol (approximately: MAXLEN ~). */
    private readonly maxHistory = 10_000,
  ) {
    redis.defineCommand('hpClaimTick', { numberOfKeys: 3, lua: CLAIM });
    redis.defineCommand('hpWritePrediction', { numberOfKeys: 2, lua: WRITE });
  }

  /** One round trip: the tick's claim outcome and the raw feature vector (null when there is none). */
  async claim(symbol: string, tickMs: number, owner: string, ttlMs: number): Promise<{ outcome: ClaimOutcome; vector: Buffer | null }> {
    const [outcome, vector] = await this.redis.hpClaimTickBuffer(stateKeys.vector(symbol), predictionKeys.claim(symbol, tickMs), predictionKeys.stream(symbol), String(tickMs), owner, String(ttlMs));
    return { outcome: outcome as ClaimOutcome, vector };
  }

  /** Latest key + history + push, in one script; false when this tick (or a later one) is already written. */
  async write(symbol: string, tickMs: number, json: string): Promise<boolean> {
    return (await this.redis.hpWritePrediction(predictionKeys.latest(symbol), predictionKeys.stream(symbol), String(tickMs), json, String(this.maxHistory), predictionKeys.channel(symbol))) === 1;
  }

  async latest(symbol: string): Promise<string | null> {
    return this.redis.get(predictionKeys.latest(symbol));
  }

  /** History from `sinceMs` (inclusive), oldest first. */
  async history(symbol: string, sinceMs: number, limit: number): Promise<string[]> {
    const rows = await this.redis.xrange(predictionKeys.stream(symbol), String(sinceMs), '+', 'COUNT', limit);
    return rows.map(([, fields]) => fields[1]!);
  }
}
