/** The economics, on a case worked out by hand (each figure's arithmetic in the comments). */
import { describe, expect, it } from 'vitest';
import { economics, economicsSection, strongestCalls, type Costs } from '@hotpath/model';

const costs: Costs = { takerFeeBps: 1, makerFeeBps: 0.5, marginBps: 0.5, strongestShare: 0.5 };
// predicted, P(up), realized, spread (bps). #4 names no direction, #6 and #7 are unusable (NaN realized, negative spread)
const rows: [number, number, number, number][] = [
  [3, 0.8, 4, 2], // #1 call up, right;   taker cost 2 + 1 → 2
  [-1, 0.4, 2, 2], // #2 call down, wrong; taker cost 2
  [0.5, 0.55, -1, 0], // #3 call up, wrong;  taker cost 1
  [0, 0.5, 3, 2], // #4 no call
  [-2.5, 0.3, -3, 1], // #5 call down, right; taker cost 1.5
  [1, 0.9, Number.NaN, 2], // #6 unusable
  [1, 0.9, 0, 4], // #7 call up, zero move (a miss); taker cost 3
  [2, 0.7, 1, -1], // unusable: a negative spread is not a book
];
const input = {
  predictedBps: rows.map((r) => r[0]),
  pUp: rows.map((r) => r[1]),
  realizedBps: rows.map((r) => r[2]),
  spreadBps: rows.map((r) => r[3]),
};

