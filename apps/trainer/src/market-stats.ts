/**
 * What a market looks like through the live features, the same way for a real
 * window and the simulator (both replayed into a Dataset): spread, trade rate,
 * the 10 s move, its autocorrelation and the order-flow imbalance → return
 * slope. The simulator's defaults are calibrated against these
 * (docs/exchange-sim.md).
 */
import { FEATURE_NAMES } from '@hotpath/features';
import type { Dataset } from './dataset.ts';

export interface MarketStats {
  label: string;
  minutes: number;
  /** Labelled samples (a 10 s move observable). */
  samples: number;
  /** Mean quoted spread, bps. */
  spreadBps: number;
  /** Trades per second (mean of trade_count_10s / 10). */
  tradesPerS: number;
  /** Standard deviation of the 10 s log return of the mid, bps. */
  vol10sBps: number;
  /** Mean |10 s move|, bps. */
  meanAbsMove10sBps: number;
  /** Share of 10 s moves that are zero (the mid did not move). */
  zeroShare: number;
  /** Share of non-zero 10 s moves that were up. */
  upShare: number;
  /** Correlation of consecutive non-overlapping 10 s returns (lag one horizon). */
  autocorr10s: number;
  /**
   * OFI → return: least-squares slope of the 10 s return of the mid on the
   * Cont–Kukanov–Stoikov order-flow imbalance over the same 10 s (the price
   * impact, bps per BTC of net top-of-book flow) and the correlation; then
   * the predictive correlation of ofi_10s with the *next* 10 s return.
   */
  ofiImpactBpsPerBtc: number;
  ofiImpactCorr: number;
  ofiNextCorr: number;
  /** Correlation of the top-of-book imbalance's sign with the next 10 s return's sign (ties left out). */
  imbalanceNextCorr: number;
}

const col = (name: string): number => {
  const i = FEATURE_NAMES.indexOf(name);
  if (i < 0) throw new Error(`feature ${name} is not in the set`);
  return i;
};
const SPREAD = col('spread_bps');
const TRADES_10S = col('trade_count_10s');
const RET_MID_10S = col('ret_mid_bps_10s');
const OFI_10S = col('ofi_10s');
const IMBALANCE_1 = col('book_imbalance_1');

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, v) => a + v, 0) / xs.length : Number.NaN;
}

export function correlation(a: number[], b: number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}

/** Least-squares slope of b on a (with an intercept). */
function slope(a: number[], b: number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0,
    saa = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
  }
  return saa > 0 ? sab / saa : Number.NaN;
}

/** The statistics of one or more datasets (each its own market: pairs never cross datasets). */
export function marketStats(label: string, ds: Dataset[]): MarketStats {
  const spread: number[] = [];
  const trades: number[] = [];
  const moves: number[] = [];
  const pairsA: number[] = [];
  const pairsB: number[] = [];
  const impactX: number[] = [];
  const impactY: number[] = [];
  const nextX: number[] = [];
  const nextY: number[] = [];
  const imbX: number[] = [];
  const imbY: number[] = [];
  let minutes = 0;
  for (const d of ds) {
    const steps = Math.round(d.horizonUs / d.sampleEveryUs);
    if (d.times.length > 1) minutes += (d.times[d.times.length - 1]! - d.times[0]!) / 60e6;
    for (let i = 0; i < d.times.length; i++) {
      const x = d.X[i]!;
      if (Number.isFinite(x[SPREAD]!)) spread.push(x[SPREAD]!);
      trades.push(x[TRADES_10S]! / 10);
      const y = d.y[i]!;
      if (!Number.isFinite(y)) continue;
      moves.push(y);
      const j = i + steps;
      if (j < d.times.length && Number.isFinite(d.y[j]!) && d.times[j]! - d.times[i]! === d.horizonUs) {
        pairsA.push(y);
        pairsB.push(d.y[j]!);
      }
      // the move over the last 10 s ended at sample i: that window's flow is ofi_10s at i (only once 10 s of book are behind it)
      if (i >= steps && d.times[i]! - d.times[i - steps]! === d.horizonUs && Number.isFinite(x[OFI_10S]!)) {
        impactX.push(x[OFI_10S]!);
        impactY.push(x[RET_MID_10S]!);
      }
      if (Number.isFinite(x[OFI_10S]!)) {
        nextX.push(x[OFI_10S]!);
        nextY.push(y);
      }
      const imb = x[IMBALANCE_1]!;
      if (Number.isFinite(imb) && imb !== 0 && y !== 0) {
        imbX.push(Math.sign(imb));
        imbY.push(Math.sign(y));
      }
    }
  }
  const nonZero = moves.filter((m) => m !== 0);
  const m = mean(moves);
  return {
    label,
    minutes,
    samples: moves.length,
    spreadBps: mean(spread),
    tradesPerS: mean(trades),
    vol10sBps: Math.sqrt(moves.reduce((a, v) => a + (v - m) ** 2, 0) / Math.max(1, moves.length - 1)),
    meanAbsMove10sBps: mean(moves.map(Math.abs)),
    zeroShare: moves.length ? (moves.length - nonZero.length) / moves.length : Number.NaN,
    upShare: nonZero.length ? nonZero.filter((v) => v > 0).length / nonZero.length : Number.NaN,
    autocorr10s: correlation(pairsA, pairsB),
    ofiImpactBpsPerBtc: slope(impactX, impactY),
    ofiImpactCorr: correlation(impactX, impactY),
    ofiNextCorr: correlation(nextX, nextY),
    imbalanceNextCorr: correlation(imbX, imbY),
  };
}
