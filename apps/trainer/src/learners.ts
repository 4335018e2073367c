/**
 * The learners. Inputs are standardized features (non-finite → 0, i.e. the
 * training mean); targets are returns in bps. Each learner yields a head in
 * the model contract's format (dense layers or a tree ensemble), so the
 * exported graph is exactly the function that was fitted and evaluated here.
 *  - ridge: closed-form L2-regularized least squares (ml-matrix Cholesky);
 *  - mlp: one ReLU hidden layer, Adam on MSE with weight decay, seeded, early
 *    stopping on the last part of its training span (no JS library for this
 *    small job is both maintained and deterministic, so it is written here);
 *  - gbt: gradient-boosted regression trees (learners-trees.ts);
 *  - platt: P(up) = σ(a·ŷ + b), fitted by Newton's method on out-of-sample
 *    predictions, so the probability is calibrated on data the model did not see.
 */
import { Rng } from '@hotpath/market';
import type { DenseLayer, Head } from '@hotpath/model';
import { forward, isTreeEnsemble, scaleTrees } from '@hotpath/model';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { GBT_DEFAULTS, gbt } from './learners-trees.ts';

export type LearnerKind = 'ridge' | 'mlp' | 'gbt';

export interface Candidate {
  name: string;
  kind: LearnerKind;
  fit(Z: number[][], y: number[]): Head;
}

/** Every candidate the walk-forward selection scores, in report order. */
export function candidates(seed: number): Candidate[] {
  const ridges = [0.01, 0.1, 1, 10, 100].map((lambda): Candidate => ({ name: `ridge λ=${lambda}`, kind: 'ridge', fit: (Z, y) => ridge(Z, y, lambda) }));
  const mlps = [8, 16].map(
    (hidden): Candidate => ({ name: `mlp ${hidden} relu`, kind: 'mlp', fit: (Z, y) => mlp(Z, y, { hidden, weightDecay: 1e-3, epochs: 80, learningRate: 3e-3, seed, batch: 64 }) }),
  );
  const trees = [1, 2, 3].map((depth): Candidate => ({ name: `gbt depth ${depth}`, kind: 'gbt', fit: (Z, y) => gbt(Z, y, { ...GBT_DEFAULTS, depth, seed }) }));
  return [...ridges, ...mlps, ...trees];
}

export interface Standardizer {
  mean: number[];
  invScale: number[];
}

export function fitStandardizer(X: Float64Array[]): Standardizer {
  const n = X[0]!.length;
  const mean = new Array<number>(n).fill(0);
  const sq = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  for (const x of X)
    for (let i = 0; i < n; i++)
      if (Number.isFinite(x[i]!)) {
        mean[i]! += x[i]!;
        count[i]!++;
      }
  for (let i = 0; i < n; i++) mean[i] = count[i]! > 0 ? mean[i]! / count[i]! : 0;
  for (const x of X) for (let i = 0; i < n; i++) if (Number.isFinite(x[i]!)) sq[i]! += (x[i]! - mean[i]!) ** 2;
  // a constant (or always-missing) feature gets scale 0: it cannot move the prediction
  const invScale = sq.map((s, i) => (count[i]! > 1 && s > 1e-12 ? 1 / Math.sqrt(s / (count[i]! - 1)) : 0));
  return { mean, invScale };
}

/**
 * Standardized rows exactly as the exported graph computes them: float32 input minus float32 mean,
 * times float32 1/std, each step rounded to float32 (non-finite → 0, the mean). A tree compares these
 * values with its thresholds, so they must be the graph's to the bit; the dense learners do not mind.
 */
export function standardizeRows(s: Standardizer, X: Float64Array[]): number[][] {
  const f = Math.fround;
  const mean = s.mean.map(f);
  const inv = s.invScale.map(f);
  return X.map((x) => mean.map((m, i) => (Number.isFinite(x[i]!) ? f(f(f(x[i]!) - m) * inv[i]!) : 0)));
}

export function ridge(Z: number[][], y: number[], lambda: number): DenseLayer[] {
  const n = Z[0]!.length;
  const yMean = y.reduce((a, v) => a + v, 0) / y.length;
  const A = new Matrix(Z);
  const AtA = A.transpose().mmul(A);
  for (let i = 0; i < n; i++) AtA.set(i, i, AtA.get(i, i) + lambda * Z.length);
  const Aty = A.transpose().mmul(Matrix.columnVector(y.map((v) => v - yMean)));
  const beta = new CholeskyDecomposition(AtA).solve(Aty).getColumn(0);
  return [{ weights: beta.map((b) => [b]), bias: [yMean], activation: 'linear' }];
}

export interface MlpOptions {
  hidden: number;
  weightDecay: number;
  epochs: number;
  learningRate: number;
  seed: number;
  batch: number;
}

