/**
 * What a tick produces from one feature vector: the model's prediction when
 * every check passes, otherwise a flagged fallback (microprice, or
 * persistence when the microprice is unknown) with the first failed check
 * as its reason. Pure: the service does the I/O.
 */
import { ANOMALY_KINDS, type Anomaly } from '@hotpath/anomaly';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { STATUS_NAMES, VectorStatus, type FeatureVectorRecord } from '@hotpath/state';
import { z } from 'zod';
import type { InferenceErrorCode } from './errors.ts';

export const FALLBACK_REASONS = ['reanchoring', 'stale_features', 'schema_mismatch', 'incomplete_features', 'model_unavailable', 'model_error', 'redis_unavailable'] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

export interface Prediction {
  symbol: string;
  tickMs: number;
  tickTime: string;
  /** When the prediction was made (a backup replica may make a dead claimer's prediction late). */
  issuedAtMs: number;
  horizonS: number;
  targetMs: number;
  featureEventTimeMs: number;
  featureVersion: number;
  featureStatus: (typeof STATUS_NAMES)[number];
  featureAgeMs: number;
  completeness: number;
  mid: number;
  predictedReturnBps: number;
  predictedPrice: number;
  pUp: number;
  /** P(the predicted direction is right) = max(pUp, 1 − pUp); 0.5 for fallbacks, which claim no edge. */
  confidence: number;
  modelVersion: string | null;
  fallback: boolean;
  reason: FallbackReason | null;
  /** The naive predictor on the same vector, graded alongside. */
  baseline: { returnBps: number; price: number };
  replica: string;
  /** The anomalies firing for the symbol on this tick (docs/anomalies.md): empty when none, at most one per kind. */
  anomalies: Anomaly[];
  /** The tick's own trace (when tracing is on; docs/tracing.md). */
  traceId?: string;
  /** The trace of the newest sampled market event in the vector the tick read, which the tick's span links to. */
  linkedTraceId?: string;
}

/**
 * A prediction read back from Redis (push channel, latest key, history): anyone who can write to
 * Redis can write there, so it is checked field by field before it is served, graded or drawn.
 */
const finite = z.number().finite();
/** A W3C trace id as OpenTelemetry spells it: 32 lower-case hex digits, not all zero. */
const traceIdSchema = z
  .string()
  .regex(/^[0-9a-f]{32}$/)
  .refine((id) => !/^0+$/.test(id), 'all-zero trace id');
const PredictionSchema = z.object({
  symbol: z.string().regex(/^[A-Z0-9]{2,20}$/),
  tickMs: z.number().int().nonnegative(),
  tickTime: z.string().max(40),
  issuedAtMs: finite,
  horizonS: z.number().positive().finite(),
  targetMs: finite,
  featureEventTimeMs: finite,
  featureVersion: finite,
  featureStatus: z.enum(STATUS_NAMES),
  featureAgeMs: finite,
  completeness: z.number().min(0).max(1),
  mid: z.number().positive().finite(),
  predictedReturnBps: finite,
  predictedPrice: finite,
  pUp: z.number().min(0).max(1),
  confidence: z.number().min(0).max(1),
  modelVersion: z.string().max(250).nullable(),
  fallback: z.boolean(),
  reason: z.enum(FALLBACK_REASONS).nullable(),
  baseline: z.object({ returnBps: finite, price: finite }),
  replica: z.string().max(100),
  // (a prediction written before anomaly flags existed has no field: read as none)
  anomalies: z
    .array(z.object({ kind: z.enum(ANOMALY_KINDS), value: finite, threshold: finite }))
    .max(ANOMALY_KINDS.length)
    .refine((a) => new Set(a.map((x) => x.kind)).size === a.length, 'one entry per kind')
    .default([]),
  // (optional: predictions written without tracing, or before it existed, still parse; the page builds links from them)
  traceId: traceIdSchema.optional(),
  linkedTraceId: traceIdSchema.optional(),
});
/** Larger than any prediction this code writes (~600 bytes): refused before it is parsed. */
export const MAX_PREDICTION_BYTES = 16 * 1024;

/** A prediction read back from Redis (push, latest, history) that is not one this code writes: refused, counted, logged. */
export class PredictionFormatError extends Error {
  override readonly name = 'PredictionFormatError';
  readonly code: InferenceErrorCode = 'malformed_prediction';
}

