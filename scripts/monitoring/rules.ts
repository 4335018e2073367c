/**
 * Recording rules, alert rules and each alert's promtool fixtures, as one
 * table: `pnpm generate:monitoring` writes prometheus/rules/*.yml and
 * prometheus/tests/alerts.test.yml from it. Every alert has a firing and a
 * quiet case; thresholds come from thresholds.ts (shared with dashboards).
 */
import { T } from './thresholds.ts';

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

/** promtool input: one series and its values ("0+10x60"). */
export interface Series {
  series: string;
  values: string;
}

export interface Case {
  series: Series[];
  at: string;
  /** Step between input samples (default 15s); the 6 h SLO windows use 1m to keep promtool fast. */
  interval?: string;
}

export interface Alert {
  alert: string;
  expr: string;
  for: string;
  severity: 'critical' | 'warning';
  tier: 1 | 2;
  service: string;
  summary: string;
  description: string;
  runbook: string;
  firing: Case & { labels?: Record<string, string> };
  quiet: Case;
}

const N = 80; // 20 minutes of 15 s steps
const L = (job: string) => `job="${job}",instance="${job}:1"`;
const counter = (name: string, labels: string, perStep: number, n = N): Series => ({ series: `${name}{${labels}}`, values: `0+${perStep}x${n}` });
const gauge = (name: string, labels: string, v: number, n = N): Series => ({ series: `${name}{${labels}}`, values: `${v}x${n}` });
/** A histogram whose observations all fall in the bucket `le` (per step: `perStep`). */
function hist(name: string, labels: string, buckets: number[], le: number, perStep = 10, n = N): Series[] {
  const sep = labels ? ',' : '';
  return [
    ...buckets.map((b) => counter(`${name}_bucket`, `${labels}${sep}le="${b}"`, b >= le ? perStep : 0, n)),
    counter(`${name}_bucket`, `${labels}${sep}le="+Inf"`, perStep, n),
    counter(`${name}_count`, labels, perStep, n),
  ];
}
const INFER_LAT = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
const REDIS_READ = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02];
const MODEL = [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1];
const AGE = [0.5, 1, 2, 3, 5, 10, 30];
const COMPLETE = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0];
const AGG_REDIS = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01];
const FEAT = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.05];
const REANCHOR = [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
const DECODE = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002];
const REST = [0.1, 0.2, 0.5, 1, 2, 5];
const INF = L('inference');
const AGG = L('aggregator');
const ING = L('ingestor');
const RED = L('redis-exporter');
const predictions = (perStep: number, n = N): Series => counter('inference_predictions_total', `${INF},symbol="BTCUSDT",fallback="false"`, perStep, n);

