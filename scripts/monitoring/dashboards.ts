/**
 * Grafana dashboards as code: an executive overview and a technical
 * dashboard (rows: inference, aggregator, ingestor, infrastructure). Panel
 * thresholds come from thresholds.ts, like the alert rules. Every query is
 * run against a real Prometheus by test/monitoring.e2e.test.ts.
 */
import { T } from './thresholds.ts';

export interface Target {
  expr: string;
  legendFormat?: string;
}

interface Panel {
  type: 'timeseries' | 'stat';
  title: string;
  unit: string;
  targets: Target[];
  /** Red at or above (or below, when `below`) this value. */
  threshold?: number;
  below?: boolean;
  description?: string;
}

const DS = { type: 'prometheus', uid: 'prometheus' };
let nextId = 1;

function panel(p: Panel, x: number, y: number, w = 8, h = 7): object {
  const steps = p.threshold === undefined ? [{ color: 'green', value: null }]
    : p.below ? [{ color: 'red', value: null }, { color: 'green', value: p.threshold }]
    : [{ color: 'green', value: null }, { color: 'red', value: p.threshold }];
  return {
    id: nextId++,
    type: p.type,
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    datasource: DS,
    gridPos: { x, y, w, h },
    fieldConfig: { defaults: { unit: p.unit, thresholds: { mode: 'absolute', steps }, ...(p.type === 'timeseries' && p.threshold !== undefined ? { custom: { thresholdsStyle: { mode: 'line' } } } : {}) }, overrides: [] },
    targets: p.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DS, expr: t.expr, ...(t.legendFormat ? { legendFormat: t.legendFormat } : {}) })),
  };
}

function row(title: string, y: number): object {
  return { id: nextId++, type: 'row', title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] };
}

function grid(panels: Panel[], y0: number): object[] {
  return panels.map((p, i) => panel(p, (i % 3) * 8, y0 + Math.floor(i / 3) * 7));
}

function dashboard(uid: string, title: string, refresh: string, panels: object[]): object {
  return { uid, title, tags: ['hotpath', 'bitcoin'], timezone: 'utc', refresh, schemaVersion: 39, time: { from: 'now-1h', to: 'now' }, templating: { list: [] }, annotations: { list: [] }, panels };
}

const EXECUTIVE: Panel[] = [
  { type: 'stat', title: 'Prediction availability (1 h)', unit: 'percentunit', threshold: T.availabilitySlo, below: true, targets: [{ expr: '1 - inference:tick_errors:ratio_rate1h' }], description: 'Share of ticks with a model prediction (SLO 99.9 %)' },
  { type: 'stat', title: 'Inference P99 latency', unit: 's', threshold: T.inferenceP99Seconds, targets: [{ expr: 'inference:total_latency_seconds:p99_2m' }] },
  { type: 'stat', title: 'Predictions per second', unit: 'reqps', threshold: T.predictionsPerSecondLow, below: true, targets: [{ expr: 'symbol:inference_predictions:rate2m', legendFormat: '{{symbol}}' }] },
  { type: 'timeseries', title: 'Predicted (10 s earlier) vs realized mid', unit: 'currencyUSD', targets: [{ expr: 'inference_predicted_price offset 10s', legendFormat: 'predicted {{symbol}}' }, { expr: 'inference_mid_price', legendFormat: 'realized {{symbol}}' }] },
  { type: 'timeseries', title: 'Directional accuracy, rolling (model vs baseline)', unit: 'percentunit', threshold: 0.55, below: true, targets: [{ expr: 'inference_rolling_accuracy{figure="directionalAccuracy"}', legendFormat: '{{predictor}} {{symbol}}' }] },
  { type: 'stat', title: 'Fallback share (5 m)', unit: 'percentunit', threshold: T.fallbackRatio, targets: [{ expr: 'inference:fallback:ratio_rate5m' }] },
];

const PIPELINE: Panel[] = [
  { type: 'timeseries', title: 'Stage latency p99: exchange → ingestor → Kinesis → aggregator → Redis → prediction', unit: 's', targets: [{ expr: 'stage:pipeline_stage_latency_seconds:p99_2m', legendFormat: '{{stage}}' }], description: 'pipeline_stage_latency_seconds by hop; exchange_to_prediction is the whole way (includes the wait for the next 2 s tick)' },
];

const INFERENCE: Panel[] = [
  { type: 'timeseries', title: 'Tick latency p50 / p99', unit: 's', threshold: T.inferenceP99Seconds, targets: [{ expr: 'inference:total_latency_seconds:p99_2m', legendFormat: 'p99' }, { expr: 'inference:total_latency_seconds:p50_2m', legendFormat: 'p50' }] },
  { type: 'timeseries', title: 'Redis read p95', unit: 's', threshold: T.redisReadP95Seconds, targets: [{ expr: 'inference:redis_read_seconds:p95_1m' }] },
  { type: 'timeseries', title: 'Model run p95', unit: 's', threshold: T.modelP95Seconds, targets: [{ expr: 'inference:model_seconds:p95_1m' }] },
  { type: 'timeseries', title: 'Feature age p95', unit: 's', threshold: T.featureAgeSeconds, targets: [{ expr: 'inference:feature_age_seconds:p95_1m' }] },
  { type: 'timeseries', title: 'Predictions by replica', unit: 'reqps', targets: [{ expr: 'sum by (instance) (rate(inference_predictions_total[2m]))', legendFormat: '{{instance}}' }] },
  { type: 'timeseries', title: 'Tick outcomes', unit: 'reqps', targets: [{ expr: 'sum by (outcome) (rate(inference_ticks_total[2m]))', legendFormat: '{{outcome}}' }] },
  { type: 'timeseries', title: 'Tick start jitter p99', unit: 's', targets: [{ expr: 'inference:tick_jitter_seconds:p99_5m' }] },
  { type: 'timeseries', title: 'Tick errors (SLO burn input)', unit: 'percentunit', threshold: 14.4 * (1 - T.availabilitySlo), targets: [{ expr: 'inference:tick_errors:ratio_rate5m', legendFormat: '5m' }, { expr: 'inference:tick_errors:ratio_rate1h', legendFormat: '1h' }] },
  { type: 'stat', title: 'Model serving', unit: 'none', targets: [{ expr: 'inference_model_info', legendFormat: '{{version}}' }] },
];