describe('economics', () => {
  const e = economics(input, costs);

  it('counts usable samples and calls, the size of moves and spreads, and how many moves beat the costs', () => {
    expect(e.samples).toBe(6); // #1-5, #7
    expect(e.calls).toBe(5); // not #4
    expect(e.meanAbsMoveBps).toBeCloseTo(13 / 6, 12); // 4+2+1+3+3+0
    expect(e.meanSpreadBps).toBeCloseTo(11 / 6, 12); // 2+2+0+2+1+4
    expect(e.taker.meanCostBps).toBeCloseTo((2 + 2 + 1 + 2 + 1.5 + 3) / 6, 12);
    expect(e.taker.movesBeyondCost).toBeCloseTo(3 / 6, 12); // 4 > 2, 3 > 2 (#4), 3 > 1.5
    expect(e.maker.movesBeyondCost).toBeCloseTo(5 / 6, 12); // all but the zero move exceed 0.5
  });

  it('every call, taker: gross 4 over 5 calls, costs 9.5, net −5.5; break-even fee 0.8 − 0.9 mean half-spread', () => {
    const f = e.taker.all;
    expect(f.calls).toBe(5);
    expect(f.hitRate).toBeCloseTo(2 / 5, 12); // #1, #5; the zero move is a miss
    expect(f.meanPredictedBps).toBeCloseTo(8 / 5, 12); // 3+1+0.5+2.5+1
    expect(f.meanCostBps).toBeCloseTo(9.5 / 5, 12);
    expect(f.predictedEdgeBps).toBeCloseTo(1.6 - 1.9, 12);
    expect(f.grossBpsTotal).toBeCloseTo(4, 12); // 4 − 2 − 1 + 3 + 0
    expect(f.grossBpsPerCall).toBeCloseTo(0.8, 12);
    expect(f.netBpsTotal).toBeCloseTo(-5.5, 12); // 2 − 4 − 2 + 1.5 − 3
    expect(f.netBpsPerCall).toBeCloseTo(-1.1, 12);
    expect(f.breakEvenFeeBps).toBeCloseTo(-0.1, 12); // half-spreads 1, 1, 0, 0.5, 2 → 0.9
    // net −1.1 ± 1.96 · sd / √5, sd² = (3.1² + 2.9² + 0.9² + 2.6² + 1.9²) / 4 = 7.3
    const half = (1.96 * Math.sqrt(7.3)) / Math.sqrt(5);
    expect(f.netBpsPerCallCi![0]).toBeCloseTo(-1.1 - half, 12);
    expect(f.netBpsPerCallCi![1]).toBeCloseTo(-1.1 + half, 12);
    // overlapping outcomes: 5 calls sharing outcomes five at a time are one effective call
    const wide = economics(input, costs, { overlap: 5 }).taker.all.netBpsPerCallCi!;
    expect(wide[1] - wide[0]).toBeCloseTo(2 * 1.96 * Math.sqrt(7.3), 12);
  });

  it('the strongest half by confidence (#7 0.9, #1 0.8, #5 0.7): net 0.5 over 3 calls', () => {
    expect(e.strongestMinConfidence).toBeCloseTo(0.7, 12);
    const f = e.taker.strongest;
    expect(f.calls).toBe(3);
    expect(f.hitRate).toBeCloseTo(2 / 3, 12);
    expect(f.grossBpsTotal).toBeCloseTo(7, 12);
    expect(f.netBpsTotal).toBeCloseTo(0.5, 12); // 2 + 1.5 − 3
    expect(f.netBpsPerCall).toBeCloseTo(0.5 / 3, 12);
    expect(f.breakEvenFeeBps).toBeCloseTo(7 / 3 - 7 / 6, 12); // half-spreads 1, 0.5, 2
  });

  it('the rule trades only when |predicted| > cost + margin: #1 (3 > 2.5) and #5 (2.5 > 2) as taker; the same two as maker (|p| > 1)', () => {
    const t = e.taker.rule;
    expect(t.calls).toBe(2);
    expect(t.hitRate).toBe(1);
    expect(t.grossBpsPerCall).toBeCloseTo(3.5, 12);
    expect(t.netBpsPerCall).toBeCloseTo(1.75, 12); // (4 − 2 + 3 − 1.5) / 2
    expect(t.netBpsTotal).toBeCloseTo(3.5, 12);
    expect(t.breakEvenFeeBps).toBeCloseTo(2.75, 12); // 3.5 − mean(1, 0.5)
    const m = e.maker.rule;
    expect(m.calls).toBe(2); // #7's 1 is not > 0.5 + 0.5
    expect(m.netBpsTotal).toBeCloseTo(6, 12);
    expect(m.breakEvenFeeBps).toBeCloseTo(3.5, 12); // a maker pays no spread
    expect(e.maker.all.netBpsPerCall).toBeCloseTo((4 - 5 * 0.5) / 5, 12);
  });

  it('no usable sample: nulls and zeros, never NaN', () => {
    const none = economics({ predictedBps: [1], pUp: [0.6], realizedBps: [Number.NaN], spreadBps: [1] }, costs);
    expect(none.samples).toBe(0);
    expect(none.taker.all).toMatchObject({ calls: 0, hitRate: null, netBpsPerCall: null, netBpsTotal: 0, breakEvenFeeBps: null, netBpsPerCallCi: null });
    expect(JSON.stringify(none)).not.toContain('NaN');
  });

  it('strongest calls: by confidence, then |predicted|, then time; a predictor without P(up) is ranked by |predicted|', () => {
    const calls = [
      { strength: 0.6, absPred: 1, id: 'a' },
      { strength: 0.7, absPred: 1, id: 'b' },
      { strength: 0.6, absPred: 3, id: 'c' },
      { strength: 0.6, absPred: 3, id: 'd' },
    ];
    expect(strongestCalls(calls, 0.75).map((c) => c.id)).toEqual(['b', 'c', 'd']); // kept in time order
    expect(strongestCalls(calls, 0.5).map((c) => c.id)).toEqual(['b', 'c']);
    expect(strongestCalls(calls, 0.01).map((c) => c.id)).toEqual(['b']); // at least one
    const noProbability = economics({ ...input, pUp: input.pUp.map(() => Number.NaN) }, costs);
    expect(noProbability.strongestMinConfidence).toBeNull();
    expect(noProbability.taker.strongest.calls).toBe(3); // #1 (3), #5 (2.5), then #2 (1, earlier than #7)
    expect(noProbability.taker.strongest.grossBpsTotal).toBeCloseTo(4 + 3 - 2, 12);
  });

  it('renders the report section: a row per predictor, set and execution, the verdict, the same figures as JSON', () => {
    const baseline = economics({ ...input, predictedBps: input.predictedBps.map((p) => -p), pUp: input.pUp.map(() => Number.NaN) }, costs);
    const { markdown, json } = economicsSection(
      [
        { label: 'model', economics: e },
        { label: 'baseline', economics: baseline },
      ],
      costs,
    );
    expect(markdown.startsWith('## Net of costs\n')).toBe(true);
    expect(markdown).toContain('taker** = half the spread + 1 bps fee');
    expect(markdown).toContain(
      'Following every call of the model gains 0.80 bps per call at mid; after half the spread and the 1 bps taker fee it nets -1.10 bps per call (break-even fee -0.10 bps per side).',
    );
    expect(markdown).toContain('the rule set makes money: 1.75 bps per call over 2 calls');
    expect(markdown).toContain('| model | every call | taker | 5 | 40.0 % | -0.30 | 0.80 | -1.10 [');
    expect(markdown).toContain('| model | strongest 50 % (confidence ≥ 0.700) | taker | 3 |');
    expect(markdown).toContain('| baseline | strongest 50 % (by predicted size) | maker |');
    expect(markdown.split('\n').filter((l) => l.startsWith('| model |')).length).toBe(6);
    expect(json.costs).toEqual(costs);
    expect(json.predictors[1]!.economics).toEqual(baseline);
    expect(economicsSection([{ label: 'model', economics: economics({ predictedBps: [], pUp: [], realizedBps: [], spreadBps: [] }) }]).markdown).toContain('No calls to judge.');
  });
});
