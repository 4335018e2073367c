/**
 * Grafana dashboards as code: an executive overview and a technical
 * dashboard (rows: pipeline, inference, aggregator, ingestor,
 * infrastructure), built with the Grafana Foundation SDK's typed builders
 * for Grafana 11. Panel thresholds come from thresholds.ts, like the alert
 * rules. Every panel and query reads the `$datasource` variable (default:
 * the provisioned Prometheus); queries on series that still carry an
 * `instance` label are narrowed by the `$instance` variable, while recording
 * rules that aggregate instances away are left as they are. Every query is
 * run against a real Prometheus by test/monitoring.e2e.test.ts; the shape
 * Grafana loads is checked by test/grafana.test.ts.
 */
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode } from '@grafana/grafana-foundation-sdk/common';
import * as grafana from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { T } from './thresholds.ts';

export interface Target {
  expr: string;
  legendFormat?: string;
}

interface PanelSpec {
  type: 'timeseries' | 'stat';
  title: string;
  unit: string;
  targets: Target[];
  /** Red at or above (or below, when `below`) this value. */
  threshold?: number;
  below?: boolean;
  description?: string;
}

/** uid of the datasource in grafana/provisioning/datasources/prometheus.yml: the `$datasource` default. */
export const PROVISIONED_DATASOURCE_UID = 'prometheus';
/** What every panel and query points at: whichever Prometheus `$datasource` selects. */
export const DATASOURCE: grafana.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
/** The `$instance` value for "All", as Grafana sends it; also what dashboardQueries() puts in its place. */
export const ALL_INSTANCES = '.*';
/** The matcher added to selectors whose series carry an `instance` label. */
const BY_INSTANCE = 'instance=~"$instance"';
export const DASHBOARD_UIDS = { executive: 'hotpath-executive', technical: 'hotpath-technical' } as const;

const PANEL_WIDTH = 8;
const PANEL_HEIGHT = 7;

const EXECUTIVE: PanelSpec[] = [
  {
    type: 'stat',
    title: 'Prediction availability (1 h)',
    unit: 'percentunit',
    threshold: T.availabilitySlo,
    below: true,
    targets: [{ expr: '1 - inference:tick_errors:ratio_rate1h' }],
    description: 'Share of ticks with a model prediction (SLO 99.9 %)',
  },
  { type: 'stat', title: 'Inference P99 latency', unit: 's', threshold: T.inferenceP99Seconds, targets: [{ expr: 'inference:total_latency_seconds:p99_2m' }] },
  {
    type: 'stat',
    title: 'Predictions per second',
    unit: 'reqps',
    threshold: T.predictionsPerSecondLow,
    below: true,
    targets: [{ expr: 'symbol:inference_predictions:rate2m', legendFormat: '{{symbol}}' }],
  },
  {
    type: 'timeseries',
    title: 'Predicted (10 s earlier) vs realized mid',
    unit: 'currencyUSD',
    targets: [
      { expr: `inference_predicted_price{${BY_INSTANCE}} offset 10s`, legendFormat: 'predicted {{symbol}}' },
      { expr: `inference_mid_price{${BY_INSTANCE}}`, legendFormat: 'realized {{symbol}}' },
    ],
  },
  {
    type: 'timeseries',
    title: 'Directional accuracy, rolling (model vs baseline)',
    unit: 'percentunit',
    threshold: 0.55,
    below: true,
    targets: [{ expr: `inference_rolling_accuracy{figure="directionalAccuracy",${BY_INSTANCE}}`, legendFormat: '{{predictor}} {{symbol}}' }],
  },
  { type: 'stat', title: 'Fallback share (5 m)', unit: 'percentunit', threshold: T.fallbackRatio, targets: [{ expr: 'inference:fallback:ratio_rate5m' }] },
  {
    type: 'timeseries',
    title: 'Anomalies by kind (started per 5 m)',
    unit: 'none',
    targets: [
      // every replica judges every tick (docs/anomalies.md): the maximum over replicas per symbol, then the sum over
      // symbols; a quiet market has no series at all until a kind first fires — a flat `none` line, not "No data"
      {
        expr: `sum by (kind) (max by (symbol, kind) (increase(anomaly_events_total{${BY_INSTANCE}}[5m]))) or label_replace(vector(0), "kind", "none", "", "")`,
        legendFormat: '{{kind}}',
      },
    ],
    description:
      'anomaly_events_total: each anomaly counted once when it starts, per symbol (the maximum over replicas, which all judge every tick), summed over symbols (thresholds: docs/anomalies.md; alert: AnomalyDetected)',
  },
];