export function mlp(Z: number[][], y: number[], o: MlpOptions): DenseLayer[] {
  const n = Z[0]!.length;
  const h = o.hidden;
  // the simulator's seeded generator: the same weights on every platform for a seed
  const random = new Rng(o.seed);
  const rand = (): number => random.next();
  const gauss = (): number => random.normal();
  // targets scaled to unit variance for the optimiser; undone in the exported last layer
  const yMean = y.reduce((a, v) => a + v, 0) / y.length;
  const yStd = Math.sqrt(y.reduce((a, v) => a + (v - yMean) ** 2, 0) / y.length) || 1;
  const t = y.map((v) => (v - yMean) / yStd);
  const split = Math.floor(Z.length * 0.85);
  const W1 = Array.from({ length: n * h }, () => gauss() * Math.sqrt(2 / n));
  const b1 = new Array<number>(h).fill(0);
  const W2 = Array.from({ length: h }, () => gauss() * Math.sqrt(1 / h));
  let b2 = 0;
  const params = [W1, b1, W2];
  const m = params.map((p) => new Array<number>(p.length).fill(0));
  const v = params.map((p) => new Array<number>(p.length).fill(0));
  let mb2 = 0,
    vb2 = 0,
    step = 0;
  const hid = new Array<number>(h).fill(0);
  const predict = (x: number[]): number => {
    let out = b2;
    for (let j = 0; j < h; j++) {
      let s = b1[j]!;
      for (let i = 0; i < n; i++) s += x[i]! * W1[i * h + j]!;
      hid[j] = Math.max(s, 0);
      out += hid[j]! * W2[j]!;
    }
    return out;
  };
  const validLoss = (): number => {
    let s = 0;
    for (let k = split; k < Z.length; k++) s += (predict(Z[k]!) - t[k]!) ** 2;
    return s / Math.max(1, Z.length - split);
  };
  let best = { loss: Number.POSITIVE_INFINITY, W1: W1.slice(), b1: b1.slice(), W2: W2.slice(), b2 };
  const order = Array.from({ length: split }, (_, k) => k);
  const g = params.map((p) => new Array<number>(p.length).fill(0));
  let patience = 0;
  for (let epoch = 0; epoch < o.epochs && patience < 15; epoch++) {
    for (let k = order.length - 1; k > 0; k--) {
      const r = Math.floor(rand() * (k + 1));
      [order[k], order[r]] = [order[r]!, order[k]!];
    }
    for (let start = 0; start < order.length; start += o.batch) {
      for (const gi of g) gi.fill(0);
      let gb2 = 0;
      const end = Math.min(order.length, start + o.batch);
      for (let q = start; q < end; q++) {
        const x = Z[order[q]!]!;
        const err = (predict(x) - t[order[q]!]!) * (2 / (end - start));
        gb2 += err;
        for (let j = 0; j < h; j++) {
          g[2]![j]! += err * hid[j]!;
          if (hid[j]! <= 0) continue;
          const d = err * W2[j]!;
          g[1]![j]! += d;
          for (let i = 0; i < n; i++) g[0]![i * h + j]! += d * x[i]!;
        }
      }
      step++;
      const lr = (o.learningRate * Math.sqrt(1 - 0.999 ** step)) / (1 - 0.9 ** step);
      params.forEach((p, pi) => {
        for (let k = 0; k < p.length; k++) {
          const grad = g[pi]![k]! + (pi === 1 ? 0 : o.weightDecay * p[k]!);
          m[pi]![k] = 0.9 * m[pi]![k]! + 0.1 * grad;
          v[pi]![k] = 0.999 * v[pi]![k]! + 0.001 * grad * grad;
          p[k]! -= (lr * m[pi]![k]!) / (Math.sqrt(v[pi]![k]!) + 1e-8);
        }
      });
      mb2 = 0.9 * mb2 + 0.1 * gb2;
      vb2 = 0.999 * vb2 + 0.001 * gb2 * gb2;
      b2 -= (lr * mb2) / (Math.sqrt(vb2) + 1e-8);
    }
    const loss = validLoss();
    if (loss < best.loss - 1e-6) {
      best = { loss, W1: W1.slice(), b1: b1.slice(), W2: W2.slice(), b2 };
      patience = 0;
    } else patience++;
  }
  return [
    { weights: Array.from({ length: n }, (_, i) => best.W1.slice(i * h, i * h + h)), bias: best.b1, activation: 'relu' },
    { weights: best.W2.map((w) => [w * yStd]), bias: [best.b2 * yStd + yMean], activation: 'linear' },
  ];
}

export function predictAll(head: Head, Z: number[][]): number[] {
  return Z.map((z) => forward(head, z));
}

/** Platt scaling: σ(a·p + b) for P(y > 0), on (prediction, outcome) pairs with non-zero outcomes. */
export function platt(pred: number[], y: number[]): { a: number; b: number } {
  const pairs = pred.map((p, i) => [p, y[i]!] as const).filter(([p, v]) => Number.isFinite(p) && Number.isFinite(v) && v !== 0);
  let a = 0,
    b = 0;
  for (let iter = 0; iter < 50; iter++) {
    let ga = 0,
      gb = 0,
      haa = 1e-9,
      hab = 0,
      hbb = 1e-9;
    for (const [p, v] of pairs) {
      const s = 1 / (1 + Math.exp(-(a * p + b)));
      const e = s - (v > 0 ? 1 : 0);
      const w = s * (1 - s);
      ga += e * p;
      gb += e;
      haa += w * p * p;
      hab += w * p;
      hbb += w;
    }
    // small ridge on a keeps the step defined when predictions are nearly constant
    haa += 1e-6 * pairs.length;
    ga += 1e-6 * pairs.length * a;
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { a, b };
}

/** The P(up) head: the return head with its last layer (or its leaves) scaled by a and shifted by b (then a sigmoid in the graph). */
export function upHead(returnHead: Head, p: { a: number; b: number }): Head {
  if (isTreeEnsemble(returnHead)) return scaleTrees(returnHead, p.a, p.b);
  const last = returnHead[returnHead.length - 1]!;
  return [...returnHead.slice(0, -1), { weights: last.weights.map((row) => row.map((w) => w * p.a)), bias: last.bias.map((c) => c * p.a + p.b), activation: 'linear' }];
}
