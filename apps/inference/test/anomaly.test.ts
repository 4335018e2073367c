/** Anomaly flags on the prediction (docs/anomalies.md): the field's contract with what reads predictions back. */
import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { VectorStatus, type FeatureVectorRecord } from '@hotpath/state';
import { buildPrediction, parsePrediction, PredictionFormatError } from '../src/prediction.ts';

function vector(nowMs: number): FeatureVectorRecord {
  return {
    status: VectorStatus.Live,
    version: 7,
    eventTimeUs: (nowMs - 100) * 1000,
    writtenAtUs: nowMs * 1000,
    bestBid: 99.99,
    bestAsk: 100.01,
    schemaHash: FEATURE_SCHEMA_HASH,
    features: new Float64Array(FEATURE_COUNT).fill(1),
  };
}

describe('Prediction.anomalies', () => {
  const now = 1_700_000_000_000;
  const base = (anomalies?: { kind: 'price_jump' | 'latency_spike'; value: number; threshold: number }[]) =>
    buildPrediction('BTCUSDT', now, now + 3, 10, 'r', vector(now), { returnBps: 1, pUp: 0.6, modelVersion: 'm@1', reason: null, ...(anomalies === undefined ? {} : { anomalies }) })!;

  it('is always present: empty when the tick flagged none, the flags when it did, and round-trips through JSON', () => {
    expect(base().anomalies).toEqual([]);
    const flagged = base([{ kind: 'price_jump', value: 14.2, threshold: 9.5 }]);
    expect(flagged.anomalies).toEqual([{ kind: 'price_jump', value: 14.2, threshold: 9.5 }]);
    expect(parsePrediction(JSON.stringify(flagged))).toEqual(flagged);
  });

  it('a prediction written before the field existed reads back with none', () => {
    const { anomalies: _, ...old } = base();
    expect(parsePrediction(JSON.stringify(old)).anomalies).toEqual([]);
  });

  it('refuses an unknown kind, a non-finite value, a repeated kind or a non-array', () => {
    const p = base();
    for (const anomalies of [
      [{ kind: 'alien', value: 1, threshold: 1 }],
      [{ kind: 'price_jump', value: null, threshold: 1 }],
      [{ kind: 'price_jump', value: 1 }],
      [
        { kind: 'price_jump', value: 1, threshold: 1 },
        { kind: 'price_jump', value: 2, threshold: 1 },
      ],
      'price_jump',
    ])
      expect(() => parsePrediction(JSON.stringify({ ...p, anomalies }))).toThrow(PredictionFormatError);
  });
});
