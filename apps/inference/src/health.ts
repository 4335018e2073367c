/**
 * What /health and the live page report, composed from memory (never from a Redis call) so they answer at once
 * whatever Redis does: Redis and feature-pipeline state, per-symbol prediction flow, the model, the schedule; and the
 * latency budget of this replica's recent ticks.
 */
import { VectorStatus, type FeatureVectorRecord } from '@hotpath/state';
import type { InferenceConfig } from './config.ts';
import type { ModelManager } from './models.ts';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface Health {
  status: HealthStatus;
  replica: string;
  model: ReturnType<ModelManager['state']>;
  redis: 'connected' | 'degraded' | 'disconnected';
  featurePipeline: Record<string, 'active' | 'stale' | 'failed'>;
  /** Per symbol: the newest tick known written to Redis (by this replica or another), and whether that is recent enough. */
  predictions: Record<string, { status: 'flowing' | 'stalled'; lastWrittenTickMs: number | null; ageMs: number | null }>;
  lastTickAgeMs: number | null;
}

/** A Redis error this recent makes Redis 'degraded' (and rate-limits the error's log line). */
export const RECENT_ERROR_MS = 10_000;

/** The service's state health is computed from (read when /health is asked, not kept up to date). */
export interface HealthInputs {
  started: boolean;
  startedAtMs: number;
  redisReady: boolean;
  lastRedisErrorMs: number;
  lastTickMs: number | null;
  lastVector: ReadonlyMap<string, { vector: FeatureVectorRecord; readAtMs: number }>;
  lastWritten: ReadonlyMap<string, number>;
  model: Health['model'];
}

export function composeHealth(config: InferenceConfig, inputs: HealthInputs): Health {
  const now = Date.now();
  const redis = !inputs.redisReady ? 'disconnected' : now - inputs.lastRedisErrorMs < RECENT_ERROR_MS ? 'degraded' : 'connected';
  const featurePipeline: Health['featurePipeline'] = {};
  for (const s of config.symbols) {
    const last = inputs.lastVector.get(s);
    if (!last || redis === 'disconnected' || now - last.readAtMs > 3 * config.intervalMs) featurePipeline[s] = 'failed';
    else featurePipeline[s] = last.vector.status === VectorStatus.Live && last.readAtMs - last.vector.eventTimeUs / 1000 <= config.maxFeatureAgeMs ? 'active' : 'stale';
  }
  // a tick is written at its boundary, a backup pass claimTtl later: three intervals without one is a stall
  const graceMs = 3 * config.intervalMs + config.claimTtlMs;
  const predictions: Health['predictions'] = {};
  for (const s of config.symbols) {
    const last = inputs.lastWritten.get(s);
    const ageMs = last === undefined ? null : now - last;
    const flowing = ageMs !== null ? ageMs <= graceMs : inputs.started && now - inputs.startedAtMs <= graceMs;
    predictions[s] = { status: flowing ? 'flowing' : 'stalled', lastWrittenTickMs: last ?? null, ageMs };
  }
  const model = inputs.model;
  const lastTickAgeMs = inputs.lastTickMs === null ? null : now - inputs.lastTickMs;
  const ticking = lastTickAgeMs !== null && lastTickAgeMs <= 3 * config.intervalMs;
  // unhealthy = predictions do not reach Redis (Redis down, read-only or full, no features, the schedule stuck);
  // degraded = they do, but something is off (fallbacks, a refused model, recent Redis errors)
  const status: HealthStatus =
    !inputs.started || redis === 'disconnected' || (!ticking && lastTickAgeMs !== null) || Object.values(predictions).some((p) => p.status === 'stalled')
      ? 'unhealthy'
      : redis !== 'connected' || model.status !== 'healthy' || Object.values(featurePipeline).some((f) => f !== 'active')
        ? 'degraded'
        : 'healthy';
  return { status, replica: config.replica, model, redis, featurePipeline, predictions, lastTickAgeMs };
}

export interface LatencySummary {
  ticks: number;
  redisReadP50Ms: number | null;
  modelP50Ms: number | null;
  totalP50Ms: number | null;
  totalP99Ms: number | null;
}

/** The last 100 ticks this replica wrote, for the live page's latency budget (bounded). */
export class RecentTicks {
  private readonly ticks: { redisMs: number; modelMs: number; totalMs: number }[] = [];

  record(redisMs: number, modelMs: number, totalMs: number): void {
    this.ticks.push({ redisMs, modelMs, totalMs });
    if (this.ticks.length > 100) this.ticks.shift();
  }

  /** Recent tick stages (ms). */
  summary(): LatencySummary {
    // each series sorted once; a quantile is then an index
    const sorted = (f: (t: (typeof this.ticks)[number]) => number): number[] => this.ticks.map(f).sort((x, y) => x - y);
    const at = (xs: number[], q: number): number | null => (xs.length === 0 ? null : xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!);
    const total = sorted((t) => t.totalMs);
    return {
      ticks: this.ticks.length,
      redisReadP50Ms: at(
        sorted((t) => t.redisMs),
        0.5,
      ),
      modelP50Ms: at(
        sorted((t) => t.modelMs),
        0.5,
      ),
      totalP50Ms: at(total, 0.5),
      totalP99Ms: at(total, 0.99),
    };
  }
}
