/** The detector's rules one kind at a time, on inputs made to sit just either side of each threshold. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { ANOMALY_KINDS, AnomalyDetector, DEFAULT_ANOMALY_CONFIG, emptyInput, kindsOf, marketInput, TRADE_RATE_WINDOW_S, type AnomalyInput } from '../src/index.ts';

/** A calm tick: every measure at a steady level no rule fires on. */
function calm(over: Partial<AnomalyInput> = {}): AnomalyInput {
  return { retMidBps: 0, spreadBps: 0.02, imbalance: 0.1, tradeRate: 10, latencyMs: 100, featureAgeMs: 50, ...over };
}

/** A detector (small window) warmed up on `n` calm ticks of `symbol`. */
function warmed(n = 20, config = {}, symbol = 'BTCUSDT', tick: (i: number) => AnomalyInput = () => calm()): AnomalyDetector {
  const d = new AnomalyDetector({ window: 20, warmup: 10, ...config });
  for (let i = 0; i < n; i++) d.observe(symbol, tick(i));
  return d;
}

const kinds = (d: AnomalyDetector, input: AnomalyInput, symbol = 'BTCUSDT') => d.observe(symbol, input)!.anomalies.map((a) => a.kind);

describe('AnomalyDetector', () => {
  it('a calm market fires nothing, and the verdict is the shared empty list', () => {
    const d = warmed(50);
    const v = d.observe('BTCUSDT', calm())!;
    expect(v).toMatchObject({ active: 0, started: 0, ended: 0 });
    expect(v.anomalies).toHaveLength(0);
    expect(Object.isFrozen(v.anomalies)).toBe(true);
  });

  it('price_jump: |10 s return| over k × the RMS of past returns, never below the σ floor', () => {
    // returns alternating ±2 bps: σ = 2, threshold 5 × 2 = 10
    const d = warmed(20, {}, 'BTCUSDT', (i) => calm({ retMidBps: i % 2 ? 2 : -2 }));
    expect(kinds(d, calm({ retMidBps: 9.9 }))).toEqual([]);
    // the 9.9 joined the (full, 20-sample) window in place of its oldest ±2: σ = √((19 × 4 + 9.9²) / 20) ≈ 2.95
    const v = d.observe('BTCUSDT', calm({ retMidBps: -20 }))!;
    expect(v.anomalies).toEqual([{ kind: 'price_jump', value: -20, threshold: expect.closeTo(5 * Math.sqrt((19 * 4 + 9.9 ** 2) / 20), 9) }]);
    // a flat market: σ 0, so the floor (0.5 bps) decides: 2.4 bps is not a jump, 2.6 is
    expect(kinds(warmed(20), calm({ retMidBps: 2.4 }))).toEqual([]);
    expect(warmed(20).observe('BTCUSDT', calm({ retMidBps: 2.6 }))!.anomalies[0]).toEqual({ kind: 'price_jump', value: 2.6, threshold: 2.5 });
  });

  it('rolling kinds wait for the warm-up; the absolute ones do not', () => {
    const d = new AnomalyDetector({ window: 20, warmup: 10 });
    for (let i = 0; i < 9; i++) d.observe('BTCUSDT', calm());
    // the 10th tick has 9 samples behind it: no rolling threshold yet
    expect(kinds(d, calm({ spreadBps: 1, tradeRate: 500, latencyMs: 60_000 }))).toEqual([]);
    expect(kinds(d, calm({ imbalance: -0.999, featureAgeMs: 3_001 }))).toEqual(['imbalance_extreme', 'feature_age_spike']);
    expect(kinds(d, calm({ retMidBps: 50, spreadBps: 1, tradeRate: 500, latencyMs: 60_000 }))).toEqual(['price_jump', 'spread_blowout', 'trade_burst', 'latency_spike']);
  });

  it('spread_blowout, trade_burst, latency_spike: over m × the rolling median and over the floor', () => {
    const d = warmed(20);
    // medians 0.02 bps, 10 trades/s, 100 ms: thresholds max(5 × 0.02, 0) = 0.1, max(8 × 10, 5) = 80, max(5 × 100, 1000) = 1000
    expect(kinds(d, calm({ spreadBps: 0.1, tradeRate: 80, latencyMs: 1_000 }))).toEqual([]);
    expect(d.observe('BTCUSDT', calm({ spreadBps: 0.11, tradeRate: 81, latencyMs: 1_001 }))!.anomalies).toEqual([
      { kind: 'spread_blowout', value: 0.11, threshold: expect.closeTo(0.1, 12) },
      { kind: 'trade_burst', value: 81, threshold: 80 },
      { kind: 'latency_spike', value: 1_001, threshold: 1_000 },
    ]);
    // a quiet market (median 0 trades/s): the floor keeps one trade from being a burst
    const quiet = warmed(20, {}, 'BTCUSDT', () => calm({ tradeRate: 0 }));
    expect(kinds(quiet, calm({ tradeRate: 5 }))).toEqual([]);
    expect(kinds(quiet, calm({ tradeRate: 5.2 }))).toEqual(['trade_burst']);
  });

  it('the median of an even count is the mean of the middle two', () => {
    const d = new AnomalyDetector({ window: 4, warmup: 4, latencyMinMs: 0, latencyM: 1 });
    for (const ms of [400, 100, 300, 200]) d.observe('X', calm({ latencyMs: ms }));
    expect(d.observe('X', calm({ latencyMs: 251 }))!.anomalies).toEqual([{ kind: 'latency_spike', value: 251, threshold: 250 }]);
  });

  it('feature_age_spike: over the absolute limit, or over m × its median and the floor', () => {
    const d = warmed(20, {}, 'BTCUSDT', () => calm({ featureAgeMs: 200 }));
    // median 200 ms: relative threshold max(10 × 200, 1000) = 2000, under the 3000 limit
    expect(kinds(d, calm({ featureAgeMs: 2_000 }))).toEqual([]);
    expect(d.observe('BTCUSDT', calm({ featureAgeMs: 2_001 }))!.anomalies).toEqual([{ kind: 'feature_age_spike', value: 2_001, threshold: 2_000 }]);
    // a slow median (500 ms): 10 × 500 = 5000, so the absolute limit (3000) is the threshold
    const slow = warmed(20, {}, 'BTCUSDT', () => calm({ featureAgeMs: 500 }));
    expect(slow.observe('BTCUSDT', calm({ featureAgeMs: 3_500 }))!.anomalies).toEqual([{ kind: 'feature_age_spike', value: 3_500, threshold: 3_000 }]);
  });

  it('started is the rising edge (the first tick a kind fires, again after it cleared), ended the falling one', () => {
    const d = warmed(20);
    const bit = 1 << ANOMALY_KINDS.indexOf('imbalance_extreme');
    const seq = [0.1, 0.999, 0.9995, 0.1, -0.999].map((imbalance) => {
      const v = d.observe('BTCUSDT', calm({ imbalance }))!;
      return [v.active & bit, v.started & bit, v.ended & bit];
    });
    expect(seq).toEqual([
      [0, 0, 0],
      [bit, bit, 0],
      [bit, 0, 0],
      [0, 0, bit],
      [bit, bit, 0],
    ]);
    expect(kindsOf(bit | 1)).toEqual(['price_jump', 'imbalance_extreme']);
  });

  it('symbols are judged apart', () => {
    const d = warmed(20, {}, 'BTCUSDT');
    expect(kinds(d, calm({ retMidBps: 50 }), 'ETHUSDT')).toEqual([]); // ETHUSDT has no history yet
    expect(kinds(d, calm({ retMidBps: 50 }), 'BTCUSDT')).toEqual(['price_jump']);
    expect(d.size).toBe(2);
    expect(d.latest('ETHUSDT')?.active).toBe(0);
    d.forget('ETHUSDT');
    expect(d.latest('ETHUSDT')).toBeUndefined();
  });

  it('bad inputs never fire, never join a history, and are counted by kind and problem (and reported)', () => {
    const told: string[] = [];
    const d = new AnomalyDetector({ window: 20, warmup: 10 }, (kind, problem) => told.push(`${kind}:${problem}`));
    for (let i = 0; i < 20; i++) d.observe('BTCUSDT', calm());
    const bad = { retMidBps: Number.NaN, spreadBps: -1, imbalance: 1.5, tradeRate: Number.POSITIVE_INFINITY, latencyMs: -5, featureAgeMs: Number.NaN };
    expect(d.observe('BTCUSDT', bad)!.anomalies).toEqual([]);
    expect(d.problems).toEqual({
      price_jump: { non_finite: 1, out_of_range: 0 },
      spread_blowout: { non_finite: 0, out_of_range: 1 },
      imbalance_extreme: { non_finite: 0, out_of_range: 1 },
      trade_burst: { non_finite: 1, out_of_range: 0 },
      latency_spike: { non_finite: 0, out_of_range: 1 },
      feature_age_spike: { non_finite: 1, out_of_range: 0 },
    });
    expect(told).toHaveLength(6);
    // the histories are as before the bad tick: a calm tick still fires nothing
    expect(kinds(d, calm())).toEqual([]);
  });

  it('any input at all: a verdict whose list matches its bits, each entry past its threshold; never a throw', () => {
    const num = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 0, 1e308));
    const input = fc.record({ retMidBps: num, spreadBps: num, imbalance: num, tradeRate: num, latencyMs: num, featureAgeMs: num });
    fc.assert(
      fc.property(fc.array(input, { maxLength: 40 }), (ticks) => {
        const d = new AnomalyDetector({ window: 8, warmup: 3 });
        for (const t of ticks) {
          const v = d.observe('S', t)!;
          expect(v.anomalies.map((a) => a.kind)).toEqual(kindsOf(v.active));
          for (const a of v.anomalies) {
            expect(Number.isFinite(a.value) && Number.isFinite(a.threshold)).toBe(true);
            expect(Math.abs(a.value)).toBeGreaterThan(a.threshold);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('bounded: a new symbol past maxSymbols is refused and counted; the tracked ones carry on', () => {
    const d = new AnomalyDetector({ maxSymbols: 2 });
    expect(d.observe('A', calm())).toBeDefined();
    expect(d.observe('B', calm())).toBeDefined();
    expect(d.observe('C', calm())).toBeUndefined();
    expect(d.refusedSymbols).toBe(1);
    expect(d.observe('A', calm())).toBeDefined();
    expect(d.size).toBe(2);
  });

  it('only the configured kinds are judged', () => {
    const d = new AnomalyDetector({ kinds: ['imbalance_extreme'] });
    expect(kinds(d, calm({ imbalance: 1, featureAgeMs: 1e6, retMidBps: Number.NaN }))).toEqual(['imbalance_extreme']);
    expect(d.problems.price_jump.non_finite).toBe(0); // not judged, so not counted
    expect(d.config.kinds).toEqual(['imbalance_extreme']);
  });

  it('a setting that cannot work is a RangeError naming it', () => {
    for (const [over, field] of [
      [{ window: 1 }, 'window'],
      [{ warmup: 200 }, 'warmup'],
      [{ maxSymbols: 0 }, 'maxSymbols'],
      [{ priceJumpK: 0 }, 'priceJumpK'],
      [{ latencyMinMs: -1 }, 'latencyMinMs'],
      [{ featureAgeM: Number.NaN }, 'featureAgeM'],
      [{ imbalanceLevel: 1 }, 'imbalanceLevel'],
      [{ kinds: ['price_jump', 'meteor'] }, 'kinds'],
    ] as const)
      expect(() => new AnomalyDetector(over as never), field).toThrow(new RegExp(`^anomaly config: ${field} `));
    expect(new AnomalyDetector().config).toEqual(DEFAULT_ANOMALY_CONFIG);
  });
});

describe('marketInput', () => {
  it('reads the 10 s mid return, spread, top-of-book imbalance and trade rate from a vector of this feature set', () => {
    const f = new Float64Array(FEATURE_COUNT).fill(Number.NaN);
    const set = (name: string, v: number) => {
      const i = FEATURE_NAMES.indexOf(name);
      expect(i, name).toBeGreaterThanOrEqual(0);
      f[i] = v;
    };
    set('ret_mid_bps_10s', -3.5);
    set('spread_bps', 0.02);
    set('book_imbalance_1', 0.4);
    set(`trade_count_${TRADE_RATE_WINDOW_S}s`, 60);
    const input = emptyInput();
    input.latencyMs = 12;
    expect(marketInput(f, FEATURE_SCHEMA_HASH, input)).toEqual({ retMidBps: -3.5, spreadBps: 0.02, imbalance: 0.4, tradeRate: 12, latencyMs: 12, featureAgeMs: Number.NaN });
  });

  it('a vector of another feature set gives unknowns (counted by the detector, never judged)', () => {
    const input = marketInput(new Float64Array(FEATURE_COUNT).fill(1), '0123456789abcdef', emptyInput());
    expect([input.retMidBps, input.spreadBps, input.imbalance, input.tradeRate].every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(marketInput(new Float64Array(3), FEATURE_SCHEMA_HASH, emptyInput()).retMidBps)).toBe(true);
  });
});
