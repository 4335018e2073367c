export { ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './kinds.ts';
