/**
 * Gradient-boosted regression trees on the standardized features (squared
 * error, shrinkage, seeded row subsampling, early stopping on the last part of
 * the training span as the MLP does). Written here for the same reason as the
 * MLP: it must be deterministic, small, and export to exactly the function it
 * fitted — libs/model turns the result into an ai.onnx.ml TreeEnsembleRegressor.
 *
 * Splits are searched on histograms: each feature's training values are cut
 * into at most `bins` quantile bins once, and a split "bin ≤ k" is the
 * comparison z ≤ t with t a float32 value strictly between the largest value
 * of bin k and the smallest of bin k+1 (or equal to the former). Since the
 * standardized values are float32-exact (learners.ts standardizeRows computes
 * them as the graph does), a split sends every value, seen in training or not,
 * to the same side here and in onnxruntime.
 */
import { Rng } from '@hotpath/market';
import type { Tree, TreeEnsemble } from '@hotpath/model';
import { forwardTrees } from '@hotpath/model';

export interface GbtOptions {
  /** Depth of each tree (root = depth 0; depth 3 = at most 8 leaves). */
  depth: number;
  /** Shrinkage: each tree's leaves are scaled by it. */
  learningRate: number;
  /** Upper bound on trees; early stopping usually ends sooner. */
  rounds: number;
  /** A split needs at least this many rows on each side. */
  minLeaf: number;
  /** L2 penalty on leaf values (in rows): a leaf is Σ residual / (n + lambda). */
  lambda: number;
  /** Share of the fitting rows each tree sees (drawn with the seed). */
  subsample: number;
  bins: number;
  seed: number;
  /** Rounds without a better validation loss before stopping. */
  patience: number;
  /** The last part of the training span scores the rounds (never fitted). */
  validationShare: number;
}

/**
 * For short-horizon returns, mostly noise: small steps, shallow trees, leaves of at least 100 rows
 * (≈ 4 % of a 2-hour development span) so a leaf's mean is not one burst of trades.
 */
export const GBT_DEFAULTS: Omit<GbtOptions, 'depth' | 'seed'> = { learningRate: 0.05, rounds: 400, minLeaf: 100, lambda: 1, subsample: 0.8, bins: 32, patience: 40, validationShare: 0.15 };

/** Per feature: ascending float32 thresholds; bin(v) = how many thresholds v exceeds. */
export function binEdges(values: Float64Array, bins: number): number[] {
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  const per = sorted.length / bins;
  let next = per;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1] || i < next) continue;
    const lo = sorted[i - 1]!;
    const hi = sorted[i]!;
    let t = Math.fround((lo + hi) / 2);
    // lo and hi are float32 values; if they are neighbours the rounded midpoint may be hi itself, which must go right
    if (!(t >= lo && t < hi)) t = lo;
    edges.push(t);
    while (next <= i) next += per;
  }
  return edges;
}

function binOf(edges: number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
}

