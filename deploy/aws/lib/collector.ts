/**
 * The metrics path on AWS: an AWS Distro for OpenTelemetry (ADOT) collector beside each service container
 * scrapes its /metrics over the task's loopback — the way prometheus/prometheus.yml scrapes compose, same
 * job names and intervals, so prometheus/rules work unchanged — and remote-writes the samples to Amazon
 * Managed Prometheus, signed (SigV4) with the task's role.
 *
 * Scraping from inside the task needs no discovery, no port open between tasks and no role that may
 * list the cluster's tasks (which would need `Resource: *`). Each replica is told apart by its task ARN
 * as the `instance` label (every replica's target is 127.0.0.1:<port>).
 */
import { stringify } from 'yaml';

/** The job names and scrape intervals of prometheus/prometheus.yml (the monitoring spec: the hot path at 5 s). */
export const SCRAPE_INTERVAL_S = { ingestor: 10, aggregator: 10, inference: 5 } as const;

/** Copied from prometheus.yml's `global.external_labels`, so recorded series look the same in both. */
const EXTERNAL_LABELS = { cluster: 'hotpath' };

/**
 * The collector's configuration (passed in AOT_CONFIG_CONTENT). It holds no token: the remote-write URL
 * and region come from the sidecar's environment (`${env:…}`), so this is plain, testable YAML.
 */
export function collectorConfig(job: keyof typeof SCRAPE_INTERVAL_S, port: number): string {
  const interval = `${SCRAPE_INTERVAL_S[job]}s`;
  return stringify({
    extensions: { sigv4auth: { region: '${env:AWS_REGION}', service: 'aps' } },
    receivers: {
      prometheus: {
        config: {
          global: { scrape_interval: interval, scrape_timeout: `${Math.min(SCRAPE_INTERVAL_S[job], 5) - 1}s` },
          scrape_configs: [{ job_name: job, scrape_interval: interval, metrics_path: '/metrics', static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
        },
      },
    },
    processors: {
      // the task's ARN (from the ECS task metadata endpoint) becomes `instance`
      resourcedetection: { detectors: ['env', 'ecs'], timeout: '5s', override: false },
      resource: { attributes: [{ key: 'service.instance.id', from_attribute: 'aws.ecs.task.arn', action: 'upsert' }] },
      batch: { timeout: '5s', send_batch_size: 2000 },
    },
    exporters: {
      prometheusremotewrite: {
        endpoint: '${env:AMP_REMOTE_WRITE_URL}',
        auth: { authenticator: 'sigv4auth' },
        external_labels: EXTERNAL_LABELS,
        // a bounded queue: an AMP outage drops the oldest samples, never the task's memory
        remote_write_queue: { enabled: true, queue_size: 10000, num_consumers: 2 },
        timeout: '10s',
      },
    },
    service: {
      extensions: ['sigv4auth'],
      pipelines: { metrics: { receivers: ['prometheus'], processors: ['resourcedetection', 'resource', 'batch'], exporters: ['prometheusremotewrite'] } },
      telemetry: { logs: { level: 'warn' } },
    },
  });
}
