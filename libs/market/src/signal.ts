/**
 * How predictable is the simulated market? Runs the feed, samples every 2 s
 * of simulated time the order-flow features a client can observe, labels
 * each sample with the mid's move over the next 10 s, fits ordinary least
 * squares on the first part and scores the rest. Also scores the oracle that
 * knows the latent fair price, the ceiling any model can approach.
 */
import { MarketFeed } from './feed.ts';

export interface SignalReport {
  samples: number;
  trainSamples: number;
  testSamples: number;
  /** Directional accuracy on non-zero 10 s moves, held-out part. */
  linearAccuracy: number;
  oracleAccuracy: number;
  /** Correlation of prediction with the realized move, held-out part. */
  linearCorrelation: number;
  oracleCorrelation: number;
  features: string[];
  coefficients: number[];
}

const SAMPLE_US = 2_000_000;
const HORIZON_SAMPLES = 5; // 10 s

export function evaluateSignal(options: { seed: number; minutes: number; symbol?: string; trainFraction?: number }): SignalReport {
  const symbol = options.symbol ?? 'BTCUSDT';
  const start = 1_750_000_000_000_000;
  const feed = new MarketFeed({ symbols: [symbol], seed: options.seed, startTimeUs: start });
  const model = feed.model(symbol);
  const rows: { x: number[]; mid: number; oracle: number }[] = [];
  const total = options.minutes * 60 * 1_000_000;
  for (let t = start + SAMPLE_US; t <= start + total; t += SAMPLE_US) {
    feed.advanceTo(t, () => undefined);
    // order-flow imbalance (signed taker volume) over the last 1, 5 and 10 s, from the public trade tape
    const tape = feed.recentTrades(symbol);
    let vol1 = 0;
    let vol5 = 0;
    let vol10 = 0;
    for (let i = tape.length - 1; i >= 0; i--) {
      const tr = tape[i]!;
      const age = t - tr.timeUs;
      if (age > 10_000_000) break;
      const signed = tr.isBuyerMaker ? -tr.lots : tr.lots;
      vol10 += signed;
      if (age <= 5_000_000) vol5 += signed;
      if (age <= 1_000_000) vol1 += signed;
    }
    const book = model.book;
    const bid = book.bestBid;
    const ask = book.bestAsk;
    const mid = (bid + ask) / 2;
    const bidQ = book.lotsAt('bid', bid);
    const askQ = book.lotsAt('ask', ask);
    const micro = (bid * askQ + ask * bidQ) / (bidQ + askQ) - mid;
    const top5 = (side: 'bid' | 'ask'): number => book.top(side, 5).reduce((a, l) => a + l.lots, 0);
    const b5 = top5('bid');
    const a5 = top5('ask');
    const imb5 = (b5 - a5) / (b5 + a5);
    rows.push({ x: [1, vol1, vol5, vol10, micro, imb5], mid, oracle: model.fair - mid });
  }
  const samples: { x: number[]; y: number; oracle: number }[] = [];
  for (let i = 0; i + HORIZON_SAMPLES < rows.length; i++) {
    samples.push({ x: rows[i]!.x, y: rows[i + HORIZON_SAMPLES]!.mid - rows[i]!.mid, oracle: rows[i]!.oracle });
  }
  const nTrain = Math.floor(samples.length * (options.trainFraction ?? 0.5));
  // leave a horizon-sized gap between train and test so no label overlaps
  const train = samples.slice(0, nTrain);
  const test = samples.slice(nTrain + HORIZON_SAMPLES);
  const beta = ols(
    train.map((s) => standardize(s.x, train)),
    train.map((s) => s.y),
  );
  const predict = (x: number[]): number => standardize(x, train).reduce((a, v, i) => a + v * beta[i]!, 0);
  const score = (pred: (s: (typeof samples)[number]) => number) => {
    let hit = 0;
    let n = 0;
    const ps: number[] = [];
    const ys: number[] = [];
    for (const s of test) {
      const p = pred(s);
      ps.push(p);
      ys.push(s.y);
      if (s.y === 0 || p === 0) continue;
      n++;
      if (Math.sign(p) === Math.sign(s.y)) hit++;
    }
    return { accuracy: n === 0 ? 0 : hit / n, correlation: corr(ps, ys) };
  };
  const lin = score((s) => predict(s.x));
  const ora = score((s) => s.oracle);
  return {
    samples: samples.length,
    trainSamples: train.length,
    testSamples: test.length,
    linearAccuracy: lin.accuracy,
    oracleAccuracy: ora.accuracy,
    linearCorrelation: lin.correlation,
    oracleCorrelation: ora.correlation,
    features: ['intercept', 'ofi_1s', 'ofi_5s', 'ofi_10s', 'microprice_dev', 'book_imbalance_5'],
    coefficients: beta,
  };
}

const statsCache = new WeakMap<object, { mean: number[]; sd: number[] }>();
function standardize(x: number[], ref: { x: number[] }[]): number[] {
  let st = statsCache.get(ref);
  if (st === undefined) {
    const k = x.length;
    const mean = new Array<number>(k).fill(0);
    const sd = new Array<number>(k).fill(0);
    for (const r of ref) for (let i = 0; i < k; i++) mean[i]! += r.x[i]! / ref.length;
    for (const r of ref) for (let i = 0; i < k; i++) sd[i]! += (r.x[i]! - mean[i]!) ** 2 / ref.length;
    st = { mean, sd: sd.map((v) => Math.sqrt(v) || 1) };
    statsCache.set(ref, st);
  }
  return x.map((v, i) => (i === 0 ? 1 : (v - st.mean[i]!) / st.sd[i]!));
}

/** Least squares via the normal equations with a small ridge, solved by Gaussian elimination. */
function ols(X: number[][], y: number[]): number[] {
  const k = X[0]!.length;
  const A = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let r = 0; r < X.length; r++) {
    const x = X[r]!;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) A[i]![j]! += x[i]! * x[j]!;
      A[i]![k]! += x[i]! * y[r]!;
    }
  }
  for (let i = 1; i < k; i++) A[i]![i]! += 1e-6 * X.length;
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let j = c; j <= k; j++) A[r]![j]! -= f * A[c]![j]!;
    }
  }
  return A.map((row, i) => row[k]! / row[i]!);
}

function corr(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