/** The prediction in `json`, checked; throws PredictionFormatError (never anything else). */
export function parsePrediction(json: string | Buffer): Prediction {
  if (json.length > MAX_PREDICTION_BYTES) throw new PredictionFormatError(`prediction is ${json.length} bytes, over ${MAX_PREDICTION_BYTES}`);
  let value: unknown;
  try {
    value = JSON.parse(typeof json === 'string' ? json : json.toString('utf8'));
  } catch (err) {
    throw new PredictionFormatError('prediction is not JSON', { cause: err });
  }
  const r = PredictionSchema.safeParse(value);
  if (!r.success)
    throw new PredictionFormatError(
      `prediction refused: ${r.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || 'value'}: ${i.message}`)
        .join('; ')}`,
    );
  return r.data;
}

export interface Checks {
  maxFeatureAgeMs: number;
  minCompleteness: number;
}

const MICROPRICE = FEATURE_NAMES.indexOf('microprice_dev_bps');

export function completeness(features: Float64Array): number {
  if (features.length === 0) return 0;
  let finite = 0;
  for (let i = 0; i < features.length; i++) if (Number.isFinite(features[i]!)) finite++;
  return finite / features.length;
}

export function midOf(v: FeatureVectorRecord): number {
  return (v.bestBid + v.bestAsk) / 2;
}

/** The first reason the model must not see this vector, or null. */
export function vetVector(v: FeatureVectorRecord, nowMs: number, checks: Checks, modelSchemaHash: string | undefined, complete = completeness(v.features)): FallbackReason | null {
  if (v.status === VectorStatus.Reanchoring) return 'reanchoring';
  // a non-finite event time (a corrupt vector) must not pass as fresh: NaN compares false
  if (v.status === VectorStatus.Stale || !(nowMs - v.eventTimeUs / 1000 <= checks.maxFeatureAgeMs)) return 'stale_features';
  if (v.schemaHash !== FEATURE_SCHEMA_HASH || (modelSchemaHash !== undefined && modelSchemaHash !== v.schemaHash)) return 'schema_mismatch';
  if (complete < checks.minCompleteness) return 'incomplete_features';
  if (modelSchemaHash === undefined) return 'model_unavailable';
  return null;
}

export function baselineReturnBps(v: FeatureVectorRecord): number {
  const m = v.schemaHash === FEATURE_SCHEMA_HASH ? v.features[MICROPRICE] : undefined;
  return m !== undefined && Number.isFinite(m) ? m : 0;
}

export interface Outcome {
  returnBps: number;
  pUp: number;
  modelVersion: string | null;
  reason: FallbackReason | null;
  /** The vector's completeness when the caller has it already. */
  completeness?: number;
  /** The tick's trace and the event trace it links to (tracing on). */
  traceId?: string;
  linkedTraceId?: string;
  /** The anomalies the detector flagged on this tick (none when absent). */
  anomalies?: Anomaly[];
}

export function buildPrediction(symbol: string, tickMs: number, nowMs: number, horizonS: number, replica: string, v: FeatureVectorRecord, o: Outcome): Prediction | undefined {
  const mid = midOf(v);
  if (!Number.isFinite(mid) || mid <= 0) return undefined;
  const baseline = baselineReturnBps(v);
  const fallback = o.reason !== null;
  const returnBps = fallback ? baseline : o.returnBps;
  const pUp = fallback ? 0.5 : o.pUp;
  return {
    symbol,
    tickMs,
    tickTime: new Date(tickMs).toISOString(),
    issuedAtMs: nowMs,
    horizonS,
    targetMs: tickMs + horizonS * 1000,
    featureEventTimeMs: v.eventTimeUs / 1000,
    featureVersion: v.version,
    featureStatus: STATUS_NAMES[v.status],
    featureAgeMs: nowMs - v.eventTimeUs / 1000,
    completeness: o.completeness ?? completeness(v.features),
    mid,
    predictedReturnBps: returnBps,
    predictedPrice: mid * (1 + returnBps / 1e4),
    pUp,
    confidence: Math.max(pUp, 1 - pUp),
    modelVersion: fallback ? null : o.modelVersion,
    fallback,
    reason: o.reason,
    baseline: { returnBps: baseline, price: mid * (1 + baseline / 1e4) },
    replica,
    anomalies: o.anomalies ?? [],
    ...(o.traceId === undefined ? {} : { traceId: o.traceId }),
    ...(o.linkedTraceId === undefined ? {} : { linkedTraceId: o.linkedTraceId }),
  };
}
