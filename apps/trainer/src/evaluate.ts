/**
 * The figures a report shows, each with a 95 % interval. Samples every 2 s
 * with 10 s labels overlap five-fold, so intervals use an effective sample
 * size n / overlap rather than pretending the samples are independent.
 */
export interface Interval {
  value: number | null;
  lo: number | null;
  hi: number | null;
}

export interface Scores {
  /** Samples with an observable label. */
  n: number;
  /** Of those, non-zero moves on which the predictor named a direction. */
  directional: number;
  directionalAccuracy: Interval;
  /** Mean absolute error of the predicted return, bps. */
  maeBps: number | null;
  correlation: Interval;
}

export interface CalibrationBucket {
  lo: number;
  hi: number;
  n: number;
  meanConfidence: number | null;
  hitRate: Interval;
}

const Z = 1.96;

/** Wilson score interval for a proportion, at effective size n / overlap. */
export function wilson(hits: number, n: number, overlap: number): Interval {
  if (n === 0) return { value: null, lo: null, hi: null };
  const p = hits / n;
  const m = Math.max(1, n / overlap);
  const denom = 1 + (Z * Z) / m;
  const centre = (p + (Z * Z) / (2 * m)) / denom;
  const half = (Z * Math.sqrt((p * (1 - p)) / m + (Z * Z) / (4 * m * m))) / denom;
  return { value: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

export function pearson(a: number[], b: number[], overlap: number): Interval {
  const n = a.length;
  if (n < 3) return { value: null, lo: null, hi: null };
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  if (saa === 0 || sbb === 0) return { value: null, lo: null, hi: null };
  const r = sab / Math.sqrt(saa * sbb);
  const m = n / overlap;
  if (m <= 3) return { value: r, lo: null, hi: null };
  const z = Math.atanh(Math.max(-0.999999, Math.min(0.999999, r)));
  const se = 1 / Math.sqrt(m - 3);
  return { value: r, lo: Math.tanh(z - Z * se), hi: Math.tanh(z + Z * se) };
}

/** `pred` = predicted return (bps; only its sign matters for direction), `y` = realized; NaN labels are skipped. */
export function score(pred: number[], y: number[], overlap: number): Scores {
  const p: number[] = [];
  const t: number[] = [];
  let hits = 0,
    directional = 0,
    abs = 0;
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i]!) || !Number.isFinite(pred[i]!)) continue;
    p.push(pred[i]!);
    t.push(y[i]!);
    abs += Math.abs(pred[i]! - y[i]!);
    if (y[i] === 0 || pred[i] === 0) continue;
    directional++;
    if (Math.sign(pred[i]!) === Math.sign(y[i]!)) hits++;
  }
  return { n: p.length, directional, directionalAccuracy: wilson(hits, directional, overlap), maeBps: p.length ? abs / p.length : null, correlation: pearson(p, t, overlap) };
}

export const CONFIDENCE_EDGES = [0.5, 0.55, 0.6, 0.65, 0.7, 1.0001];

/** Hit rate by confidence bucket (confidence = max(p, 1 − p)), on non-zero moves. */
export function calibration(pUp: number[], y: number[], overlap: number): CalibrationBucket[] {
  return CONFIDENCE_EDGES.slice(0, -1).map((lo, k) => {
    const hi = CONFIDENCE_EDGES[k + 1]!;
    let n = 0,
      hits = 0,
      conf = 0;
    for (let i = 0; i < y.length; i++) {
      if (!Number.isFinite(y[i]!) || y[i] === 0) continue;
      const c = Math.max(pUp[i]!, 1 - pUp[i]!);
      if (c < lo || c >= hi) continue;
      n++;
      conf += c;
      if (pUp[i]! > 0.5 === y[i]! > 0) hits++;
    }
    return { lo, hi: Math.min(1, hi), n, meanConfidence: n ? conf / n : null, hitRate: wilson(hits, n, overlap) };
  });
}
