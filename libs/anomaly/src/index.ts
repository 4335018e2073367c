/** Anomaly flags on the tick (docs/anomalies.md): kinds, the detector, and its market input read from a feature vector. */
export { ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './kinds.ts';
export { AnomalyDetector, DEFAULT_ANOMALY_CONFIG, kindsOf, type AnomalyConfig, type AnomalyInput, type AnomalyInputProblem, type AnomalyProblemCounts, type AnomalyTick } from './detector.ts';
export { emptyInput, marketInput, TRADE_RATE_WINDOW_S } from './features.ts';