const PIPELINE: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Stage latency p99: exchange → ingestor → Kinesis → aggregator → Redis → prediction',
    unit: 's',
    targets: [{ expr: 'stage:pipeline_stage_latency_seconds:p99_2m', legendFormat: '{{stage}}' }],
    description: 'pipeline_stage_latency_seconds by hop; exchange_to_prediction is the whole way (includes the wait for the next 2 s tick)',
  },
];

const INFERENCE: PanelSpec[] = [
  {
    type: 'timeseries',
    title: 'Tick latency p50 / p99',
    unit: 's',
    threshold: T.inferenceP99Seconds,
    targets: [
      { expr: 'inference:total_latency_seconds:p99_2m', legendFormat: 'p99' },
      { expr: 'inference:total_latency_seconds:p50_2m', legendFormat: 'p50' },
    ],
  },
  { type: 'timeseries', title: 'Redis read p95', unit: 's', threshold: T.redisReadP95Seconds, targets: [{ expr: 'inference:redis_read_seconds:p95_1m' }] },
  { type: 'timeseries', title: 'Model run p95', unit: 's', threshold: T.modelP95Seconds, targets: [{ expr: 'inference:model_seconds:p95_1m' }] },
  { type: 'timeseries', title: 'Feature age p95', unit: 's', threshold: T.featureAgeSeconds, targets: [{ expr: 'inference:feature_age_seconds:p95_1m' }] },
  {
    type: 'timeseries',
    title: 'Predictions by replica',
    unit: 'reqps',
    targets: [{ expr: `sum by (instance) (rate(inference_predictions_total{${BY_INSTANCE}}[2m]))`, legendFormat: '{{instance}}' }],
  },
  { type: 'timeseries', title: 'Tick outcomes', unit: 'reqps', targets: [{ expr: `sum by (outcome) (rate(inference_ticks_total{${BY_INSTANCE}}[2m]))`, legendFormat: '{{outcome}}' }] },
  { type: 'timeseries', title: 'Tick start jitter p99', unit: 's', targets: [{ expr: 'inference:tick_jitter_seconds:p99_5m' }] },
  {
    type: 'timeseries',
    title: 'Tick errors (SLO burn input)',
    unit: 'percentunit',
    threshold: 14.4 * (1 - T.availabilitySlo),
    targets: [
      { expr: 'inference:tick_errors:ratio_rate5m', legendFormat: '5m' },
      { expr: 'inference:tick_errors:ratio_rate1h', legendFormat: '1h' },
    ],
  },
  { type: 'stat', title: 'Model serving', unit: 'none', targets: [{ expr: `inference_model_info{${BY_INSTANCE}}`, legendFormat: '{{version}}' }] },
];

const AGGREGATOR: PanelSpec[] = [
  { type: 'timeseries', title: 'Feature updates per second', unit: 'reqps', targets: [{ expr: 'aggregator:feature_updates:rate5m' }] },
  {
    type: 'timeseries',
    title: 'Records processed by outcome',
    unit: 'reqps',
    targets: [{ expr: `sum by (status) (rate(aggregator_kinesis_records_processed_total{${BY_INSTANCE}}[2m]))`, legendFormat: '{{status}}' }],
  },
  { type: 'timeseries', title: 'Kinesis lag', unit: 's', threshold: T.kinesisLagSeconds, targets: [{ expr: `max(aggregator_kinesis_lag_seconds{${BY_INSTANCE}})` }] },
  { type: 'timeseries', title: 'Redis write p95', unit: 's', threshold: T.aggregatorRedisP95Seconds, targets: [{ expr: 'aggregator:redis_operation_seconds:p95_2m' }] },
  { type: 'timeseries', title: 'Batch → Redis p99', unit: 's', targets: [{ expr: 'aggregator:event_to_redis_seconds:p99_2m' }] },
  { type: 'timeseries', title: 'Shard leases held', unit: 'none', targets: [{ expr: `aggregator_shard_leases{${BY_INSTANCE}}`, legendFormat: '{{instance}}' }] },
];

