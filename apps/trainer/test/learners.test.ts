/**
 * The gradient-boosted trees: they learn what a linear model cannot, are the same for a seed, stop
 * early on their own validation span, and the exported ONNX graph (ai.onnx.ml TreeEnsembleRegressor)
 * returns what the TypeScript prediction returns — on held-out rows, rows with missing features,
 * and rows sitting exactly on the split thresholds.
 */
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { Rng } from '@hotpath/market';
import { buildModel, exampleModelSpec, forward, OnnxModel, type TreeEnsemble } from '@hotpath/model';
import { binEdges, GBT_DEFAULTS, gbt } from '../src/learners-trees.ts';
import { candidates, fitStandardizer, predictAll, ridge, standardizeRows, upHead } from '../src/learners.ts';

const live = { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES, warmupRuns: 1 };
const n = FEATURE_NAMES.length;

/** Raw rows (feature i on its own scale), some features missing, and a target with a threshold effect and an interaction. */
function data(count: number, seed: number): { X: Float64Array[]; y: number[] } {
  const g = new Rng(seed);
  const X = Array.from({ length: count }, () => Float64Array.from({ length: n }, (_, i) => (g.next() < 0.02 ? Number.NaN : g.normal() * (i + 1) + i)));
  const y = X.map((x) => {
    const a = Number.isFinite(x[3]!) ? x[3]! : 3;
    const b = Number.isFinite(x[10]!) ? x[10]! : 10;
    return (a > 3 ? 2 : -1) * (b > 10 ? 1 : -0.5) + g.normal() * 0.3;
  });
  return { X, y };
}

const mse = (p: number[], y: number[]): number => p.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / p.length;

