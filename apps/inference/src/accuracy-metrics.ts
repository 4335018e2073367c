/** A grading's figures (grading.ts) into the accuracy histograms and gauges, per symbol and predictor. */
import type { Figures } from './grading.ts';
import type { InferenceMetrics } from './metrics.ts';

export function recordFigures(metrics: InferenceMetrics, symbol: string, model: Figures, baseline: Figures): void {
  metrics.graded.inc({ symbol, outcome: 'graded' });
  for (const [predictor, f] of [
    ['model', model],
    ['baseline', baseline],
  ] as const) {
    if (f.directionalAccuracy !== null) metrics.directionalAccuracy.observe({ symbol, predictor }, f.directionalAccuracy);
    if (f.maeUsd !== null) metrics.meanAbsoluteError.observe({ symbol, predictor }, f.maeUsd);
    if (f.correlation !== null) metrics.correlation.observe({ symbol, predictor }, f.correlation);
    if (f.calibration !== null) metrics.calibration.observe({ symbol, predictor }, f.calibration);
    for (const figure of ['directionalAccuracy', 'maeUsd', 'correlation', 'calibration', 'n'] as const) {
      const v = f[figure];
      if (v !== null) metrics.accuracyGauge.set({ symbol, predictor, figure }, v);
    }
  }
}