const INGESTOR: PanelSpec[] = [
  { type: 'timeseries', title: 'SBE connected', unit: 'bool', threshold: 1, below: true, targets: [{ expr: `min(ingestor_sbe_connection_status{${BY_INSTANCE}})` }] },
  { type: 'timeseries', title: 'SBE messages per second', unit: 'reqps', threshold: T.sbeMessagesPerSecondLow, below: true, targets: [{ expr: 'ingestor:sbe_messages:rate1m' }] },
  { type: 'timeseries', title: 'Decode p95', unit: 's', threshold: T.sbeDecodeP95Seconds, targets: [{ expr: 'ingestor:sbe_decode_seconds:p95_1m' }] },
  { type: 'timeseries', title: 'Envelopes to Kinesis by kind', unit: 'reqps', targets: [{ expr: `sum by (kind) (rate(ingestor_envelopes_total{${BY_INSTANCE}}[2m]))`, legendFormat: '{{kind}}' }] },
  { type: 'timeseries', title: 'REST weight remaining', unit: 'none', threshold: T.restWeightRemaining, below: true, targets: [{ expr: `min(ingestor_rest_rate_limit_remaining{${BY_INSTANCE}})` }] },
  {
    type: 'timeseries',
    title: 'Gaps and re-anchors',
    unit: 'none',
    targets: [
      { expr: `sum(increase(ingestor_sbe_sequence_gaps_total{${BY_INSTANCE}}[5m])) or vector(0)`, legendFormat: 'gaps' },
      { expr: `sum by (status) (increase(aggregator_reanchor_operations_total{${BY_INSTANCE}}[5m]))`, legendFormat: 're-anchor {{status}}' },
    ],
  },
];

const INFRA: PanelSpec[] = [
  { type: 'timeseries', title: 'Redis memory used / max', unit: 'percentunit', threshold: T.redisMemoryHigh, targets: [{ expr: `redis:memory_used:ratio{${BY_INSTANCE}}` }] },
  { type: 'timeseries', title: 'Redis clients', unit: 'none', threshold: T.redisClients, targets: [{ expr: `redis_connected_clients{${BY_INSTANCE}}` }] },
  { type: 'timeseries', title: 'Redis commands per second', unit: 'reqps', targets: [{ expr: `rate(redis_commands_processed_total{${BY_INSTANCE}}[2m])` }] },
  {
    type: 'timeseries',
    title: 'Process CPU by service',
    unit: 'percentunit',
    threshold: 0.7,
    targets: [{ expr: `rate(process_cpu_seconds_total{job=~"inference|aggregator|ingestor",${BY_INSTANCE}}[2m])`, legendFormat: '{{job}}' }],
  },
  { type: 'timeseries', title: 'Event-loop lag p99 by service', unit: 's', targets: [{ expr: `nodejs_eventloop_lag_p99_seconds{${BY_INSTANCE}}`, legendFormat: '{{job}}' }] },
  { type: 'timeseries', title: 'Resident memory by service', unit: 'bytes', targets: [{ expr: `process_resident_memory_bytes{${BY_INSTANCE}}`, legendFormat: '{{job}}' }] },
];

function thresholdSteps(spec: PanelSpec): grafana.Threshold[] {
  if (spec.threshold === undefined) return [{ color: 'green', value: null }];
  return spec.below
    ? [
        { color: 'red', value: null },
        { color: 'green', value: spec.threshold },
      ]
    : [
        { color: 'green', value: null },
        { color: 'red', value: spec.threshold },
      ];
}