/** One tree grown depth-first on the rows given, on the residuals r; leaves pre-scaled by the learning rate, float32-exact. */
function growTree(binned: Uint8Array[], edges: number[][], r: Float64Array, rows: Int32Array, o: GbtOptions): Tree {
  const t: Tree = { feature: [], threshold: [], left: [], right: [], value: [] };
  const F = binned.length;
  const sums = new Float64Array(o.bins + 1);
  const counts = new Int32Array(o.bins + 1);
  const leaf = (k: number, idx: Int32Array): void => {
    let s = 0;
    for (const i of idx) s += r[i]!;
    t.feature[k] = -1;
    t.threshold[k] = 0;
    t.left[k] = -1;
    t.right[k] = -1;
    t.value[k] = Math.fround((o.learningRate * s) / (idx.length + o.lambda));
  };
  const grow = (idx: Int32Array, depth: number): number => {
    const k = t.feature.length;
    t.feature.push(-1);
    t.threshold.push(0);
    t.left.push(-1);
    t.right.push(-1);
    t.value.push(0);
    if (depth >= o.depth || idx.length < 2 * o.minLeaf) {
      leaf(k, idx);
      return k;
    }
    let total = 0;
    for (const i of idx) total += r[i]!;
    const parentScore = (total * total) / (idx.length + o.lambda);
    let best: Split = { gain: 1e-12, feature: -1, bin: -1 };
    for (let f = 0; f < F; f++) {
      const nb = edges[f]!.length + 1;
      if (nb < 2) continue;
      sums.fill(0, 0, nb);
      counts.fill(0, 0, nb);
      const col = binned[f]!;
      for (const i of idx) {
        sums[col[i]!]! += r[i]!;
        counts[col[i]!]!++;
      }
      let sl = 0;
      let nl = 0;
      for (let b = 0; b < nb - 1; b++) {
        sl += sums[b]!;
        nl += counts[b]!;
        const nr = idx.length - nl;
        if (nl < o.minLeaf) continue;
        if (nr < o.minLeaf) break;
        const sr = total - sl;
        const gain = (sl * sl) / (nl + o.lambda) + (sr * sr) / (nr + o.lambda) - parentScore;
        // strictly better only: ties keep the first (lowest feature, lowest bin), so the tree does not depend on float noise in the order
        if (gain > best.gain) best = { gain, feature: f, bin: b };
      }
    }
    if (best.feature < 0) {
      leaf(k, idx);
      return k;
    }
    const col = binned[best.feature]!;
    const left = idx.filter((i) => col[i]! <= best.bin);
    const right = idx.filter((i) => col[i]! > best.bin);
    t.feature[k] = best.feature;
    t.threshold[k] = edges[best.feature]![best.bin]!;
    t.left[k] = grow(left, depth + 1);
    t.right[k] = grow(right, depth + 1);
    return k;
  };
  grow(rows, 0);
  return t;
}

/**
 * Fits the ensemble on the first (1 − validationShare) of the rows (in time order) and keeps the
 * number of trees that scored best on the rest. Z must be float32-exact (standardizeRows).
 */
export function gbt(Z: number[][], y: number[], o: GbtOptions): TreeEnsemble {
  const n = Z.length;
  const F = Z[0]!.length;
  const split = Math.max(1, Math.floor(n * (1 - o.validationShare)));
  const random = new Rng(o.seed);
  let mean = 0;
  for (let i = 0; i < split; i++) mean += y[i]!;
  const base = Math.fround(mean / split);
  const edges: number[][] = [];
  const binned: Uint8Array[] = [];
  for (let f = 0; f < F; f++) {
    const e = binEdges(
      Float64Array.from({ length: split }, (_, i) => Z[i]![f]!),
      Math.min(o.bins, 255),
    );
    edges.push(e);
    binned.push(Uint8Array.from(Z, (z) => binOf(e, z[f]!)));
  }
  const pred = new Float64Array(n).fill(base);
  const r = new Float64Array(n);
  const trees: Tree[] = [];
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestRounds = 0;
  const all = Int32Array.from({ length: split }, (_, i) => i);
  const take = Math.max(2 * o.minLeaf, Math.round(split * o.subsample));
  for (let round = 0; round < o.rounds && round - bestRounds < o.patience; round++) {
    for (let i = 0; i < n; i++) r[i] = y[i]! - pred[i]!;
    // a seeded partial shuffle picks the rows this tree sees; sorted again so the tree does not depend on the draw order
    for (let k = 0; k < Math.min(take, split - 1); k++) {
      const j = k + Math.floor(random.next() * (split - k));
      [all[k], all[j]] = [all[j]!, all[k]!];
    }
    const rows = all.slice(0, Math.min(take, split)).sort();
    const tree = growTree(binned, edges, r, rows, o);
    trees.push(tree);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      pred[i]! += forwardTrees({ kind: 'trees', base: 0, trees: [tree] }, Z[i]!);
      if (i >= split) loss += (y[i]! - pred[i]!) ** 2;
    }
    if (n === split || loss < bestLoss - 1e-9) {
      bestLoss = loss;
      bestRounds = round + 1;
    }
  }
  return { kind: 'trees', base, trees: trees.slice(0, Math.max(1, bestRounds)) };
}
