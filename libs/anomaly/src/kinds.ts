/** The anomaly kinds a tick can carry (docs/anomalies.md): market ones first, then the pipeline's own. */
export const ANOMALY_KINDS = ['price_jump', 'spread_blowout', 'imbalance_extreme', 'trade_burst', 'latency_spike', 'feature_age_spike'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** One anomaly firing on a tick: what was measured and the threshold it crossed (both in the kind's own unit). */
export interface Anomaly {
  kind: AnomalyKind;
  value: number;
  threshold: number;
}