function query(target: Target, index: number): DataqueryBuilder {
  const builder = new DataqueryBuilder()
    .refId(String.fromCharCode(65 + index))
    .datasource(DATASOURCE)
    .expr(target.expr);
  return target.legendFormat ? builder.legendFormat(target.legendFormat) : builder;
}

function panel(spec: PanelSpec, id: number): StatPanelBuilder | TimeseriesPanelBuilder {
  const thresholds = new grafana.ThresholdsConfigBuilder().mode(grafana.ThresholdsMode.Absolute).steps(thresholdSteps(spec));
  const builder = spec.type === 'stat' ? new StatPanelBuilder() : new TimeseriesPanelBuilder();
  builder.id(id).title(spec.title).datasource(DATASOURCE).unit(spec.unit).thresholds(thresholds).targets(spec.targets.map(query));
  builder.span(PANEL_WIDTH).height(PANEL_HEIGHT);
  if (spec.description) builder.description(spec.description);
  if (builder instanceof TimeseriesPanelBuilder && spec.threshold !== undefined) {
    builder.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Line));
  }
  return builder;
}

/** `$datasource` (defaults to the provisioned Prometheus) and `$instance` (every scraped target, several or all). */
function variables(): Builder<grafana.VariableModel>[] {
  const datasource = new grafana.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus').current({ text: 'Prometheus', value: PROVISIONED_DATASOURCE_UID, selected: true });
  const instance = new grafana.QueryVariableBuilder('instance')
    .label('Instance')
    .datasource(DATASOURCE)
    .query('label_values(up, instance)')
    .refresh(grafana.VariableRefresh.OnTimeRangeChanged)
    .sort(grafana.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(ALL_INSTANCES)
    .current({ text: ['All'], value: ['$__all'], selected: true });
  return [datasource, instance];
}

/** A link to the other dashboard, carrying the time range and the variables across. */
function linkTo(title: string, uid: string): grafana.DashboardLinkBuilder {
  return new grafana.DashboardLinkBuilder(title).type(grafana.DashboardLinkType.Link).url(`/d/${uid}`).icon('dashboard').keepTime(true).includeVars(true);
}

function dashboard(uid: string, title: string, refresh: string, link: grafana.DashboardLinkBuilder): grafana.DashboardBuilder {
  return (
    new grafana.DashboardBuilder(title)
      .uid(uid)
      .tags(['hotpath', 'bitcoin'])
      .timezone('utc')
      .refresh(refresh)
      .time({ from: 'now-1h', to: 'now' })
      .variables(variables())
      // an explicit (empty) list: Grafana adds its built-in annotation query to it on load
      .annotations([])
      .link(link)
  );
}

export function dashboards(): Map<string, grafana.Dashboard> {
  const executive = dashboard(DASHBOARD_UIDS.executive, 'Hotpath — executive overview', '30s', linkTo('Technical dashboard', DASHBOARD_UIDS.technical));
  EXECUTIVE.forEach((spec, i) => {
    executive.withPanel(panel(spec, i + 1));
  });

  const technical = dashboard(DASHBOARD_UIDS.technical, 'Hotpath — technical', '10s', linkTo('Executive overview', DASHBOARD_UIDS.executive));
  const sections: [string, PanelSpec[]][] = [
    ['Pipeline', PIPELINE],
    ['Inference', INFERENCE],
    ['Aggregator', AGGREGATOR],
    ['Ingestor', INGESTOR],
    ['Infrastructure', INFRA],
  ];
  let id = 1;
  for (const [title, specs] of sections) {
    technical.withRow(new grafana.RowBuilder(title).id(id++));
    for (const spec of specs) technical.withPanel(panel(spec, id++));
  }
  return new Map([
    ['executive', executive.build()],
    ['technical', technical.build()],
  ]);
}

/**
 * Every PromQL expression on the dashboards (for the tests), with `$instance`
 * as Grafana sends it for "All" (`.*`), so Prometheus can run them.
 */
export function dashboardQueries(): string[] {
  return [EXECUTIVE, PIPELINE, INFERENCE, AGGREGATOR, INGESTOR, INFRA].flat().flatMap((p) => p.targets.map((t) => t.expr.replaceAll('$instance', ALL_INSTANCES)));
}
