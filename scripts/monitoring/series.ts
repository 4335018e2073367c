/**
 * promtool fixtures for the alert rules: series builders (counters, gauges, histograms over N
 * 15-second steps), the bucket layouts the services export, and the scrape labels of each job.
 */
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
  /** Usually the service's name; may be a label template (`{{ $labels.job }}`) for an alert on every job. */
  service: string;
  /** May name the series' labels (`{{ $labels.symbol }}`): notifications show them. */
  summary: string;
  description: string;
  runbook: string;
  /**
   * How the `value` annotation (what notifications print as the value) renders `$value`, the left operand of the
   * comparison that fired: four significant digits (default; Prometheus' humanize prints 0.2/s as "200m"),
   * humanizePercentage for ratios, humanizeDuration for seconds, humanize1024 for bytes; `none` when the value is
   * the same whenever it fires (`up == 0`, a 0/1 flag): no `value` annotation.
   */
  valueFormat?: 'number' | 'humanizePercentage' | 'humanizeDuration' | 'humanize1024' | 'none';
  /** `labels`: the fired series' labels promtool must see; `value`: the `value` annotation as rendered on the fixture (not with `none`). */
  firing: Case & { labels?: Record<string, string>; value?: string };
  quiet: Case;
}

export const N = 80; // 20 minutes of 15 s steps
export const L = (job: string) => `job="${job}",instance="${job}:1"`;
export const counter = (name: string, labels: string, perStep: number, n = N): Series => ({ series: `${name}{${labels}}`, values: `0+${perStep}x${n}` });
export const gauge = (name: string, labels: string, v: number, n = N): Series => ({ series: `${name}{${labels}}`, values: `${v}x${n}` });
/** A histogram whose observations all fall in the bucket `le` (per step: `perStep`). */
export function hist(name: string, labels: string, buckets: number[], le: number, perStep = 10, n = N): Series[] {
  const sep = labels ? ',' : '';
  return [
    ...buckets.map((b) => counter(`${name}_bucket`, `${labels}${sep}le="${b}"`, b >= le ? perStep : 0, n)),
    counter(`${name}_bucket`, `${labels}${sep}le="+Inf"`, perStep, n),
    counter(`${name}_count`, labels, perStep, n),
  ];
}
export const INFER_LAT = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
export const REDIS_READ = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02];
export const MODEL = [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1];
export const AGE = [0.5, 1, 2, 3, 5, 10, 30];
export const COMPLETE = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0];
export const AGG_REDIS = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01];
export const FEAT = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.05];
export const REANCHOR = [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
export const DECODE = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002];
export const REST = [0.1, 0.2, 0.5, 1, 2, 5];
export const INF = L('inference');
export const AGG = L('aggregator');
export const ING = L('ingestor');
export const RED = L('redis-exporter');
export const predictions = (perStep: number, n = N): Series => counter('inference_predictions_total', `${INF},symbol="BTCUSDT",fallback="false"`, perStep, n);
