/**
 * Anomaly flags in inference (docs/anomalies.md): the prediction field's contract with what reads predictions
 * back, the INFERENCE_ANOMALY_* settings, and a replica on a real Redis flagging, counting and clearing them.
 */
import { describe, expect, it, vi } from 'vitest';
import { ANOMALY_KINDS, DEFAULT_ANOMALY_CONFIG } from '@hotpath/anomaly';
import { FEATURE_COUNT, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { VectorStatus, type FeatureVectorRecord } from '@hotpath/state';
import { anomalyConfigOf, inferenceConfigFromEnv } from '../src/config.ts';
import { buildPrediction, parsePrediction, PredictionFormatError } from '../src/prediction.ts';
import { configRefusal } from '../../../test/support/config.ts';
import { Feeder, metric, privateRedis, replica, streamOf } from './harness.ts';

const db = privateRedis();
/** How long a replica may take to show something: generous, so a busy machine only makes the test slower. */
const WAIT = { timeout: 60_000, interval: 50 };

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

describe('INFERENCE_ANOMALY_* settings', () => {
  const env = { INFERENCE_SYMBOLS: 'BTCUSDT,ETHUSDT' };

  it('default to the documented thresholds, all kinds, one symbol slot per configured symbol', () => {
    const c = anomalyConfigOf(inferenceConfigFromEnv(env));
    expect(c).toEqual({ ...DEFAULT_ANOMALY_CONFIG, kinds: [...ANOMALY_KINDS], maxSymbols: 2 });
  });

  it('are read from the environment, kinds as a comma list or none', () => {
    const c = anomalyConfigOf(
      inferenceConfigFromEnv({ ...env, INFERENCE_ANOMALY_PRICE_JUMP_K: '6', INFERENCE_ANOMALY_WINDOW: '60', INFERENCE_ANOMALY_WARMUP: '10', INFERENCE_ANOMALY_KINDS: 'price_jump, latency_spike' }),
    );
    expect(c).toMatchObject({ priceJumpK: 6, window: 60, warmup: 10, kinds: ['price_jump', 'latency_spike'] });
    expect(anomalyConfigOf(inferenceConfigFromEnv({ ...env, INFERENCE_ANOMALY_KINDS: 'none' })).kinds).toEqual([]);
    // a warm-up longer than the window is the window
    expect(anomalyConfigOf(inferenceConfigFromEnv({ ...env, INFERENCE_ANOMALY_WARMUP: '200' })).warmup).toBe(150);
  });

  it('refuse a wrong value, naming its variable', () => {
    for (const [name, value] of [
      ['INFERENCE_ANOMALY_PRICE_JUMP_K', '0'],
      ['INFERENCE_ANOMALY_IMBALANCE_LEVEL', '1'],
      ['INFERENCE_ANOMALY_SPREAD_MIN_BPS', '-1'],
      ['INFERENCE_ANOMALY_KINDS', 'price_jump,meteor'],
      ['INFERENCE_ANOMALY_FEATURE_AGE_LIMIT_MS', 'soon'],
    ]) {
      const err = configRefusal(() => inferenceConfigFromEnv({ ...env, [name!]: value }));
      expect(err?.variables, `${name}=${value}`).toEqual([name]);
    }
  });
});

describe('a replica flags anomalies', () => {
  it('attaches them to its predictions, counts each start once, and its gauge follows the latest tick', async () => {
    const feeder = new Feeder(db.redis, 'BTCUSDT').start();
    const a = replica(db.server.url, { replica: 'anomalies' });
    await a.start();
    try {
      const kind = 'feature_age_spike';
      const events = () => metric(a.port, `anomaly_events_total{symbol="BTCUSDT",kind="${kind}"`);
      const active = () => metric(a.port, `anomaly_active{symbol="BTCUSDT",kind="${kind}"`);
      // fresh vectors: predictions carry none
      await vi.waitFor(async () => expect((await streamOf(db.redis, 'BTCUSDT')).length).toBeGreaterThanOrEqual(3), WAIT);
      expect((await streamOf(db.redis, 'BTCUSDT')).every((e) => Array.isArray(e.p.anomalies) && !e.p.anomalies.some((x) => x.kind === kind))).toBe(true);
      expect(await events()).toBe(0);
      // vectors a minute old: over the absolute age limit from the first such tick
      const staleFrom = feeder.lastVersion;
      feeder.mode = 'stale';
      await vi.waitFor(async () => {
        const flagged = (await streamOf(db.redis, 'BTCUSDT')).filter((e) => e.p.featureVersion > staleFrom && e.p.anomalies.some((x) => x.kind === kind));
        expect(flagged.length).toBeGreaterThanOrEqual(2);
        const f = flagged[0]!.p.anomalies.find((x) => x.kind === kind)!;
        expect(f.value).toBeGreaterThan(50_000);
        expect(f.threshold).toBe(DEFAULT_ANOMALY_CONFIG.featureAgeLimitMs);
      }, WAIT);
      expect(await active()).toBe(1);
      expect(await events()).toBe(1); // on for several ticks: one event
      // fresh again: the gauge drops, the count stays
      feeder.mode = 'live';
      await vi.waitFor(async () => expect(await active()).toBe(0), WAIT);
      expect(await events()).toBe(1);
      // a vector of another feature set: its market measures are not judged, and counted
      feeder.mode = 'foreign_schema';
      await vi.waitFor(async () => expect(await metric(a.port, 'anomaly_inputs_refused_total{kind="price_jump",problem="non_finite"')).toBeGreaterThan(0), WAIT);
    } finally {
      await a.stop();
      feeder.stop();
    }
  });
});
