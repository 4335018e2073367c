/**
 * A tree ensemble head: the sum of regression trees over the standardized
 * features, exported as one ONNX-ML `TreeEnsembleRegressor` (ai.onnx.ml
 * opset 3, which onnxruntime-node runs natively).
 *
 * Float32 exactness: the graph compares the float32 standardized value with a
 * float32 threshold. `standardize32` computes that value in JavaScript exactly
 * as the graph's Sub and Mul do (each step rounded to float32), and the
 * learner keeps thresholds and leaf values float32-representable, so the
 * TypeScript prediction takes the same branch as onnxruntime on every input;
 * only the summation order of the leaves differs (float64 here).
 *
 * Missing values: inference replaces a non-finite feature with its training
 * mean (standardized: 0) before the graph, as for the dense models. The graph
 * itself also routes NaN the way 0 would go (`nodes_missing_value_tracks_true`),
 * so a caller that skips the replacement gets the same answer.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** One regression tree in flat arrays; node 0 is the root. */
export interface Tree {
  /** Per node: the feature compared, or -1 for a leaf. */
  feature: number[];
  /** Per branch node: go to `left` when z[feature] <= threshold (float32-representable), else `right`. */
  threshold: number[];
  left: number[];
  right: number[];
  /** Per leaf: what it adds (float32-representable); 0 for branch nodes. */
  value: number[];
}

export interface TreeEnsemble {
  kind: 'trees';
  /** Added to the sum of the trees' leaves. */
  base: number;
  trees: Tree[];
}

export function isTreeEnsemble(head: unknown): head is TreeEnsemble {
  return typeof head === 'object' && head !== null && (head as { kind?: unknown }).kind === 'trees';
}

/** The standardized vector as the graph computes it: float32 input minus float32 mean, times float32 1/std, each rounded to float32; non-finite → 0 (the training mean). */
export function standardize32(spec: { mean: readonly number[]; invScale: readonly number[] }, raw: ArrayLike<number>): number[] {
  const f = Math.fround;
  return spec.mean.map((m, i) => (Number.isFinite(raw[i]!) ? f(f(f(raw[i]!) - f(m)) * f(spec.invScale[i]!)) : 0));
}

function leafOf(t: Tree, z: ArrayLike<number>): number {
  let k = 0;
  // a NaN compares false and would go right; it goes where 0 would, as in the graph
  while (t.feature[k]! >= 0) {
    const v = z[t.feature[k]!]!;
    k = (Number.isNaN(v) ? 0 : v) <= t.threshold[k]! ? t.left[k]! : t.right[k]!;
  }
  return t.value[k]!;
}

/** The ensemble's output for a standardized vector (float32-exact z from `standardize32` for bit-faithful branching). */
export function forwardTrees(e: TreeEnsemble, z: ArrayLike<number>): number {
  let s = e.base;
  for (const t of e.trees) s += leafOf(t, z);
  return s;
}

/** Scaled and shifted: a·f(z) + b, as the P(up) logit head of a Platt-calibrated ensemble. */
export function scaleTrees(e: TreeEnsemble, a: number, b: number): TreeEnsemble {
  return { kind: 'trees', base: e.base * a + b, trees: e.trees.map((t) => ({ ...t, value: t.value.map((v) => v * a) })) };
}

export function checkTrees(name: string, e: TreeEnsemble, features: number): void {
  if (!Number.isFinite(e.base)) throw new RangeError(`${name}: base is not finite`);
  if (e.trees.length === 0) throw new RangeError(`${name} has no trees`);
  e.trees.forEach((t, ti) => {
    const n = t.feature.length;
    if (n === 0 || [t.threshold, t.left, t.right, t.value].some((a) => a.length !== n)) throw new RangeError(`${name}: tree ${ti} has ragged node arrays`);
    for (let k = 0; k < n; k++) {
      const f = t.feature[k]!;
      if (f < 0) {
        if (!Number.isFinite(t.value[k]!)) throw new RangeError(`${name}: tree ${ti} leaf ${k} is not finite`);
        continue;
      }
      // children come after their parent: no cycles, every node reachable once
      if (f >= features || !Number.isInteger(f)) throw new RangeError(`${name}: tree ${ti} node ${k} reads feature ${f} of ${features}`);
      if (!Number.isFinite(t.threshold[k]!)) throw new RangeError(`${name}: tree ${ti} node ${k} has no finite threshold`);
      for (const c of [t.left[k]!, t.right[k]!]) if (!Number.isInteger(c) || c <= k || c >= n) throw new RangeError(`${name}: tree ${ti} node ${k} points at node ${c}`);
    }
  });
}

type Attribute = onnxProto.onnx.IAttributeProto;
const A = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]): Attribute => ({ name, type: A.INTS, ints: v });
const floats = (name: string, v: number[]): Attribute => ({ name, type: A.FLOATS, floats: v });
const strings = (name: string, v: string[]): Attribute => ({ name, type: A.STRINGS, strings: v.map((s) => new TextEncoder().encode(s)) });
const text = (name: string, v: string): Attribute => ({ name, type: A.STRING, s: new TextEncoder().encode(v) });

export const ML_DOMAIN = 'ai.onnx.ml';
/** TreeEnsembleRegressor as of ai.onnx.ml 3 (deprecated from 5 in favour of TreeEnsemble, which onnxruntime 1.30 does not run yet). */
export const ML_OPSET = 3;

/** One TreeEnsembleRegressor node: `input` [batch, features] float → `output` [batch, 1]. */
export function treeEnsembleNode(e: TreeEnsemble, input: string, output: string): onnxProto.onnx.INodeProto {
  const nodes = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueids: [] as number[],
    falseids: [] as number[],
    missing: [] as number[],
  };
  const targets = { treeids: [] as number[], nodeids: [] as number[], ids: [] as number[], weights: [] as number[] };
  e.trees.forEach((t, ti) => {
    for (let k = 0; k < t.feature.length; k++) {
      const leaf = t.feature[k]! < 0;
      nodes.treeids.push(ti);
      nodes.nodeids.push(k);
      nodes.featureids.push(leaf ? 0 : t.feature[k]!);
      nodes.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      nodes.values.push(leaf ? 0 : t.threshold[k]!);
      nodes.trueids.push(leaf ? 0 : t.left[k]!);
      nodes.falseids.push(leaf ? 0 : t.right[k]!);
      // NaN follows the branch 0 (the training mean) would take
      nodes.missing.push(!leaf && 0 <= t.threshold[k]! ? 1 : 0);
      if (leaf) {
        targets.treeids.push(ti);
        targets.nodeids.push(k);
        targets.ids.push(0);
        targets.weights.push(t.value[k]!);
      }
    }
  });
  return {
    opType: 'TreeEnsembleRegressor',
    domain: ML_DOMAIN,
    input: [input],
    output: [output],
    attribute: [
      text('aggregate_function', 'SUM'),
      floats('base_values', [e.base]),
      { name: 'n_targets', type: A.INT, i: 1 },
      ints('nodes_treeids', nodes.treeids),
      ints('nodes_nodeids', nodes.nodeids),
      ints('nodes_featureids', nodes.featureids),
      strings('nodes_modes', nodes.modes),
      floats('nodes_values', nodes.values),
      ints('nodes_truenodeids', nodes.trueids),
      ints('nodes_falsenodeids', nodes.falseids),
      ints('nodes_missing_value_tracks_true', nodes.missing),
      text('post_transform', 'NONE'),
      ints('target_treeids', targets.treeids),
      ints('target_nodeids', targets.nodeids),
      ints('target_ids', targets.ids),
      floats('target_weights', targets.weights),
    ],
  };
}
