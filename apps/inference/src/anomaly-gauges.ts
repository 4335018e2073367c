/** Anomaly verdicts per tick (docs/anomalies.md) and the gauges and counters that follow them. */
import { ANOMALY_KINDS, type AnomalyDetector, emptyInput, marketInput } from '@hotpath/anomaly';
import type { FeatureVectorRecord } from '@hotpath/state';
import type { InferenceMetrics } from './metrics.ts';

export class AnomalyGauges {
  /** The detector's input, refilled each tick (no allocation on the tick's path). */
  private readonly input = emptyInput();
  /** Symbols whose anomaly gauges exist: after the first verdict only the kinds at an edge are set. */
  private readonly gauged = new Set<string>();

  constructor(
    private readonly anomalies: AnomalyDetector,
    private readonly metrics: InferenceMetrics,
  ) {}

  /**
   * One tick's anomaly verdict for the symbol: its market measures from the vector, the pipeline's exchange → vector
   * written latency and the feature age; the gauges follow the verdict and each kind that starts firing is counted once.
   */
  judge(symbol: string, vector: FeatureVectorRecord, nowMs: number): void {
    const input = marketInput(vector.features, vector.schemaHash, this.input);
    input.latencyMs = (vector.writtenAtUs - vector.eventTimeUs) / 1000;
    input.featureAgeMs = nowMs - vector.eventTimeUs / 1000;
    const verdict = this.anomalies.observe(symbol, input);
    if (verdict === undefined) return;
    // every kind's gauge on the symbol's first verdict (its series exist from then on), afterwards only at an edge
    const edges = this.gauged.has(symbol) ? verdict.started | verdict.ended : -1;
    if (edges === 0) return;
    this.gauged.add(symbol);
    for (const kind of this.anomalies.config.kinds) {
      const bit = 1 << ANOMALY_KINDS.indexOf(kind);
      if ((edges & bit) === 0) continue;
      this.metrics.anomalyActive.set({ symbol, kind }, verdict.active & bit ? 1 : 0);
      if (verdict.started & bit) this.metrics.anomalyEvents.inc({ symbol, kind });
    }
  }
}
