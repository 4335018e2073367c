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
  /**
   * The mean of the hit rates on up moves and on down moves (same samples as
   * directional accuracy): a market that drifted one way cannot flatter a
   * predictor that learned that way — always naming one direction scores 50 %.
   */
  balancedAccuracy: Interval;
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

/**
 * Balanced accuracy (hit rate on up moves + hit rate on down moves) / 2 with
 * a 95 % interval: normal approximation, each class's variance at its
 * effective size n_k / overlap, with one hit and one miss added per class
 * for the variance only (Agresti–Caffo), so a class scored 0 or 100 % on few
 * moves still gets a width. Null without moves of both directions.
 */
export function balancedAccuracy(upHits: number, up: number, downHits: number, down: number, overlap: number): Interval {
  if (up === 0 || down === 0) return { value: null, lo: null, hi: null };
  const value = (upHits / up + downHits / down) / 2;
  const variance = (hits: number, n: number): number => {
    const p = (hits + 1) / (n + 2);
    return (p * (1 - p)) / Math.max(1, n / overlap);
  };
  const se = Math.sqrt(variance(upHits, up) + variance(downHits, down)) / 2;
  return { value, lo: Math.max(0, value - Z * se), hi: Math.min(1, value + Z * se) };
}

/** `pred` = predicted return (bps; only its sign matters for direction), `y` = realized; NaN labels are skipped. */
export function score(pred: number[], y: number[], overlap: number): Scores {
  const p: number[] = [];
  const t: number[] = [];
  let hits = 0,
    directional = 0,
    abs = 0,
    up = 0,
    upHits = 0;
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i]!) || !Number.isFinite(pred[i]!)) continue;
    p.push(pred[i]!);
    t.push(y[i]!);
    abs += Math.abs(pred[i]! - y[i]!);
    if (y[i] === 0 || pred[i] === 0) continue;
    directional++;
    const hit = Math.sign(pred[i]!) === Math.sign(y[i]!);
    if (hit) hits++;
    if (y[i]! > 0) {
      up++;
      if (hit) upHits++;
    }
  }
  return {
    n: p.length,
    directional,
    directionalAccuracy: wilson(hits, directional, overlap),
    balancedAccuracy: balancedAccuracy(upHits, up, hits - upHits, directional - up, overlap),
    maeBps: p.length ? abs / p.length : null,
    correlation: pearson(p, t, overlap),
  };
}

/**
 * The standard normal quantile (Acklam's rational approximation, relative
 * error < 1.2e-9 over (0, 1)).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile of ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  const tail = (q: number): number => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < lo) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - lo) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Independent directional calls needed to tell accuracy p1 from p0 with a
 * two-sided test at level alpha and the given power (one-sample test of a
 * proportion, normal approximation): n = ((z_{1−α/2}·√(p0·q0) + z_{power}·√(p1·q1)) / (p1 − p0))².
 */
export function callsToDetect(p0: number, p1: number, alpha = 0.05, power = 0.8): number {
  const za = normalQuantile(1 - alpha / 2);
  const zb = normalQuantile(power);
  return ((za * Math.sqrt(p0 * (1 - p0)) + zb * Math.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2;
}

/** The smallest accuracy above p0 that `calls` independent calls detect at that level and power (callsToDetect solved for p1 by bisection). */
export function detectableAccuracy(calls: number, p0 = 0.5, alpha = 0.05, power = 0.8): number {
  let lo = p0 + 1e-9;
  let hi = 1 - 1e-9;
  if (callsToDetect(p0, hi, alpha, power) > calls) return 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (callsToDetect(p0, mid, alpha, power) > calls) lo = mid;
    else hi = mid;
  }
  return hi;
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