const AGGREGATOR: Panel[] = [
  { type: 'timeseries', title: 'Feature updates per second', unit: 'reqps', targets: [{ expr: 'aggregator:feature_updates:rate5m' }] },
  { type: 'timeseries', title: 'Records processed by outcome', unit: 'reqps', targets: [{ expr: 'sum by (status) (rate(aggregator_kinesis_records_processed_total[2m]))', legendFormat: '{{status}}' }] },
  { type: 'timeseries', title: 'Kinesis lag', unit: 's', threshold: T.kinesisLagSeconds, targets: [{ expr: 'max(aggregator_kinesis_lag_seconds)' }] },
  { type: 'timeseries', title: 'Redis write p95', unit: 's', threshold: T.aggregatorRedisP95Seconds, targets: [{ expr: 'aggregator:redis_operation_seconds:p95_2m' }] },
  { type: 'timeseries', title: 'Batch → Redis p99', unit: 's', targets: [{ expr: 'aggregator:event_to_redis_seconds:p99_2m' }] },
  { type: 'timeseries', title: 'Shard leases held', unit: 'none', targets: [{ expr: 'aggregator_shard_leases', legendFormat: '{{instance}}' }] },
];

const INGESTOR: Panel[] = [
  { type: 'timeseries', title: 'SBE connected', unit: 'bool', threshold: 1, below: true, targets: [{ expr: 'min(ingestor_sbe_connection_status)' }] },
  { type: 'timeseries', title: 'SBE messages per second', unit: 'reqps', threshold: T.sbeMessagesPerSecondLow, below: true, targets: [{ expr: 'ingestor:sbe_messages:rate1m' }] },
  { type: 'timeseries', title: 'Decode p95', unit: 's', threshold: T.sbeDecodeP95Seconds, targets: [{ expr: 'ingestor:sbe_decode_seconds:p95_1m' }] },
  { type: 'timeseries', title: 'Envelopes to Kinesis by kind', unit: 'reqps', targets: [{ expr: 'sum by (kind) (rate(ingestor_envelopes_total[2m]))', legendFormat: '{{kind}}' }] },
  { type: 'timeseries', title: 'REST weight remaining', unit: 'none', threshold: T.restWeightRemaining, below: true, targets: [{ expr: 'min(ingestor_rest_rate_limit_remaining)' }] },
  { type: 'timeseries', title: 'Gaps and re-anchors', unit: 'none', targets: [{ expr: 'sum(increase(ingestor_sbe_sequence_gaps_total[5m])) or vector(0)', legendFormat: 'gaps' }, { expr: 'sum by (status) (increase(aggregator_reanchor_operations_total[5m]))', legendFormat: 're-anchor {{status}}' }] },
];

const INFRA: Panel[] = [
  { type: 'timeseries', title: 'Redis memory used / max', unit: 'percentunit', threshold: T.redisMemoryHigh, targets: [{ expr: 'redis:memory_used:ratio' }] },
  { type: 'timeseries', title: 'Redis clients', unit: 'none', threshold: T.redisClients, targets: [{ expr: 'redis_connected_clients' }] },
  { type: 'timeseries', title: 'Redis commands per second', unit: 'reqps', targets: [{ expr: 'rate(redis_commands_processed_total[2m])' }] },
  { type: 'timeseries', title: 'Process CPU by service', unit: 'percentunit', threshold: 0.7, targets: [{ expr: 'rate(process_cpu_seconds_total{job=~"inference|aggregator|ingestor"}[2m])', legendFormat: '{{job}}' }] },
  { type: 'timeseries', title: 'Event-loop lag p99 by service', unit: 's', targets: [{ expr: 'nodejs_eventloop_lag_p99_seconds', legendFormat: '{{job}}' }] },
  { type: 'timeseries', title: 'Resident memory by service', unit: 'bytes', targets: [{ expr: 'process_resident_memory_bytes', legendFormat: '{{job}}' }] },
];

export function dashboards(): Map<string, object> {
  nextId = 1;
  const executive = dashboard('hotpath-executive', 'Hotpath — executive overview', '30s', grid(EXECUTIVE, 0));
  nextId = 1;
  const sections: [string, Panel[]][] = [['Pipeline', PIPELINE], ['Inference', INFERENCE], ['Aggregator', AGGREGATOR], ['Ingestor', INGESTOR], ['Infrastructure', INFRA]];
  const panels: object[] = [];
  let y = 0;
  for (const [title, list] of sections) {
    panels.push(row(title, y));
    panels.push(...grid(list, y + 1));
    y += 1 + Math.ceil(list.length / 3) * 7;
  }
  const technical = dashboard('hotpath-technical', 'Hotpath — technical', '10s', panels);
  return new Map([['executive', executive], ['technical', technical]]);
}

/** Every PromQL expression on the dashboards (for the tests). */
export function dashboardQueries(): string[] {
  return [EXECUTIVE, PIPELINE, INFERENCE, AGGREGATOR, INGESTOR, INFRA].flat().flatMap((p) => p.targets.map((t) => t.expr));
}
