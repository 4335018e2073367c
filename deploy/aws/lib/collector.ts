/**
 * The telemetry path on AWS: an AWS Distro for OpenTelemetry (ADOT) collector beside each service container.
 *
 * - Metrics: it scrapes the service's /metrics over the task's loopback — the way prometheus/prometheus.yml
 *   scrapes compose, same job names and intervals, so prometheus/rules work unchanged — and remote-writes
 *   the samples to Amazon Managed Prometheus, signed (SigV4) with the task's role.
 * - Traces: it receives the service's spans (OTLP over HTTP, the JSON encoding libs/tracing sends) on the
 *   task's loopback and sends them to AWS X-Ray (PutTraceSegments), with the same role.
 *
 * Scraping and receiving inside the task needs no discovery, no port open between tasks and no role that
 * may list the cluster's tasks. Each replica is told apart by its task ARN as the `instance` label (every
 * replica's target is 127.0.0.1:<port>).
 */
import { stringify } from 'yaml';

/** The job names and scrape intervals of prometheus/prometheus.yml (the monitoring spec: the hot path at 5 s). */
export const SCRAPE_INTERVAL_S = { ingestor: 10, aggregator: 10, inference: 5 } as const;

/**
 * Where the collector takes OTLP/HTTP. Loopback, not 0.0.0.0: the containers of an awsvpc task share one
 * network namespace, so the service reaches it on 127.0.0.1 and nothing outside the task can (no security
 * group rule would let it, and this does not rely on one). 127.0.0.1 rather than `localhost` in the
 * service's URL: Node may resolve `localhost` to ::1 first, where nothing listens.
 */
export const OTLP_HTTP_ENDPOINT = '127.0.0.1:4318';
/** The services' OTEL_EXPORTER_OTLP_ENDPOINT: they post to `<it>/v1/traces` (libs/tracing). */
export const OTLP_ENDPOINT_URL = `http://${OTLP_HTTP_ENDPOINT}`;

/**
 * Span attributes X-Ray indexes as annotations (filter expressions: `annotation.symbol = "BTCUSDT"`).
 * Named, not `index_all_attributes`: that would index every resource attribute too, against X-Ray's 50
 * annotations per segment; the rest arrive as metadata (shown in the segment, not searchable).
 */
export const XRAY_INDEXED_ATTRIBUTES = ['symbol', 'message_type', 'outcome'] as const;

/**
 * Each service's local roots: the spans that start its part of a trace, with no parent or one in another
 * process (docs/tracing.md, Spans). X-Ray draws one node per segment name, and the awsxray exporter makes a
 * segment of a span only when it is SERVER, parentless, or marked `aws.span.kind=LOCAL_ROOT` (then named
 * after `aws.local.service`); every other span is a subsegment of the segment above it. The services' spans
 * are INTERNAL, so unmarked the aggregator's would be subsegments of the ingestor's `kinesis put` (no
 * aggregator node, no edge) and each root a node named after its span. Marked here, by name: the trace
 * map shows ingestor → aggregator, and inference. A root span not listed is still exported, as a node of
 * its own name; test/resources.test.ts checks each name is one its service's code starts.
 */
export const LOCAL_ROOT_SPANS = {
  ingestor: ['ingestor frame', 're-anchor', 'trade backfill'],
  aggregator: ['kinesis wait', 'aggregator apply'],
  inference: ['inference tick'],
} as const satisfies Record<keyof typeof SCRAPE_INTERVAL_S, readonly string[]>;

/** Copied from prometheus.yml's `global.external_labels`, so recorded series look the same in both. */
const EXTERNAL_LABELS = { cluster: 'hotpath' };

export interface CollectorOptions {
  /** Receive the service's spans and send them to X-Ray (off when the deployment's tracesSampleRatio is 0). */
  traces: boolean;
}

/**
 * The collector's configuration (passed in AOT_CONFIG_CONTENT). It holds no token: the remote-write URL
 * and region come from the sidecar's environment (`${env:…}`), so this is plain, testable YAML.
 */
export function collectorConfig(job: keyof typeof SCRAPE_INTERVAL_S, port: number, options: CollectorOptions = { traces: true }): string {
  const interval = `${SCRAPE_INTERVAL_S[job]}s`;
  const metrics = { receivers: ['prometheus'], processors: ['resourcedetection', 'resource', 'batch'], exporters: ['prometheusremotewrite'] };
  // memory_limiter first: past its limit the receiver answers the service's export with an error (the
  // service counts the batch as dropped, export_failed) instead of the sidecar growing without bound
  const traces = { receivers: ['otlp'], processors: ['memory_limiter', 'resourcedetection', 'attributes/local-root', 'batch/traces'], exporters: ['awsxray'] };
  return stringify({
    extensions: { sigv4auth: { region: '${env:AWS_REGION}', service: 'aps' } },
    receivers: {
      prometheus: {
        config: {
          global: { scrape_interval: interval, scrape_timeout: `${Math.min(SCRAPE_INTERVAL_S[job], 5) - 1}s` },
          scrape_configs: [{ job_name: job, scrape_interval: interval, metrics_path: '/metrics', static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
        },
      },
      ...(options.traces ? { otlp: { protocols: { http: { endpoint: OTLP_HTTP_ENDPOINT } } } } : {}),
    },
    processors: {
      // the task's ARN (from the ECS task metadata endpoint) becomes `instance`; on spans, the resource
      // attributes (cloud.platform aws_ecs, launch type) make X-Ray's origin AWS::ECS::Fargate
      resourcedetection: { detectors: ['env', 'ecs'], timeout: '5s', override: false },
      resource: { attributes: [{ key: 'service.instance.id', from_attribute: 'aws.ecs.task.arn', action: 'upsert' }] },
      batch: { timeout: '5s', send_batch_size: 2000 },
      ...(options.traces
        ? {
            // the sidecar's 128 MiB reservation: refuse spans from 100 MiB of heap, hold 25 MiB for spikes
            memory_limiter: { check_interval: '1s', limit_mib: 100, spike_limit_mib: 25 },
            'attributes/local-root': {
              include: { match_type: 'strict', span_names: [...LOCAL_ROOT_SPANS[job]] },
              actions: [
                { key: 'aws.span.kind', value: 'LOCAL_ROOT', action: 'insert' },
                // the services' default OTEL_SERVICE_NAME: every ingestor task (one per symbol group) is one node
                { key: 'aws.local.service', value: job, action: 'insert' },
              ],
            },
            'batch/traces': { timeout: '5s', send_batch_size: 500 },
          }
        : {}),
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
      ...(options.traces ? { awsxray: { region: '${env:AWS_REGION}', indexed_attributes: [...XRAY_INDEXED_ATTRIBUTES], index_all_attributes: false } } : {}),
    },
    service: {
      extensions: ['sigv4auth'],
      pipelines: options.traces ? { metrics, traces } : { metrics },
      telemetry: { logs: { level: 'warn' } },
    },
  });
}
