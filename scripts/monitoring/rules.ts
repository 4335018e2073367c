/**
 * Recording rules, alert rules and each alert's promtool fixtures, as one
 * table: `pnpm generate:monitoring` writes prometheus/rules/*.yml and
 * prometheus/tests/alerts.test.yml from it. Every alert has a firing and a
 * quiet case; thresholds come from thresholds.ts (shared with dashboards).
 */
import { TIER1_ALERTS } from './alerts-tier1.ts';
import { TIER2_ALERTS } from './alerts-tier2.ts';
import type { Alert } from './series.ts';

export type { Alert, Case, Series } from './series.ts';

export interface RecordingRule {
  record: string;
  expr: string;
}

const q = (quantile: number, metric: string, window: string): string => `histogram_quantile(${quantile}, sum by (le) (rate(${metric}_bucket[${window}])))`;
const orZero = (e: string): string => `(${e} or vector(0))`;
const SLO_WINDOWS = ['5m', '30m', '1h', '6h'] as const;

export const RECORDING: RecordingRule[] = [
  { record: 'inference:total_latency_seconds:p99_2m', expr: q(0.99, 'inference_total_latency_seconds', '2m') },
  { record: 'inference:total_latency_seconds:p50_2m', expr: q(0.5, 'inference_total_latency_seconds', '2m') },
  { record: 'inference:redis_read_seconds:p95_1m', expr: q(0.95, 'inference_redis_read_duration_seconds', '1m') },
  { record: 'inference:model_seconds:p95_1m', expr: q(0.95, 'inference_model_prediction_duration_seconds', '1m') },
  { record: 'inference:feature_age_seconds:p95_1m', expr: q(0.95, 'inference_feature_age_seconds', '1m') },
  { record: 'inference:feature_completeness:p95_5m', expr: q(0.95, 'inference_feature_completeness', '5m') },
  { record: 'inference:tick_jitter_seconds:p99_5m', expr: q(0.99, 'inference_tick_jitter_seconds', '5m') },
  { record: 'symbol:inference_predictions:rate2m', expr: 'sum by (symbol) (rate(inference_predictions_total[2m]))' },
  { record: 'inference:fallback:ratio_rate5m', expr: `${orZero('sum(rate(inference_fallback_predictions_total[5m]))')} / sum(rate(inference_predictions_total[5m]))` },
  ...SLO_WINDOWS.map((w) => ({
    record: `inference:tick_errors:ratio_rate${w}`,
    // a tick is an error when it has no prediction or only a fallback
    expr: `(${orZero(`sum(rate(inference_ticks_missed_total[${w}]))`)} + ${orZero(`sum(rate(inference_fallback_predictions_total[${w}]))`)}) / (sum(rate(inference_predictions_total[${w}])) + ${orZero(`sum(rate(inference_ticks_missed_total[${w}]))`)})`,
  })),
  ...SLO_WINDOWS.map((w) => ({
    record: `inference:latency_over_100ms:ratio_rate${w}`,
    expr: `1 - sum(rate(inference_total_latency_seconds_bucket{le="0.1"}[${w}])) / sum(rate(inference_total_latency_seconds_count[${w}]))`,
  })),
  { record: 'stage:pipeline_stage_latency_seconds:p99_2m', expr: 'histogram_quantile(0.99, sum by (le, stage) (rate(pipeline_stage_latency_seconds_bucket[2m])))' },
  { record: 'aggregator:redis_operation_seconds:p95_2m', expr: q(0.95, 'aggregator_redis_operation_duration_seconds', '2m') },
  { record: 'aggregator:feature_computation_seconds:p95_2m', expr: q(0.95, 'aggregator_feature_computation_duration_seconds', '2m') },
  { record: 'aggregator:reanchor_seconds:p95_10m', expr: q(0.95, 'aggregator_reanchor_duration_seconds', '10m') },
  { record: 'aggregator:event_to_redis_seconds:p99_2m', expr: q(0.99, 'aggregator_event_to_redis_seconds', '2m') },
  { record: 'aggregator:redis_errors:rate5m', expr: 'sum(rate(aggregator_redis_operations_total{status="error"}[5m]))' },
  { record: 'aggregator:feature_updates:rate5m', expr: 'sum(rate(aggregator_feature_updates_total[5m]))' },
  { record: 'ingestor:sbe_decode_seconds:p95_1m', expr: q(0.95, 'ingestor_sbe_decode_duration_seconds', '1m') },
  // the spec's ingestor_sbe_throughput_messages_per_second
  { record: 'ingestor:sbe_messages:rate1m', expr: 'sum(rate(ingestor_sbe_messages_total[1m]))' },
  { record: 'ingestor:sbe_messages:rate2m', expr: 'sum(rate(ingestor_sbe_messages_total[2m]))' },
  { record: 'ingestor:rest_api_seconds:p95_5m', expr: q(0.95, 'ingestor_rest_api_duration_seconds', '5m') },
  { record: 'ingestor:rest_api_errors:rate5m', expr: orZero('sum(rate(ingestor_rest_api_calls_total{status=~"4..|5.."}[5m]))') },
  { record: 'redis:memory_used:ratio', expr: 'redis_memory_used_bytes / (redis_memory_max_bytes > 0)' },
  { record: 'redis:keyspace_hit:ratio_rate5m', expr: 'rate(redis_keyspace_hits_total[5m]) / (rate(redis_keyspace_hits_total[5m]) + rate(redis_keyspace_misses_total[5m]))' },
];

/** Every alert: tier 1 (pages) in alerts-tier1.ts, tier 2 (warnings) in alerts-tier2.ts. */
export const ALERTS: Alert[] = [...TIER1_ALERTS, ...TIER2_ALERTS];