describe('gradient-boosted trees', () => {
  it('bin edges are float32 values that split neighbours the same way for any value between them', () => {
    const values = Float64Array.from([1, 1, 1, 2, 2, 3, 3, 3, 3, 4].map(Math.fround));
    const edges = binEdges(values, 4);
    expect(edges.every((e) => Math.fround(e) === e)).toBe(true);
    expect(edges).toEqual([1.5, 2.5, 3.5]);
    // two float32 neighbours (the lower with an odd mantissa): their midpoint rounds to the upper, which must still go right
    const lo = 1 + 2 ** -23;
    const hi = lo + 2 ** -23;
    expect(Math.fround((lo + hi) / 2)).toBe(hi);
    expect(binEdges(Float64Array.from([lo, lo, hi, hi]), 2)).toEqual([lo]);
  });

  it('learns a threshold and an interaction a linear model cannot, deterministically for a seed, and stops early', () => {
    const train = data(2_000, 1);
    const test = data(800, 2);
    const s = fitStandardizer(train.X);
    const Z = standardizeRows(s, train.X);
    const Zt = standardizeRows(s, test.X);
    const trees = gbt(Z, train.y, { ...GBT_DEFAULTS, depth: 2, seed: 4 });
    const linear = ridge(Z, train.y, 0.01);
    const treeMse = mse(predictAll(trees, Zt), test.y);
    const linearMse = mse(predictAll(linear, Zt), test.y);
    // noise variance is 0.09: the trees get close to it, the linear fit cannot express the step × step
    expect(treeMse).toBeLessThan(0.2);
    expect(treeMse).toBeLessThan(linearMse / 2);
    expect(trees.trees.length).toBeLessThan(GBT_DEFAULTS.rounds);
    expect(JSON.stringify(gbt(Z, train.y, { ...GBT_DEFAULTS, depth: 2, seed: 4 }))).toBe(JSON.stringify(trees));
    expect(JSON.stringify(gbt(Z, train.y, { ...GBT_DEFAULTS, depth: 2, seed: 5 }))).not.toBe(JSON.stringify(trees));
    // what it splits on: the two features that matter come first
    const roots = trees.trees.slice(0, 20).map((t) => t.feature[0]);
    expect(roots.every((f) => f === 3 || f === 10)).toBe(true);
  });

  it('the exported ONNX (TreeEnsembleRegressor + Platt head) matches the TypeScript prediction on 3,000 rows: held out, missing features, on the thresholds', async () => {
    const train = data(1_500, 3);
    const s = fitStandardizer(train.X);
    const trees = gbt(standardizeRows(s, train.X), train.y, { ...GBT_DEFAULTS, depth: 3, seed: 7 });
    const up = upHead(trees, { a: 0.7, b: -0.05 });
    const model = await OnnxModel.fromBytes(buildModel({ ...exampleModelSpec(), mean: s.mean, invScale: s.invScale, returnHead: trees, upHead: up }), live);
    // rows: 2,000 held out (2 % missing), then 1,000 on a root split: the largest float32 raw value whose standardized value
    // goes left (often exactly the threshold), the next float32 up (goes right), or missing
    const rows = data(2_000, 4).X;
    const bits = new Float32Array(1);
    const ints = new Int32Array(bits.buffer);
    const step = (v: number, up: boolean): number => {
      bits[0] = v;
      ints[0]! += v >= 0 === up ? 1 : -1;
      return bits[0]!;
    };
    let onThreshold = 0;
    for (let k = 0; k < 1_000; k++) {
      const x = Float64Array.from(rows[k]!);
      const t = trees.trees[k % trees.trees.length]!;
      const f = t.feature[0]!;
      const z = (v: number): number => standardizeRows(s, [Float64Array.from(x.map((w, i) => (i === f ? v : w)))])[0]![f]!;
      let v = Math.fround(s.mean[f]! + t.threshold[0]! / s.invScale[f]!);
      while (z(v) > t.threshold[0]!) v = step(v, false);
      while (z(step(v, true)) <= t.threshold[0]!) v = step(v, true);
      if (z(v) === t.threshold[0]) onThreshold++;
      x[f] = k % 3 === 0 ? Number.NaN : k % 3 === 1 ? v : step(v, true);
      rows.push(x);
    }
    expect(onThreshold).toBeGreaterThan(200);
    const Zr = standardizeRows(s, rows);
    const ref = predictAll(trees, Zr);
    let worstReturn = 0;
    let worstUp = 0;
    for (let k = 0; k < rows.length; k++) {
      const out = await model.run(rows[k]!);
      worstReturn = Math.max(worstReturn, Math.abs(out.returnBps - ref[k]!));
      worstUp = Math.max(worstUp, Math.abs(out.pUp - 1 / (1 + Math.exp(-forward(up, Zr[k]!)))));
    }
    await model.release();
    expect(worstReturn).toBeLessThan(1e-5);
    expect(worstUp).toBeLessThan(1e-6);
  });

  it('too few rows to split: single-leaf trees, still a model onnxruntime runs as predicted', async () => {
    const few = data(150, 6);
    const s = fitStandardizer(few.X);
    const trees = gbt(standardizeRows(s, few.X), few.y, { ...GBT_DEFAULTS, depth: 3, seed: 1 });
    expect(trees.trees.every((t) => t.feature.length === 1 && t.feature[0] === -1)).toBe(true);
    const model = await OnnxModel.fromBytes(buildModel({ ...exampleModelSpec(), mean: s.mean, invScale: s.invScale, returnHead: trees, upHead: upHead(trees, { a: 1, b: 0 }) }), live);
    const out = await model.run(few.X[0]!);
    await model.release();
    expect(out.returnBps).toBeCloseTo(forward(trees, standardizeRows(s, [few.X[0]!])[0]!), 5);
  });

  it('is one of the walk-forward candidates, beside ridge and the MLP', () => {
    const kinds = candidates(1).map((c) => c.kind);
    expect(new Set(kinds)).toEqual(new Set(['ridge', 'mlp', 'gbt']));
    const tree = candidates(1).find((c) => c.kind === 'gbt')!;
    const d = data(600, 5);
    const s = fitStandardizer(d.X);
    expect((tree.fit(standardizeRows(s, d.X), d.y) as TreeEnsemble).kind).toBe('trees');
  });
});
