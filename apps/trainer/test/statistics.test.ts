/**
 * The trainer's statistics against values worked out independently: published
 * Wilson intervals (Newcombe 1998, Table I, method 3, z = 1.96), Pearson's r of
 * textbook data (Anscombe's quartet: r = 0.816 for all four) with Fisher-z
 * intervals computed by hand, a calibration table of a constructed set, and
 * Platt scaling on data whose maximum-likelihood fit is known in closed form.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONFIDENCE_EDGES, calibration, pearson, score, wilson, type Interval } from '../src/evaluate.ts';
import { platt } from '../src/learners.ts';

/** An interval equal to [value, lo, hi] within `digits` decimals (null stays null). */
function expectInterval(i: Interval, value: number | null, lo: number | null, hi: number | null, digits: number): void {
  for (const [got, want] of [
    [i.value, value],
    [i.lo, lo],
    [i.hi, hi],
  ] as const) {
    if (want === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(want, digits);
  }
}

// Anscombe (1973): one x for sets I–III, and set IV
const ANSCOMBE_X = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
const ANSCOMBE_Y1 = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68];
const ANSCOMBE_Y2 = [9.14, 8.14, 8.74, 8.77, 9.26, 8.1, 6.13, 3.1, 9.13, 7.26, 4.74];
const ANSCOMBE_Y3 = [7.46, 6.77, 12.74, 7.11, 7.81, 8.84, 6.08, 5.39, 8.15, 6.42, 5.73];
const ANSCOMBE_X4 = [8, 8, 8, 8, 8, 8, 8, 19, 8, 8, 8];
const ANSCOMBE_Y4 = [6.58, 5.76, 7.71, 8.84, 8.47, 7.04, 5.25, 12.5, 5.56, 7.91, 6.89];

describe('Wilson score interval', () => {
  it('matches the textbook 8 of 10: [0.490, 0.943]', () => {
    expectInterval(wilson(8, 10, 1), 0.8, 0.4902, 0.9433, 4);
  });

  it("matches Newcombe's published intervals (Stat Med 1998, Table I, method 3)", () => {
    expectInterval(wilson(81, 263, 1), 81 / 263, 0.2553, 0.3662, 4);
    expectInterval(wilson(15, 148, 1), 15 / 148, 0.0624, 0.1605, 4);
    expectInterval(wilson(0, 20, 1), 0, 0, 0.1611, 4);
    expectInterval(wilson(1, 29, 1), 1 / 29, 0.0061, 0.1718, 4);
    expectInterval(wilson(29, 29, 1), 1, 0.883, 1, 3);
  });

  it('no trials: no interval', () => {
    expectInterval(wilson(0, 0, 1), null, null, null, 9);
  });

  it('overlap shrinks the effective size: 16 of 20 overlapped two-fold is 8 of 10; it never drops below one trial', () => {
    expect(wilson(16, 20, 2)).toEqual(wilson(8, 10, 1));
    expect(wilson(50, 100, 5)).toEqual(wilson(10, 20, 1));
    // 1 of 2 at overlap 5: effective size max(1, 0.4) = 1 → 0.5 ± 1.96·√(0.25 + 0.9604) / 4.8416
    expectInterval(wilson(1, 2, 5), 0.5, 0.054619, 0.945381, 6);
  });

  it('property: lo <= p <= hi inside [0, 1], and more trials at the same rate give a narrower interval', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 10 }), (n, rate, overlap) => {
        const hits = Math.round(rate * n);
        const i = wilson(hits, n, overlap);
        expect(i.lo!).toBeGreaterThanOrEqual(0);
        expect(i.hi!).toBeLessThanOrEqual(1);
        expect(i.lo!).toBeLessThanOrEqual(i.value! + 1e-12);
        expect(i.hi!).toBeGreaterThanOrEqual(i.value! - 1e-12);
        const wider = wilson(hits, n, overlap);
        const narrower = wilson(hits * 4, n * 4, overlap);
        expect(narrower.hi! - narrower.lo!).toBeLessThanOrEqual(wider.hi! - wider.lo! + 1e-12);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Pearson correlation with a Fisher-z interval', () => {
  it('a small hand-worked case: r = 6/√60 = √0.6', () => {
    // x − 3 = (−2, −1, 0, 1, 2), y − 4 = (−2, 0, 1, 0, 1): Σxy = 6, Σx² = 10, Σy² = 6
    // z = atanh(r), se = 1/√(5 − 3), interval tanh(z ± 1.96·se)
    expectInterval(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5], 1), Math.sqrt(0.6), -0.340105, 0.984237, 6);
  });

  it("Anscombe's quartet: r = 0.816 for every set", () => {
    expectInterval(pearson(ANSCOMBE_X, ANSCOMBE_Y1, 1), 0.816421, 0.424381, 0.950694, 6);
    expect(pearson(ANSCOMBE_X, ANSCOMBE_Y2, 1).value).toBeCloseTo(0.816237, 6);
    expect(pearson(ANSCOMBE_X, ANSCOMBE_Y3, 1).value).toBeCloseTo(0.816287, 6);
    expect(pearson(ANSCOMBE_X4, ANSCOMBE_Y4, 1).value).toBeCloseTo(0.816521, 6);
    // symmetric, and blind to a positive affine change of either variable; a negative one flips the sign
    expect(pearson(ANSCOMBE_Y1, ANSCOMBE_X, 1).value).toBeCloseTo(pearson(ANSCOMBE_X, ANSCOMBE_Y1, 1).value!, 12);
    expect(
      pearson(
        ANSCOMBE_X.map((x) => 3 * x - 7),
        ANSCOMBE_Y1.map((y) => y / 10 + 100),
        1,
      ).value,
    ).toBeCloseTo(0.816421, 6);
    expect(
      pearson(
        ANSCOMBE_X.map((x) => -x),
        ANSCOMBE_Y1,
        1,
      ).value,
    ).toBeCloseTo(-0.816421, 6);
  });

  it('overlap: every sample twice at overlap 2 is the same evidence as once; at an effective size of 3 or less, no interval', () => {
    const twice = (a: number[]): number[] => a.flatMap((v) => [v, v]);
    const once = pearson(ANSCOMBE_X, ANSCOMBE_Y1, 1);
    const doubled = pearson(twice(ANSCOMBE_X), twice(ANSCOMBE_Y1), 2);
    expectInterval(doubled, once.value, once.lo, once.hi, 12);
    expectInterval(pearson(ANSCOMBE_X, ANSCOMBE_Y1, 11 / 3), 0.816421, null, null, 6);
  });

  it('perfect, undefined and too-small cases', () => {
    expect(pearson([1, 2, 3, 4, 5, 6], [3, 5, 7, 9, 11, 13], 1).value).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4, 5, 6], [13, 11, 9, 7, 5, 3], 1).value).toBeCloseTo(-1, 12);
    expectInterval(pearson([1, 2, 3, 4], [5, 5, 5, 5], 1), null, null, null, 9); // a constant has no correlation
    expectInterval(pearson([1, 2], [3, 4], 1), null, null, null, 9);
  });
});

