/**
 * Live grading net of costs: the spread each prediction met at its tick, the configured fees, the
 * same economics as the trainer's report — figures worked out by hand, and the gauges they set.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from '@hotpath/telemetry';
import { costsOf, InferenceConfigSchema } from '../src/config.ts';
import { Grader, spreadBpsOf, wilsonInterval } from '../src/grading.ts';
import { createInferenceMetrics } from '../src/metrics.ts';
import type { Prediction } from '../src/prediction.ts';

const pred = (tickMs: number, returnBps: number, pUp: number, baselineBps: number, fallback = false): Prediction =>
  ({
    symbol: 'X',
    tickMs,
    targetMs: tickMs + 10_000,
    horizonS: 10,
    mid: 100,
    predictedReturnBps: returnBps,
    predictedPrice: 100 * (1 + returnBps / 1e4),
    pUp,
    confidence: Math.max(pUp, 1 - pUp),
    fallback,
    baseline: { returnBps: baselineBps, price: 100 * (1 + baselineBps / 1e4) },
  }) as Prediction;

/** A gauge's value for exactly these labels, or undefined when the series is absent. */
async function gauge(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = registry.getSingleMetric(name);
  const values = (await m!.get()).values;
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && Object.keys(v.labels).length === Object.keys(labels).length)?.value;
}

