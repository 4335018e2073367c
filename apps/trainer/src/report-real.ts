/**
 * The real-data evaluation in a report: the windows used and left out, the
 * market statistics beside the simulator's, the per-window held-out table of
 * every predictor (directional and balanced accuracy with intervals), the
 * verdict on the live default, and the power calculation. Shared by the
 * simulator model's report and the real-data model's.
 */
import type { Interval, Scores } from './evaluate.ts';
import type { MarketStats } from './market-stats.ts';
import { BASELINES, LABELS, MODELS, PREDICTOR_NOTES, PREDICTORS, type PredictorName, type RealEvaluation } from './real.ts';

const pct = (i: Interval): string =>
  i.value === null ? 'n/a' : `${(i.value * 100).toFixed(1)} % [${i.lo === null ? '?' : (i.lo * 100).toFixed(1)}, ${i.hi === null ? '?' : (i.hi * 100).toFixed(1)}]`;
const f = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** Figures for the model file's metadata (`evaluation`: numbers only), as seen by the model `as`. */
export function realEvaluationFigures(e: RealEvaluation, as: 'sim' | 'real'): Record<string, number> {
  const best = e.pooled[e.verdict.bestBaseline];
  return {
    real_windows: e.windows.length,
    real_samples: e.pooled[as].n,
    real_dir_acc: e.pooled[as].directionalAccuracy.value ?? Number.NaN,
    real_balanced_acc: e.pooled[as].balancedAccuracy.value ?? Number.NaN,
    real_balanced_acc_lo: e.pooled[as].balancedAccuracy.lo ?? Number.NaN,
    real_balanced_acc_hi: e.pooled[as].balancedAccuracy.hi ?? Number.NaN,
    real_best_baseline_balanced_acc: best.balancedAccuracy.value ?? Number.NaN,
    /** 1 when this model is the live Binance default by the held-out comparison. */
    real_live_default: e.verdict.defaultModel === as ? 1 : 0,
    /** 1 only when the default demonstrably beats the baselines: the live page says "no demonstrated edge" otherwise. */
    real_beats_baselines: e.verdict.defaultModel === as && e.verdict.beatsBaselines ? 1 : 0,
  };
}

function statsTable(stats: MarketStats[]): string {
  return [
    '| market | minutes | labelled samples | spread (bps) | trades / s | 10 s volatility (bps) | mean \\|10 s move\\| (bps) | zero 10 s moves | up share (non-zero) | autocorrelation of 10 s returns | OFI impact (bps / BTC) [r] | OFI → next 10 s r | imbalance sign → next sign r |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...stats.map(
      (s) =>
        `| ${s.label} | ${f(s.minutes, 1)} | ${s.samples} | ${f(s.spreadBps, 3)} | ${f(s.tradesPerS, 1)} | ${f(s.vol10sBps, 2)} | ${f(s.meanAbsMove10sBps, 2)} | ${f(s.zeroShare * 100, 1)} % | ${f(s.upShare * 100, 1)} % | ${f(s.autocorr10s, 3)} | ${f(s.ofiImpactBpsPerBtc, 3)} [${f(s.ofiImpactCorr, 2)}] | ${f(s.ofiNextCorr, 3)} | ${f(s.imbalanceNextCorr, 3)} |`,
    ),
  ].join('\n');
}

function accuracyTable(e: RealEvaluation, which: (s: Scores) => Interval, predictors: readonly PredictorName[]): string {
  const head = `| window | group | labelled samples | ${predictors.map((p) => LABELS[p]).join(' | ')} |`;
  const cell = (s: Scores): string => `${pct(which(s))} (n = ${s.directional})`;
  return [
    head,
    `|---|---|---|${predictors.map(() => '---|').join('')}`,
    ...e.windows.map((w) => `| ${w.id} | ${w.group} | ${w.samples} | ${predictors.map((p) => cell(w.scores[p])).join(' | ')} |`),
    `| **pooled** | all | ${e.pooled.real.n} | ${predictors.map((p) => `**${cell(e.pooled[p])}**`).join(' | ')} |`,
  ].join('\n');
}

