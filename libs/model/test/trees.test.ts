/**
 * Tree ensemble heads: built as ai.onnx.ml TreeEnsembleRegressor, run by onnxruntime exactly as the
 * TypeScript reference computes them (same branch on every input, leaves summed within float32
 * rounding), missing features handled as for the dense models.
 */
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, forward, INPUT_NAME, OnnxModel, RETURN_OUTPUT, scaleTrees, standardize32, UP_OUTPUT, type ModelSpec, type Tree, type TreeEnsemble } from '@hotpath/model';

const live = { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES, warmupRuns: 1 };
const n = FEATURE_NAMES.length;

/** A seeded generator (LCG): the same ensemble on every run. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** A complete tree of `depth` with random features and float32 thresholds in [-1.5, 1.5], nodes in breadth-first order. */
function randomTree(rnd: () => number, depth: number): Tree {
  const t: Tree = { feature: [], threshold: [], left: [], right: [], value: [] };
  const total = 2 ** (depth + 1) - 1;
  for (let k = 0; k < total; k++) {
    const leaf = k >= 2 ** depth - 1;
    t.feature.push(leaf ? -1 : Math.floor(rnd() * n));
    t.threshold.push(leaf ? 0 : Math.fround((rnd() - 0.5) * 3));
    t.left.push(leaf ? -1 : 2 * k + 1);
    t.right.push(leaf ? -1 : 2 * k + 2);
    t.value.push(leaf ? Math.fround((rnd() - 0.5) * 2) : 0);
  }
  return t;
}

function treeSpec(seed: number, trees = 60, depth = 3): ModelSpec {
  const rnd = lcg(seed);
  const ret: TreeEnsemble = { kind: 'trees', base: Math.fround(0.25), trees: Array.from({ length: trees }, () => randomTree(rnd, depth)) };
  const base = exampleModelSpec();
  return {
    ...base,
    metadata: { ...base.metadata, name: 'gbt', version: '1' },
    mean: Array.from({ length: n }, (_, i) => i * 0.37 - 3),
    invScale: Array.from({ length: n }, (_, i) => (i === 4 ? 0 : 1 / (0.5 + i * 0.11))),
    returnHead: ret,
    upHead: scaleTrees(ret, 0.8, -0.1),
  };
}

/** Raw inputs around the means, some placed exactly on a threshold (the hardest case for float32 parity). */
function inputs(spec: ModelSpec, count: number, seed: number): number[][] {
  const rnd = lcg(seed);
  const trees = (spec.returnHead as TreeEnsemble).trees;
  return Array.from({ length: count }, (_, k) => {
    const x = spec.mean.map((m, i) => m + ((rnd() - 0.5) * 4) / (spec.invScale[i] || 1));
    if (k % 3 === 0) {
      // feature f set so that its standardized value lands on (or one float64 ulp off) some threshold
      const t = trees[k % trees.length]!;
      const f = t.feature[0]!;
      x[f] = spec.mean[f]! + t.threshold[0]! / spec.invScale[f]! + (k % 2 === 0 ? 0 : 1e-12);
    }
    return x;
  });
}

describe('tree ensemble heads', () => {
  it('onnxruntime gives the TypeScript reference on 3,000 inputs, thresholds hit exactly included: same branches, leaves summed within float32 rounding', async () => {
    const spec = treeSpec(11);
    const model = await OnnxModel.fromBytes(buildModel(spec), live);
    let worstReturn = 0;
    let worstUp = 0;
    for (const x of inputs(spec, 3_000, 5)) {
      const z = standardize32(spec, x);
      const out = await model.run(x);
      worstReturn = Math.max(worstReturn, Math.abs(out.returnBps - forward(spec.returnHead, z)));
      worstUp = Math.max(worstUp, Math.abs(out.pUp - 1 / (1 + Math.exp(-forward(spec.upHead, z)))));
    }
    await model.release();
    // 60 leaves of |v| < 1: float32 accumulation error is ~1e-6; a different branch would cost up to 2
    expect(worstReturn).toBeLessThan(1e-5);
    expect(worstUp).toBeLessThan(1e-6);
  });

  it('a missing feature (NaN, ±Infinity) is the training mean: through OnnxModel and in the bare graph alike', async () => {
    const spec = treeSpec(12);
    const bytes = buildModel(spec);
    const model = await OnnxModel.fromBytes(bytes, live);
    const session = await ort.InferenceSession.create(bytes);
    try {
      for (const x of inputs(spec, 50, 9)) {
        const holes = x.slice();
        const filled = x.slice();
        for (const i of [1, 7, 20, 33, 50]) {
          holes[i] = i === 20 ? Number.POSITIVE_INFINITY : Number.NaN;
          filled[i] = spec.mean[i]!;
        }
        const viaModel = await model.run(holes);
        expect(viaModel).toEqual(await model.run(filled));
        expect(viaModel.returnBps).toBeCloseTo(forward(spec.returnHead, standardize32(spec, holes)), 5);
        // the bare graph fed NaN (no replacement in front of it): NaN takes the branch the mean would
        const nanOnly = x.slice();
        for (const i of [1, 7, 33, 50]) nanOnly[i] = Number.NaN;
        const bare = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', Float32Array.from(nanOnly), [1, n]) });
        const ref = await model.run(nanOnly.map((v, i) => (Number.isNaN(v) ? spec.mean[i]! : v)));
        expect((bare[RETURN_OUTPUT]!.data as Float32Array)[0]).toBeCloseTo(ref.returnBps, 5);
        expect((bare[UP_OUTPUT]!.data as Float32Array)[0]).toBeCloseTo(ref.pUp, 6);
      }
    } finally {
      await session.release();
      await model.release();
    }
  });

  it('the golden example is the reference output and a load reproduces it; the graph declares ai.onnx.ml', async () => {
    const spec = treeSpec(13, 200, 4);
    const bytes = buildModel(spec);
    const model = await OnnxModel.fromBytes(bytes, live);
    const g = model.metadata.golden;
    expect(g.returnBps).toBe(forward(spec.returnHead, standardize32(spec, g.input)));
    expect((await model.run(g.input)).returnBps).toBeCloseTo(g.returnBps, 4);
    await model.release();
    expect(Buffer.from(bytes).includes(Buffer.from('ai.onnx.ml'))).toBe(true);
  });

  it('a malformed ensemble is refused when built, naming the head', () => {
    const spec = treeSpec(14, 3, 2);
    const edit = (change: (t: Tree) => void): ModelSpec => {
      const trees = (spec.returnHead as TreeEnsemble).trees.map((t) => ({ ...t, feature: t.feature.slice(), left: t.left.slice(), value: t.value.slice(), threshold: t.threshold.slice() }));
      change(trees[1]!);
      return { ...spec, returnHead: { kind: 'trees', base: 0, trees } };
    };
    expect(() => buildModel(edit((t) => (t.feature[0] = n)))).toThrow(/returnHead: tree 1 node 0 reads feature/);
    expect(() => buildModel(edit((t) => (t.left[1] = 0)))).toThrow(/returnHead: tree 1 node 1 points at node 0/);
    expect(() => buildModel(edit((t) => (t.value[6] = Number.NaN)))).toThrow(/returnHead: tree 1 leaf 6 is not finite/);
    expect(() => buildModel(edit((t) => (t.threshold[2] = Number.POSITIVE_INFINITY)))).toThrow(/no finite threshold/);
    expect(() => buildModel({ ...spec, upHead: { kind: 'trees', base: 0, trees: [] } })).toThrow(/upHead has no trees/);
  });
});