describe('grading net of costs', () => {
  it('spread in bps from the top of the book; nothing for a crossed or empty book', () => {
    expect(spreadBpsOf(99.99, 100.01)).toBeCloseTo(2, 10);
    expect(spreadBpsOf(100, 100)).toBe(0);
    expect(spreadBpsOf(100.01, 99.99)).toBeNaN();
    expect(spreadBpsOf(Number.NaN, 100)).toBeNaN();
  });

  it('the costs come from INFERENCE_TAKER_FEE_BPS, INFERENCE_MAKER_FEE_BPS, INFERENCE_RULE_MARGIN_BPS, INFERENCE_STRONGEST_SHARE', () => {
    const c = InferenceConfigSchema.parse({ redisUrl: 'redis://127.0.0.1:1', takerFeeBps: '4.5', makerFeeBps: '-0.5', ruleMarginBps: '1', strongestShare: '0.2' });
    expect(costsOf(c)).toEqual({ takerFeeBps: 4.5, makerFeeBps: -0.5, marginBps: 1, strongestShare: 0.2 });
    expect(costsOf(InferenceConfigSchema.parse({ redisUrl: 'redis://127.0.0.1:1' }))).toEqual({ takerFeeBps: 10, makerFeeBps: 2, marginBps: 0, strongestShare: 0.1 });
    expect(() => InferenceConfigSchema.parse({ redisUrl: 'redis://127.0.0.1:1', strongestShare: 0 })).toThrow();
  });

  it('each prediction pays the spread of its own tick and the configured fees; figures and gauges as worked by hand', async () => {
    const registry = new Registry();
    const metrics = createInferenceMetrics(registry);
    let graded = 0;
    const costs = { takerFeeBps: 1, makerFeeBps: 0.5, marginBps: 1.6, strongestShare: 0.5 };
    const g = new Grader(
      2_000,
      100,
      () => graded++,
      () => undefined,
      { costs, metrics },
    );
    // spreads at the prediction ticks: 2, 1 bps; tick 4 s seen stale (its spread unknown), 6 s 3 bps
    g.observe('X', 0, 100, true, 2);
    g.observe('X', 2_000, 100, true, 1);
    g.observe('X', 4_000, 100, false, 4);
    g.observe('X', 6_000, 100, true, 3);
    g.add(pred(0, 5, 0.7, 0.5)); // realized +10: right
    g.add(pred(2_000, -3, 0.35, 0.5)); // realized +5: wrong
    g.add(pred(4_000, 1, 0.55, 0.5)); // realized −10, spread unknown: graded, not in the economics
    g.add(pred(6_000, 0, 0.5, -1, true)); // a fallback: baseline only; realized 0
    for (const [t, mid] of [
      [10_000, 100.1],
      [12_000, 100.05],
      [14_000, 99.9],
      [16_000, 100],
    ] as const)
      g.observe('X', t, mid, true, 2);

    expect(graded).toBe(4);
    const last = g.figures('X');
    expect(last.model.n).toBe(3);
    // the live page's interval: 1 right of 3 directional calls, which overlap (5 per horizon): at most one effective call
    expect(last.model.directional).toBe(3);
    expect(last.model.directionalInterval).toEqual(wilsonInterval(1, 3, 5));
    const e = last.model.economics!;
    expect(e.costs).toEqual(costs);
    expect(e.samples).toBe(2);
    // taker costs: 2/2 + 1 = 2 and 1/2 + 1 = 1.5; gross +10, −5; net 8, −6.5
    expect(e.taker.all.grossBpsPerCall).toBeCloseTo(2.5, 9);
    expect(e.taker.all.netBpsPerCall).toBeCloseTo(0.75, 9);
    expect(e.taker.all.hitRate).toBe(0.5);
    expect(e.taker.all.predictedEdgeBps).toBeCloseTo((5 - 2 + 3 - 1.5) / 2, 9);
    expect(e.taker.all.breakEvenFeeBps).toBeCloseTo(2.5 - 0.75, 9);
    // 5 predictions per 10 s horizon: two calls are fewer than one effective call, the interval is 1.96 sd wide each way
    const sd = Math.sqrt(2 * 7.25 ** 2);
    expect(e.taker.all.netBpsPerCallCi![1] - e.taker.all.netBpsPerCallCi![0]).toBeCloseTo(2 * 1.96 * sd, 9);
    // the strongest half: the 0.7 call; the rule (|p| > cost + 1.6): only 5 > 3.6 as taker, both as maker (> 2.1)
    expect(e.taker.strongest.calls).toBe(1);
    expect(e.taker.strongest.netBpsTotal).toBeCloseTo(8, 9);
    expect(e.taker.rule).toMatchObject({ calls: 1, hitRate: 1 });
    expect(e.taker.rule.netBpsTotal).toBeCloseTo(8, 9);
    expect(e.maker.rule.calls).toBe(2);
    expect(e.maker.rule.netBpsTotal).toBeCloseTo(10 - 5 - 2 * 0.5, 9);
    // the baseline, no P(up): 0.5, 0.5, −1 with spreads 2, 1, 3 against +10, +5, 0
    const b = last.baseline.economics!;
    expect(b.calls).toBe(3);
    expect(b.strongestMinConfidence).toBeNull();
    expect(b.taker.all.netBpsTotal).toBeCloseTo(15 - (2 + 1.5 + 2.5), 9);

    // the gauges are set after the grading's turn of the event loop (off the tick's path), once for the four gradings
    expect(await gauge(registry, 'inference_net_edge_bps', { symbol: 'X', predictor: 'model', execution: 'taker', calls: 'all' })).toBeUndefined();
    await new Promise(setImmediate);
    const labels = (predictor: string, execution: string, calls: string) => ({ symbol: 'X', predictor, execution, calls });
    expect(await gauge(registry, 'inference_net_edge_bps', labels('model', 'taker', 'all'))).toBeCloseTo(0.75, 9);
    expect(await gauge(registry, 'inference_net_edge_bps', labels('baseline', 'taker', 'all'))).toBeCloseTo(3, 9);
    expect(await gauge(registry, 'inference_gross_edge_bps', labels('model', 'taker', 'rule'))).toBeCloseTo(10, 9);
    expect(await gauge(registry, 'inference_calls', labels('model', 'taker', 'rule'))).toBe(1);
    expect(await gauge(registry, 'inference_call_hit_rate', labels('model', 'maker', 'rule'))).toBe(0.5);
    expect(await gauge(registry, 'inference_break_even_fee_bps', labels('model', 'taker', 'all'))).toBeCloseTo(1.75, 9);
    expect(await gauge(registry, 'inference_predicted_edge_bps', labels('model', 'taker', 'all'))).toBeCloseTo(2.25, 9);
    expect(await gauge(registry, 'inference_pnl_window_bps', { ...labels('model', 'taker', 'rule'), basis: 'net' })).toBeCloseTo(8, 9);
    expect(await gauge(registry, 'inference_pnl_window_bps', { ...labels('model', 'taker', 'rule'), basis: 'gross' })).toBeCloseTo(10, 9);
    expect(await gauge(registry, 'inference_trading_cost_bps', { symbol: 'X', predictor: 'model', execution: 'taker' })).toBeCloseTo(1.75, 9);
  });

  it('a figure with no calls removes its series instead of leaving a stale value', async () => {
    const registry = new Registry();
    const metrics = createInferenceMetrics(registry);
    const g = new Grader(
      2_000,
      1,
      () => undefined,
      () => undefined,
      { costs: { takerFeeBps: 1, makerFeeBps: 0, marginBps: 0, strongestShare: 1 }, metrics },
    );
    const labels = { symbol: 'X', predictor: 'model', execution: 'taker', calls: 'rule' };
    g.observe('X', 0, 100, true, 0);
    g.add(pred(0, 5, 0.7, 0));
    g.observe('X', 2_000, 100, true, 0);
    g.add(pred(2_000, 0.5, 0.6, 0)); // below the 1 bps taker cost: the rule does not trade it
    g.observe('X', 10_000, 100.1, true, 0);
    await new Promise(setImmediate);
    expect(await gauge(registry, 'inference_net_edge_bps', labels)).toBeCloseTo(9, 9);
    g.observe('X', 12_000, 100, true, 0); // the window of 1 now holds only the call the rule skipped
    await new Promise(setImmediate);
    expect(await gauge(registry, 'inference_net_edge_bps', labels)).toBeUndefined();
    expect(await gauge(registry, 'inference_calls', labels)).toBe(0);
    expect(await gauge(registry, 'inference_net_edge_bps', { ...labels, calls: 'all' })).toBeCloseTo(-1, 9);
  });
});

describe('rolling accuracy interval', () => {
  it('is the Wilson score interval (Newcombe 1998, Table I, method 3), at calls / overlap effective calls', () => {
    const at = (i: { lo: number; hi: number } | null) => [i!.lo.toFixed(4), i!.hi.toFixed(4)];
    expect(at(wilsonInterval(8, 10, 1))).toEqual(['0.4902', '0.9433']);
    expect(at(wilsonInterval(81, 263, 1))).toEqual(['0.2553', '0.3662']);
    expect(at(wilsonInterval(0, 10, 1))).toEqual(['0.0000', '0.2775']);
    // 5 overlapping calls per horizon: 50 calls count as 10
    expect(wilsonInterval(40, 50, 5)).toEqual(wilsonInterval(8, 10, 1));
    expect(wilsonInterval(0, 0, 1)).toBeNull();
  });
});