/** The whole real-data section (markdown, starting at a level-2 heading). */
export function realSection(e: RealEvaluation, as: 'sim' | 'real'): string {
  const v = e.verdict;
  const p = e.power;
  const me = as === 'sim' ? 'this (simulator-trained) model' : 'this (real-data) model';
  return `## Real Binance data: every window, held out

**${v.statement}**
Live default for Binance mode: **${v.defaultModel === 'real' ? 'the real-data model (models/btcusdt-10s-real)' : 'the simulator-trained model (models/btcusdt-10s)'}**${v.beatsBaselines ? '' : ', with no demonstrated edge'}; ${me} is ${v.defaultModel === as ? '' : 'not '}it. The model file carries the same verdict in its metadata (\`real_live_default\`, \`real_beats_baselines\`, \`real_balanced_acc\`) for the live page.

### Windows

${e.windows.map((w) => `- **${w.id}** (${w.market}, ${w.symbol}, group ${w.group}): ${f(w.minutes, 1)} minutes, ${w.samples} labelled samples; the real-data model for it was trained on the other groups and chose **${w.chosen}**; drift baseline: ${w.driftSign > 0 ? 'up' : 'down'}.`).join('\n')}
${e.skipped.map((s) => `- **${s.id}**: left out — ${s.reason}.`).join('\n')}

Method: leave-one-group-out. Windows recorded at the same time are one group (spot, USDⓈ-M and COIN-M of 2024-08-08), so a held-out window's simultaneous markets are never in its training span; training samples whose 10 s label comes within one horizon of the held-out group's span are dropped (a no-op across different days, kept so that a new recording beside an old one can never leak). Inside each training span the candidate (ridge, MLP, tree ensemble) is chosen by an inner leave-one-group-out on balanced accuracy. COIN-M quantities are converted from contracts (100 USD) to BTC at their price, so every market's features are in BTC. Futures books are kept by Binance's futures rules (diffs chained by \`pu\`; docs/trainer.md).

Predictors: ${PREDICTORS.map((n) => `**${LABELS[n]}** — ${PREDICTOR_NOTES[n]}`).join('; ')}. Models: ${MODELS.map((n) => LABELS[n]).join(', ')}; baselines a model must beat: ${BASELINES.map((n) => LABELS[n]).join(', ')}.

Intervals are 95 %, at an effective size n / ${e.overlap} (samples every ${e.sampleEveryS} s, ${e.horizonS} s labels). Balanced accuracy is the mean of the hit rates on up and on down moves, so a market that drifted one way flatters no predictor (drift scores 50 % by construction); its interval is a normal approximation with each class at its effective size (Agresti–Caffo adjusted).

### Balanced accuracy (non-zero moves)

${accuracyTable(e, (s) => s.balancedAccuracy, PREDICTORS)}

### Directional accuracy (non-zero moves)

${accuracyTable(e, (s) => s.directionalAccuracy, PREDICTORS)}

${e.costs.markdown}

### How much real data a claim needs

Telling 55 % from 50 % with a two-sided test at α = 0.05 and 80 % power needs n = ((z₀.₉₇₅·√(0.5·0.5) + z₀.₈·√(0.55·0.45)) / 0.05)² = ((1.960·0.5 + 0.842·0.497) / 0.05)² ≈ **${p.calls} independent calls**. Consecutive 10 s returns are nearly uncorrelated (the autocorrelation column below), so one independent call per ${e.horizonS} s; ${f(p.nonZeroShare * 100, 1)} % of real 10 s moves are non-zero, so that is ${p.calls} × ${e.horizonS} s / ${f(p.nonZeroShare, 3)} ≈ **${f(p.hours, 1)} hours of real data** (and more if the calls are not independent across windows). We have ${f(p.haveHours * 60, 0)} minutes (≈ ${f(p.haveCalls, 0)} independent calls): the smallest accuracy that can be told from 50 % on it at the same level and power is **${f(p.detectable * 100, 1)} %**.

### Market statistics: real windows and the simulator

${statsTable(e.stats)}

Spread is the mean quoted spread; trades per second from trade_count_10s; 10 s volatility the standard deviation of the 10 s log return of the mid; autocorrelation between consecutive non-overlapping 10 s returns; OFI impact the least-squares slope of the 10 s mid return on the Cont–Kukanov–Stoikov order-flow imbalance over the same 10 s (and its correlation); OFI → next the correlation of ofi_10s with the following 10 s return.
`;
}