export const ALERTS: Alert[] = [
  // ── tier 1: inference (pages)
  {
    alert: 'InferenceLatencyP99High', expr: `inference:total_latency_seconds:p99_2m > ${T.inferenceP99Seconds}`, for: '2m', severity: 'critical', tier: 1, service: 'inference',
    summary: 'Inference P99 latency above 100 ms', description: 'The prediction hot path (Redis read, model, write) is slower than the 100 ms budget at the 99th percentile over 2 minutes.', runbook: 'inference-latency-high',
    firing: { series: hist('inference_total_latency_seconds', INF, INFER_LAT, 0.2), at: '6m' }, quiet: { series: hist('inference_total_latency_seconds', INF, INFER_LAT, 0.005), at: '6m' },
  },
  {
    alert: 'PredictionFrequencyLow', expr: `symbol:inference_predictions:rate2m < ${T.predictionsPerSecondLow}`, for: '2m', severity: 'critical', tier: 1, service: 'inference',
    summary: 'Fewer than 0.4 predictions per second', description: 'A symbol gets fewer than one prediction per 2.5 s across all replicas (expected 0.5/s).', runbook: 'prediction-frequency',
    firing: { series: [predictions(3)], at: '6m', labels: { symbol: 'BTCUSDT' } }, quiet: { series: [predictions(7.5)], at: '6m' },
  },
  {
    alert: 'PredictionsAbsent', expr: 'absent(inference_predictions_total)', for: '2m', severity: 'critical', tier: 1, service: 'inference',
    summary: 'No inference replica reports predictions', description: 'inference_predictions_total is absent: every replica is down or unscraped, and no prediction is made.', runbook: 'prediction-frequency',
    firing: { series: [gauge('up', INF, 0)], at: '5m' }, quiet: { series: [predictions(7.5)], at: '5m' },
  },
  {
    alert: 'InferenceDown', expr: 'up{job="inference"} == 0', for: '1m', severity: 'critical', tier: 1, service: 'inference',
    summary: 'An inference replica is down', description: 'Prometheus cannot scrape an inference replica (process down or /metrics unreachable).', runbook: 'service-down',
    firing: { series: [gauge('up', INF, 0)], at: '3m', labels: { job: 'inference', instance: 'inference:1' } }, quiet: { series: [gauge('up', INF, 1)], at: '3m' },
  },
  {
    alert: 'PredictionAvailabilityBudgetBurnFast', expr: `inference:tick_errors:ratio_rate5m > ${14.4 * (1 - T.availabilitySlo)} and inference:tick_errors:ratio_rate1h > ${14.4 * (1 - T.availabilitySlo)}`, for: '2m', severity: 'critical', tier: 1, service: 'inference',
    summary: 'Prediction availability SLO: error budget burning 14x too fast', description: 'Missed or fallback ticks are consuming the 99.9 % availability budget at over 14.4x (2 % of the month in an hour), on both the 5 m and 1 h windows.', runbook: 'slo-burn',
    firing: { series: [predictions(7.5, 300), counter('inference_fallback_predictions_total', `${INF},reason="stale_features"`, 2, 300)], at: '70m' }, quiet: { series: [predictions(7.5, 300)], at: '70m' },
  },
  {
    alert: 'PredictionLatencyBudgetBurnFast', expr: `inference:latency_over_100ms:ratio_rate5m > ${14.4 * (1 - T.latencySlo)} and inference:latency_over_100ms:ratio_rate1h > ${14.4 * (1 - T.latencySlo)}`, for: '2m', severity: 'critical', tier: 1, service: 'inference',
    summary: 'Latency SLO: budget of ticks over 100 ms burning 14x too fast', description: 'More than 1.44 % of ticks took over 100 ms on both the 5 m and 1 h windows (SLO: 99.9 % under 100 ms).', runbook: 'slo-burn',
    firing: { series: hist('inference_total_latency_seconds', INF, INFER_LAT, 0.2, 10, 300), at: '70m' }, quiet: { series: hist('inference_total_latency_seconds', INF, INFER_LAT, 0.005, 10, 300), at: '70m' },
  },
  // ── tier 1: pipeline and Redis
  {
    alert: 'FeaturePipelineStalled', expr: 'aggregator:feature_updates:rate5m == 0', for: '2m', severity: 'critical', tier: 1, service: 'aggregator',
    summary: 'No feature vector written for 5 minutes', description: 'The aggregator published no feature update in 5 minutes: predictions are falling back on stale features.', runbook: 'feature-pipeline-stalled',
    firing: { series: [gauge('aggregator_feature_updates_total', AGG, 100)], at: '10m' }, quiet: { series: [counter('aggregator_feature_updates_total', AGG, 50)], at: '10m' },
  },
  {
    alert: 'AggregatorNotApplying', expr: 'sum by (job, instance) (rate(aggregator_kinesis_records_processed_total{status=~"duplicate|undecodable"}[5m])) > 0 and sum by (job, instance) (rate(aggregator_kinesis_records_processed_total{status=~"applied|reanchored|reanchor_started|ignored"}[5m])) == 0', for: '2m', severity: 'critical', tier: 1, service: 'aggregator',
    summary: 'Aggregator reads records but applies none', description: 'Every record the aggregator reads is refused (duplicate or undecodable): features are frozen while records flow. Its /health says applying: stalled.', runbook: 'feature-pipeline-stalled',
    firing: { series: [counter('aggregator_kinesis_records_processed_total', `${AGG},stream="market-events",status="duplicate"`, 100), gauge('aggregator_kinesis_records_processed_total', `${AGG},stream="market-events",status="applied"`, 5000)], at: '10m', labels: { job: 'aggregator', instance: 'aggregator:1' } },
    quiet: { series: [counter('aggregator_kinesis_records_processed_total', `${AGG},stream="market-events",status="duplicate"`, 1), counter('aggregator_kinesis_records_processed_total', `${AGG},stream="market-events",status="applied"`, 100)], at: '10m' },
  },
  {
    alert: 'EnvelopeIdentityRegressed', expr: 'sum(increase(aggregator_identity_regressions_total[10m])) > 0', for: '0m', severity: 'warning', tier: 2, service: 'aggregator',
    summary: 'An ingestor reused an envelope identity', description: 'Envelopes arrived with a writer identity at or below one already applied but newer receive times: they were applied (nothing is frozen), but two writers share an id or a clock stepped back.', runbook: 'envelope-identity',
    firing: { series: [{ series: `aggregator_identity_regressions_total{${AGG},symbol="BTCUSDT"}`, values: '0x20 3x20' }], at: '6m' }, quiet: { series: [gauge('aggregator_identity_regressions_total', `${AGG},symbol="BTCUSDT"`, 0)], at: '6m' },
  },
  {
    alert: 'IngestorEnvelopesLost', expr: 'sum(increase(ingestor_kinesis_user_records_total{result=~"lost_at_stop|rejected_overflow|rejected_too_large"}[10m])) > 0', for: '0m', severity: 'warning', tier: 2, service: 'ingestor',
    summary: 'Envelopes never reached Kinesis', description: 'The ingestor dropped envelopes: its buffer was full, one was too large, or a stop deadline passed before Kinesis acknowledged them. The books re-anchor; trades in them may be missing.', runbook: 'envelopes-lost',
    firing: { series: [{ series: `ingestor_kinesis_user_records_total{${ING},result="lost_at_stop"}`, values: '0x20 12x20' }], at: '6m' }, quiet: { series: [counter('ingestor_kinesis_user_records_total', `${ING},result="acked"`, 100)], at: '6m' },
  },
  {
    alert: 'AggregatorRedisErrors', expr: `aggregator:redis_errors:rate5m > ${T.aggregatorRedisErrorsPerSecond}`, for: '1m', severity: 'critical', tier: 1, service: 'aggregator',
    summary: 'Aggregator Redis writes failing', description: 'More than 10 failed Redis operations per second from the aggregator.', runbook: 'redis-down',
    firing: { series: [counter('aggregator_redis_operations_total', `${AGG},operation="commit",key_type="state",status="error"`, 300)], at: '6m' }, quiet: { series: [counter('aggregator_redis_operations_total', `${AGG},operation="commit",key_type="state",status="ok"`, 300)], at: '6m' },
  },
  {
    alert: 'ReanchorFailed', expr: 'increase(aggregator_reanchor_operations_total{status="failed"}[5m]) > 0', for: '0m', severity: 'critical', tier: 1, service: 'aggregator',
    summary: 'A re-anchor failed', description: 'A depth snapshot did not join the buffered diffs; the symbol stays stale until the next snapshot.', runbook: 'reanchor',
    firing: { series: [{ series: `aggregator_reanchor_operations_total{${AGG},status="failed"}`, values: '0x20 1x20' }], at: '6m', labels: { job: 'aggregator', instance: 'aggregator:1', status: 'failed' } }, quiet: { series: [gauge('aggregator_reanchor_operations_total', `${AGG},status="failed"`, 0)], at: '6m' },
  },
  {
    alert: 'SbeStreamDisconnected', expr: 'ingestor_sbe_connection_status == 0', for: T.sbeDisconnectedFor, severity: 'critical', tier: 1, service: 'ingestor',
    summary: 'SBE market data stream disconnected', description: 'The ingestor has had no SBE WebSocket connection for 30 s: no market data reaches the pipeline.', runbook: 'sbe-stream-disconnected',
    firing: { series: [gauge('ingestor_sbe_connection_status', ING, 0)], at: '2m', labels: { job: 'ingestor', instance: 'ingestor:1' } }, quiet: { series: [gauge('ingestor_sbe_connection_status', ING, 1)], at: '2m' },
  },
  {
    alert: 'SbeNoMessages', expr: 'ingestor:sbe_messages:rate2m == 0', for: '1m', severity: 'critical', tier: 1, service: 'ingestor',
    summary: 'No SBE messages for 2 minutes', description: 'The ingestor received no SBE message in 2 minutes (connected or not).', runbook: 'sbe-stream-disconnected',
    firing: { series: [gauge('ingestor_sbe_messages_total', `${ING},message_type="trade"`, 5000)], at: '6m' }, quiet: { series: [counter('ingestor_sbe_messages_total', `${ING},message_type="trade"`, 3000)], at: '6m' },
  },
  {
    alert: 'RedisDown', expr: 'redis_up == 0', for: '30s', severity: 'critical', tier: 1, service: 'redis',
    summary: 'Redis is down', description: 'redis_exporter cannot reach Redis: the hot path has no features and no predictions are stored.', runbook: 'redis-down',
    firing: { series: [gauge('redis_up', RED, 0)], at: '2m', labels: { job: 'redis-exporter', instance: 'redis-exporter:1' } }, quiet: { series: [gauge('redis_up', RED, 1)], at: '2m' },
  },
  {
    alert: 'RedisMemoryCritical', expr: `redis:memory_used:ratio > ${T.redisMemoryCritical}`, for: '2m', severity: 'critical', tier: 1, service: 'redis',
    summary: 'Redis memory above 95 % of maxmemory', description: 'Redis is about to evict or refuse writes.', runbook: 'redis-memory',
    firing: { series: [gauge('redis_memory_used_bytes', RED, 97), gauge('redis_memory_max_bytes', RED, 100)], at: '5m', labels: { job: 'redis-exporter', instance: 'redis-exporter:1' } }, quiet: { series: [gauge('redis_memory_used_bytes', RED, 50), gauge('redis_memory_max_bytes', RED, 100)], at: '5m' },
  },
  // ── tier 2: inference
  {
    alert: 'PredictionFrequencyHigh', expr: `symbol:inference_predictions:rate2m > ${T.predictionsPerSecondHigh}`, for: '2m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'More than 0.6 predictions per second', description: 'A symbol gets more predictions than its 2 s schedule allows: replicas may be duplicating ticks.', runbook: 'prediction-frequency',
    firing: { series: [predictions(15)], at: '6m', labels: { symbol: 'BTCUSDT' } }, quiet: { series: [predictions(7.5)], at: '6m' },
  },
  {
    alert: 'StaleFeatures', expr: `inference:feature_age_seconds:p95_1m > ${T.featureAgeSeconds}`, for: '1m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'Features older than 5 s', description: 'The 95th percentile age of the feature vectors inference reads is above 5 s.', runbook: 'stale-features',
    firing: { series: hist('inference_feature_age_seconds', `${INF},symbol="BTCUSDT"`, AGE, 10), at: '5m' }, quiet: { series: hist('inference_feature_age_seconds', `${INF},symbol="BTCUSDT"`, AGE, 0.5), at: '5m' },
  },
  {
    alert: 'IncompleteFeatures', expr: `inference:feature_completeness:p95_5m < ${T.featureCompleteness}`, for: '5m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'Feature vectors incomplete', description: 'Even the 95th percentile of feature completeness is below 0.9: most vectors miss features.', runbook: 'stale-features',
    firing: { series: hist('inference_feature_completeness', `${INF},symbol="BTCUSDT"`, COMPLETE, 0.7), at: '12m' }, quiet: { series: hist('inference_feature_completeness', `${INF},symbol="BTCUSDT"`, COMPLETE, 1.0), at: '12m' },
  },
  {
    alert: 'HighFallbackRate', expr: `inference:fallback:ratio_rate5m > ${T.fallbackRatio}`, for: '5m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'More than 10 % of predictions are fallbacks', description: 'Predictions are being made without the model (stale or re-anchoring features, schema mismatch, model errors).', runbook: 'fallback-rate',
    firing: { series: [predictions(7.5), counter('inference_fallback_predictions_total', `${INF},reason="reanchoring"`, 3)], at: '12m' }, quiet: { series: [predictions(7.5)], at: '12m' },
  },
  {
    alert: 'ModelLoadFailed', expr: 'sum(increase(inference_model_loads_total{outcome!="ok"}[10m])) > 0', for: '0m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'A model was refused', description: 'A model candidate failed verification (schema, golden input, graph); the previous model (or the fallback) keeps serving.', runbook: 'model-load-failed',
    firing: { series: [{ series: `inference_model_loads_total{${INF},outcome="golden_mismatch"}`, values: '0x20 1x20' }], at: '6m' }, quiet: { series: [gauge('inference_model_loads_total', `${INF},outcome="ok"`, 1)], at: '6m' },
  },
  {
    alert: 'RedisReadLatencyHigh', expr: `inference:redis_read_seconds:p95_1m > ${T.redisReadP95Seconds}`, for: '2m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'Inference Redis reads above 5 ms (p95)', description: 'The tick’s one Redis round trip is slow at the 95th percentile.', runbook: 'inference-latency-high',
    firing: { series: hist('inference_redis_read_duration_seconds', `${INF},symbol="BTCUSDT"`, REDIS_READ, 0.01), at: '6m' }, quiet: { series: hist('inference_redis_read_duration_seconds', `${INF},symbol="BTCUSDT"`, REDIS_READ, 0.001), at: '6m' },
  },
  {
    alert: 'ModelInferenceSlow', expr: `inference:model_seconds:p95_1m > ${T.modelP95Seconds}`, for: '2m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'Model runs above 30 ms (p95)', description: 'onnxruntime runs are slow at the 95th percentile.', runbook: 'inference-latency-high',
    firing: { series: hist('inference_model_prediction_duration_seconds', INF, MODEL, 0.05), at: '6m' }, quiet: { series: hist('inference_model_prediction_duration_seconds', INF, MODEL, 0.001), at: '6m' },
  },
  {
    alert: 'PredictionAvailabilityBudgetBurnSlow', expr: `inference:tick_errors:ratio_rate30m > ${6 * (1 - T.availabilitySlo)} and inference:tick_errors:ratio_rate6h > ${6 * (1 - T.availabilitySlo)}`, for: '15m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'Prediction availability SLO: error budget burning 6x too fast', description: 'Missed or fallback ticks consume the 99.9 % budget at over 6x on both the 30 m and 6 h windows.', runbook: 'slo-burn',
    firing: { series: [predictions(30, 420), counter('inference_fallback_predictions_total', `${INF},reason="stale_features"`, 0.4, 420)], at: '6h30m', interval: '1m' }, quiet: { series: [predictions(30, 420)], at: '6h30m', interval: '1m' },
  },
  {
    alert: 'PredictionLatencyBudgetBurnSlow', expr: `inference:latency_over_100ms:ratio_rate30m > ${6 * (1 - T.latencySlo)} and inference:latency_over_100ms:ratio_rate6h > ${6 * (1 - T.latencySlo)}`, for: '15m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'Latency SLO: budget burning 6x too fast', description: 'More than 0.6 % of ticks over 100 ms on both the 30 m and 6 h windows.', runbook: 'slo-burn',
    firing: { series: hist('inference_total_latency_seconds', INF, INFER_LAT, 0.2, 10, 420), at: '6h30m', interval: '1m' }, quiet: { series: hist('inference_total_latency_seconds', INF, INFER_LAT, 0.005, 10, 420), at: '6h30m', interval: '1m' },
  },
  {
    alert: 'InferenceLatencyTrendingToLimit', expr: `predict_linear(inference:total_latency_seconds:p99_2m[30m], 1800) > ${T.inferenceP99Seconds}`, for: '10m', severity: 'warning', tier: 2, service: 'inference',
    summary: 'Inference P99 latency will cross 100 ms within 30 minutes', description: 'At the trend of the last 30 minutes, the P99 latency reaches the 100 ms budget within 30 minutes.', runbook: 'inference-latency-high',
    // the p99 recording rule itself, rising from 10 ms by 2 ms a minute
    firing: { series: [{ series: 'inference:total_latency_seconds:p99_2m', values: '0.01+0.0005x200' }], at: '30m' }, quiet: { series: [{ series: 'inference:total_latency_seconds:p99_2m', values: '0.01x200' }], at: '30m' },
  },
  // ── tier 2: aggregator
  {
    alert: 'AggregatorRedisSlow', expr: `aggregator:redis_operation_seconds:p95_2m > ${T.aggregatorRedisP95Seconds}`, for: '2m', severity: 'warning', tier: 2, service: 'aggregator',
    summary: 'Aggregator Redis writes above 5 ms (p95)', description: 'State commits and vector publishes are slow at the 95th percentile.', runbook: 'redis-down',
    firing: { series: hist('aggregator_redis_operation_duration_seconds', `${AGG},operation="publish"`, AGG_REDIS, 0.01), at: '6m' }, quiet: { series: hist('aggregator_redis_operation_duration_seconds', `${AGG},operation="publish"`, AGG_REDIS, 0.001), at: '6m' },
  },
  {
    alert: 'FeatureComputationSlow', expr: `aggregator:feature_computation_seconds:p95_2m > ${T.featureComputationP95Seconds}`, for: '2m', severity: 'warning', tier: 2, service: 'aggregator',
    summary: 'Feature computation above 20 ms per batch (p95)', description: 'Applying Kinesis batches to books and windows is slow.', runbook: 'feature-pipeline-stalled',
    firing: { series: hist('aggregator_feature_computation_duration_seconds', AGG, FEAT, 0.05), at: '6m' }, quiet: { series: hist('aggregator_feature_computation_duration_seconds', AGG, FEAT, 0.001), at: '6m' },
  },
  {
    alert: 'KinesisLagHigh', expr: `aggregator_kinesis_lag_seconds > ${T.kinesisLagSeconds}`, for: '2m', severity: 'warning', tier: 2, service: 'aggregator',
    summary: 'Aggregator more than 10 s behind Kinesis', description: 'The newest processed record arrived over 10 s ago.', runbook: 'kinesis-lag',
    firing: { series: [gauge('aggregator_kinesis_lag_seconds', AGG, 30)], at: '5m', labels: { job: 'aggregator', instance: 'aggregator:1' } }, quiet: { series: [gauge('aggregator_kinesis_lag_seconds', AGG, 0.3)], at: '5m' },
  },
  {
    alert: 'KinesisLagTrendingToLimit', expr: `predict_linear(aggregator_kinesis_lag_seconds[15m], 900) > ${T.kinesisLagSeconds}`, for: '5m', severity: 'warning', tier: 2, service: 'aggregator',
    summary: 'Kinesis lag will cross 10 s within 15 minutes', description: 'The lag is growing: at its 15-minute trend it reaches 10 s within 15 minutes.', runbook: 'kinesis-lag',
    firing: { series: [{ series: `aggregator_kinesis_lag_seconds{${AGG}}`, values: '0.5+0.08x120' }], at: '22m', labels: { job: 'aggregator', instance: 'aggregator:1' } }, quiet: { series: [gauge('aggregator_kinesis_lag_seconds', AGG, 0.5, 120)], at: '22m' },
  },
  {
    alert: 'ReanchorSlow', expr: `aggregator:reanchor_seconds:p95_10m > ${T.reanchorP95Seconds}`, for: '0m', severity: 'warning', tier: 2, service: 'aggregator',
    summary: 'Re-anchoring takes over 60 s (p95)', description: 'Gap → new book swapped in takes longer than the spec allows.', runbook: 'reanchor',
    firing: { series: hist('aggregator_reanchor_duration_seconds', AGG, REANCHOR, 120, 1), at: '12m' }, quiet: { series: hist('aggregator_reanchor_duration_seconds', AGG, REANCHOR, 1, 1), at: '12m' },
  },
  // ── tier 2: ingestor
  {
    alert: 'SbeDecodeSlow', expr: `ingestor:sbe_decode_seconds:p95_1m > ${T.sbeDecodeP95Seconds}`, for: '2m', severity: 'warning', tier: 2, service: 'ingestor',
    summary: 'SBE decoding above 1 ms (p95)', description: 'Frame validation and header decode are slow: the ingestor event loop is overloaded.', runbook: 'sbe-stream-disconnected',
    firing: { series: hist('ingestor_sbe_decode_duration_seconds', ING, DECODE, 0.002), at: '6m' }, quiet: { series: hist('ingestor_sbe_decode_duration_seconds', ING, DECODE, 0.00001), at: '6m' },
  },
  {
    alert: 'SbeThroughputLow', expr: `ingestor:sbe_messages:rate1m < ${T.sbeMessagesPerSecondLow}`, for: '2m', severity: 'warning', tier: 2, service: 'ingestor',
    summary: 'Fewer than 100 SBE messages per second', description: 'Market data arrives slower than BTCUSDT normally trades and quotes.', runbook: 'sbe-stream-disconnected',
    firing: { series: [counter('ingestor_sbe_messages_total', `${ING},message_type="trade"`, 150)], at: '6m' }, quiet: { series: [counter('ingestor_sbe_messages_total', `${ING},message_type="trade"`, 4500)], at: '6m' },
  },
  {
    alert: 'SequenceGaps', expr: 'sum(increase(ingestor_sbe_sequence_gaps_total[5m])) > 0', for: '0m', severity: 'warning', tier: 2, service: 'ingestor',
    summary: 'Sequence gaps detected', description: 'Depth update ids or trade ids jumped: the ingestor is re-anchoring from REST.', runbook: 'reanchor',
    firing: { series: [{ series: `ingestor_sbe_sequence_gaps_total{${ING},kind="depth"}`, values: '0x20 2x20' }], at: '6m' }, quiet: { series: [gauge('ingestor_sbe_sequence_gaps_total', `${ING},kind="depth"`, 3)], at: '6m' },
  },
  {
    alert: 'SbeReconnectsFrequent', expr: `sum(rate(ingestor_sbe_reconnections_total[5m])) > ${T.reconnectsPerSecond}`, for: '5m', severity: 'warning', tier: 2, service: 'ingestor',
    summary: 'SBE stream reconnecting more than every 10 s', description: 'The WebSocket keeps dropping.', runbook: 'sbe-stream-disconnected',
    firing: { series: [counter('ingestor_sbe_reconnections_total', `${ING},reason="close"`, 3)], at: '12m' }, quiet: { series: [gauge('ingestor_sbe_reconnections_total', `${ING},reason="close"`, 2)], at: '12m' },
  },
  {
    alert: 'RestApiSlow', expr: `ingestor:rest_api_seconds:p95_5m > ${T.restP95Seconds}`, for: '5m', severity: 'warning', tier: 2, service: 'ingestor',
    summary: 'Binance REST calls above 2 s (p95)', description: 'Depth snapshots and trade backfills are slow: re-anchoring takes longer.', runbook: 'rest-api',
    firing: { series: hist('ingestor_rest_api_duration_seconds', `${ING},endpoint="depth"`, REST, 5, 1), at: '15m' }, quiet: { series: hist('ingestor_rest_api_duration_seconds', `${ING},endpoint="depth"`, REST, 0.1, 1), at: '15m' },
  },
  {
    alert: 'RestApiErrors', expr: `ingestor:rest_api_errors:rate5m > ${T.restErrorsPerSecond}`, for: '5m', severity: 'warning', tier: 2, service: 'ingestor',
    summary: 'Binance REST calls failing', description: 'More than 0.05 REST errors per second (4xx/5xx).', runbook: 'rest-api',
    firing: { series: [counter('ingestor_rest_api_calls_total', `${ING},endpoint="depth",status="503"`, 3)], at: '15m' }, quiet: { series: [counter('ingestor_rest_api_calls_total', `${ING},endpoint="depth",status="200"`, 3)], at: '15m' },
  },
  {
    alert: 'RestRateLimitLow', expr: `ingestor_rest_rate_limit_remaining < ${T.restWeightRemaining}`, for: '1m', severity: 'warning', tier: 2, service: 'ingestor',
    summary: 'Binance REST weight almost used up', description: 'Fewer than 100 request-weight units left this minute: the next snapshot may be refused (429/418).', runbook: 'rest-api',
    firing: { series: [gauge('ingestor_rest_rate_limit_remaining', ING, 50)], at: '3m', labels: { job: 'ingestor', instance: 'ingestor:1' } }, quiet: { series: [gauge('ingestor_rest_rate_limit_remaining', ING, 5800)], at: '3m' },
  },
  // ── tier 2: Redis
  {
    alert: 'RedisMemoryHigh', expr: `redis:memory_used:ratio > ${T.redisMemoryHigh}`, for: '5m', severity: 'warning', tier: 2, service: 'redis',
    summary: 'Redis memory above 85 % of maxmemory', description: 'Redis memory is high.', runbook: 'redis-memory',
    firing: { series: [gauge('redis_memory_used_bytes', RED, 90), gauge('redis_memory_max_bytes', RED, 100)], at: '8m', labels: { job: 'redis-exporter', instance: 'redis-exporter:1' } }, quiet: { series: [gauge('redis_memory_used_bytes', RED, 50), gauge('redis_memory_max_bytes', RED, 100)], at: '8m' },
  },
  {
    alert: 'RedisMemoryFullIn4h', expr: 'predict_linear(redis_memory_used_bytes[1h], 4 * 3600) > on (job, instance) (redis_memory_max_bytes > 0)', for: '15m', severity: 'warning', tier: 2, service: 'redis',
    summary: 'Redis memory will reach maxmemory within 4 hours', description: 'At the last hour’s trend, Redis fills up within 4 hours.', runbook: 'redis-memory',
    firing: { series: [{ series: `redis_memory_used_bytes{${RED}}`, values: '100+2x400' }, gauge('redis_memory_max_bytes', RED, 2000, 400)], at: '90m', labels: { job: 'redis-exporter', instance: 'redis-exporter:1' } }, quiet: { series: [gauge('redis_memory_used_bytes', RED, 100, 400), gauge('redis_memory_max_bytes', RED, 2000, 400)], at: '90m' },
  },
  {
    alert: 'RedisClientsBlocked', expr: `redis_blocked_clients > ${T.redisBlockedClients}`, for: '2m', severity: 'warning', tier: 2, service: 'redis',
    summary: 'Redis clients blocked', description: 'More than 5 clients are blocked on Redis operations.', runbook: 'redis-down',
    firing: { series: [gauge('redis_blocked_clients', RED, 9)], at: '5m', labels: { job: 'redis-exporter', instance: 'redis-exporter:1' } }, quiet: { series: [gauge('redis_blocked_clients', RED, 0)], at: '5m' },
  },
  {
    alert: 'RedisConnectionsHigh', expr: `redis_connected_clients > ${T.redisClients}`, for: '5m', severity: 'warning', tier: 2, service: 'redis',
    summary: 'More than 80 Redis clients', description: 'Connection count is high: a client may be leaking connections.', runbook: 'redis-down',
    firing: { series: [gauge('redis_connected_clients', RED, 120)], at: '8m', labels: { job: 'redis-exporter', instance: 'redis-exporter:1' } }, quiet: { series: [gauge('redis_connected_clients', RED, 12)], at: '8m' },
  },
];
