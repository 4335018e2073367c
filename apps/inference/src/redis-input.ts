/**
 * Everything read from Redis is untrusted input: predictions (push, latest, history) are schema-checked, vectors
 * decoded defensively; a refusal is counted (`inference_redis_refused_total{source}`) and logged, never fatal.
 */
import type { Logger } from '@hotpath/telemetry';
import { decodeVector, type FeatureVectorRecord } from '@hotpath/state';
import type { InferenceMetrics } from './metrics.ts';
import { parsePrediction, type Prediction } from './prediction.ts';

export type RefusedSource = 'push' | 'latest' | 'history' | 'vector';

export class RedisInput {
  constructor(
    private readonly metrics: InferenceMetrics,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  /** The prediction in `json`, or undefined when it is malformed (counted and logged). */
  checked(json: string | Buffer, source: RefusedSource): Prediction | undefined {
    try {
      return parsePrediction(json);
    } catch (err) {
      this.refused(source, err);
      return undefined;
    }
  }

  decoded(symbol: string, raw: Buffer): FeatureVectorRecord | undefined {
    try {
      const v = decodeVector(raw);
      // header numbers become prediction fields and metric values: a non-finite one is corruption
      if (!Number.isFinite(v.version) || !Number.isFinite(v.eventTimeUs) || !Number.isFinite(v.writtenAtUs)) throw new Error('feature vector header holds a non-finite number');
      return v;
    } catch (err) {
      this.refused('vector', err, symbol);
      return undefined;
    }
  }

  refused(source: RefusedSource, err: unknown, symbol?: string): void {
    this.metrics.redisRefused.inc({ source });
    this.log.warn({ err, source, symbol }, 'value read from Redis refused');
  }

  /** A tick from the future (beyond clock skew) would pin "latest" and health's "written recently" for ever. */
  plausible(p: Prediction): boolean {
    return p.tickMs <= Date.now() + 2 * this.intervalMs;
  }
}