describe('scores and calibration on a constructed set', () => {
  it('score: direction only on non-zero moves and calls, MAE over every finite pair, r over the same pairs', () => {
    const pred = [1, -2, 0, 3, -1, Number.NaN, 2];
    const y = [2, -1, 1, 0, 1, 5, Number.NaN];
    const s = score(pred, y, 1);
    expect(s.n).toBe(5); // the NaN prediction and the NaN label are skipped
    expect(s.directional).toBe(3); // not the 0 prediction, not the 0 move
    expectInterval(s.directionalAccuracy, 2 / 3, 0.207655, 0.9385097, 6);
    expect(s.maeBps).toBeCloseTo((1 + 1 + 1 + 3 + 2) / 5, 12);
    // mean pred 0.2, mean y 0.6: Σ = 2.4, Σp² = 14.8, Σy² = 5.2
    expectInterval(s.correlation, 2.4 / Math.sqrt(14.8 * 5.2), -0.80236, 0.931108, 6);
  });

  it('calibration: buckets by confidence max(p, 1 − p), a hit when the called side moved, zero and unknown moves left out', () => {
    const rows: [number, number][] = [
      // [P(up), realized move]
      [0.52, 1], // conf 0.52, up, hit
      [0.47, -2], // conf 0.53, down, hit
      [0.51, -1], // conf 0.51, up, miss
      [0.55, 1], // conf 0.55: the lower edge is in its bucket — hit
      [0.58, 1], // hit
      [0.42, 3], // conf 0.58, down, miss
      [0.65, -1], // conf 0.65, up, miss
      [0.9, 1], // hit
      [0.05, -1], // conf 0.95, down, hit
      [1, 1], // conf 1: the top bucket includes 1 — hit
      [0, 1], // conf 1, down, miss
      [0.9, 0], // no move: left out
      [0.6, Number.NaN], // unknown move: left out
    ];
    const buckets = calibration(
      rows.map(([p]) => p),
      rows.map(([, v]) => v),
      1,
    );
    expect(CONFIDENCE_EDGES).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 1.0001]);
    expect(buckets.map((b) => [b.lo, b.hi, b.n])).toEqual([
      [0.5, 0.55, 3],
      [0.55, 0.6, 3],
      [0.6, 0.65, 0],
      [0.65, 0.7, 1],
      [0.7, 1, 4],
    ]);
    const hits = [2, 2, 0, 0, 3];
    const meanConfidence = [(0.52 + 0.53 + 0.51) / 3, (0.55 + 0.58 + 0.58) / 3, null, 0.65, (0.9 + 0.95 + 1 + 1) / 4];
    buckets.forEach((b, k) => {
      if (meanConfidence[k] === null) expect(b.meanConfidence).toBeNull();
      else expect(b.meanConfidence).toBeCloseTo(meanConfidence[k]!, 12);
      expect(b.hitRate).toEqual(wilson(hits[k]!, b.n, 1));
    });
    expectInterval(buckets[4]!.hitRate, 0.75, 0.300636, 0.954414, 6); // 3 of 4
    expectInterval(buckets[2]!.hitRate, null, null, null, 9);
  });
});

describe('Platt scaling', () => {
  it('recovers the closed-form maximum-likelihood fit of a two-point design', () => {
    // at p = +1, 8 of 10 went up; at p = −1, 3 of 10: σ(a + b) = 0.8 and σ(b − a) = 0.3 exactly,
    // so a = (logit 0.8 − logit 0.3)/2 = (ln 4 − ln 3/7)/2, b = (ln 4 + ln 3/7)/2
    const pred: number[] = [];
    const y: number[] = [];
    const add = (p: number, ups: number, downs: number): void => {
      for (let i = 0; i < ups; i++) {
        pred.push(p);
        y.push(1);
      }
      for (let i = 0; i < downs; i++) {
        pred.push(p);
        y.push(-1);
      }
    };
    add(1, 8, 2);
    add(-1, 3, 7);
    // no-move and unknown rows take no part
    pred.push(1, 1, Number.NaN);
    y.push(0, Number.NaN, 1);
    const { a, b } = platt(pred, y);
    expect(a).toBeCloseTo((Math.log(4) - Math.log(3 / 7)) / 2, 4); // 1.116796
    expect(b).toBeCloseTo((Math.log(4) + Math.log(3 / 7)) / 2, 4); // 0.269498
  });
});
