/** The aggregator's metrics: the monitoring spec's names and base units, plus lease and latency gauges. */
import { Counter, Gauge, Histogram, createStageLatency, type Registry } from '@hotpath/telemetry';

export interface AggregatorMetrics {
  /** aggregator_kinesis_records_processed_total for one outcome, bound once per outcome. */
  recordsBy(status: string): Counter.Internal;
  redisOps: Counter<'operation' | 'key_type' | 'status'>;
  redisDuration: Histogram<'operation'>;
  redisEvents: Counter<'event'>;
  slotsMoved: Counter<never>;
  featureUpdates: Counter<never>;
  featureComputation: Histogram<never>;
  reanchors: Counter<'status'>;
  reanchorDuration: Histogram<never>;
  /** A writer's envelope identity went backwards for newer data (applied, alarmed). */
  identityRegressions: Counter<'symbol'>;
  /** Committed states in Redis that did not decode (the shard was read from its start). */
  stateRefused: Counter<never>;
  /** Leases not handed back within the stop deadline (left to expire). */
  stopIncomplete: Counter<never>;
  /** Kinesis calls of the shard readers that failed (each is retried with backoff), by the error's name. */
  kinesisErrors: Counter<'error'>;
  lag: Gauge;
  leasesHeld: Gauge;
  applyToRedis: Histogram<never>;
  /** pipeline_stage_latency_seconds, this service's two hops (bound once: observed per batch). */
  kinesisToAggregator: Histogram.Internal<'stage'>;
  aggregatorToRedis: Histogram.Internal<'stage'>;
}

export function createAggregatorMetrics(registry: Registry, stream: string): AggregatorMetrics {
  const r = [registry];
  const stages = createStageLatency(registry);
  // monitoring spec names; `status` on records is the envelope's outcome (applied, duplicate, already_applied, …)
  const records = new Counter({ name: 'aggregator_kinesis_records_processed_total', help: 'Envelopes from Kinesis by outcome', labelNames: ['stream', 'status'], registers: r });
  const byStatus = new Map<string, Counter.Internal>();
  return {
    recordsBy: (status) => {
      let c = byStatus.get(status);
      if (c === undefined) byStatus.set(status, (c = records.labels({ stream, status })));
      return c;
    },
    redisOps: new Counter({
      name: 'aggregator_redis_operations_total',
      help: 'Redis writes: commit (state + checkpoint + vector), publish (vector), set_status; status ok/stale (older than published)/fenced/error',
      labelNames: ['operation', 'key_type', 'status'],
      registers: r,
    }),
    redisDuration: new Histogram({
      name: 'aggregator_redis_operation_duration_seconds',
      help: 'Redis write round trip',
      labelNames: ['operation'],
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01],
      registers: r,
    }),
    featureUpdates: new Counter({ name: 'aggregator_feature_updates_total', help: 'Feature vectors published', registers: r }),
    featureComputation: new Histogram({
      name: 'aggregator_feature_computation_duration_seconds',
      help: 'Applying a batch of records to books and windows and computing the vectors',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.05],
      registers: r,
    }),
    reanchors: new Counter({ name: 'aggregator_reanchor_operations_total', help: 'Re-anchor operations by status', labelNames: ['status'], registers: r }),
    reanchorDuration: new Histogram({
      name: 'aggregator_reanchor_duration_seconds',
      help: 'Gap seen → new book swapped in (event time)',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers: r,
    }),
    identityRegressions: new Counter({
      name: 'aggregator_identity_regressions_total',
      help: 'Envelopes whose writer identity went backwards although newer (applied; a writer reused its id or its clock stepped back)',
      labelNames: ['symbol'],
      registers: r,
    }),
    stateRefused: new Counter({ name: 'aggregator_state_refused_total', help: 'Committed states read from Redis that did not decode (the shard was read from its start instead)', registers: r }),
    stopIncomplete: new Counter({ name: 'aggregator_stop_incomplete_total', help: 'Leases not handed back within the stop deadline (left to expire; replayed from the checkpoint)', registers: r }),
    kinesisErrors: new Counter({
      name: 'aggregator_kinesis_errors_total',
      help: 'Failed Kinesis calls of the shard readers (retried with backoff; throttling included), by error name',
      labelNames: ['error'],
      registers: r,
    }),
    redisEvents: new Counter({
      name: 'aggregator_redis_connection_events_total',
      help: 'Redis client connection events: error, node_error (a cluster node failed), node_added, node_removed, reconnecting, ready',
      labelNames: ['event'],
      registers: r,
    }),
    slotsMoved: new Counter({
      name: 'aggregator_redis_cluster_slots_moved_total',
      help: 'Cluster slots whose master changed in the client slot map (a failover, a slot migration: MOVED)',
      registers: r,
    }),
    lag: new Gauge({ name: 'aggregator_kinesis_lag_seconds', help: 'Now minus the arrival time of the newest processed record', registers: r }),
    leasesHeld: new Gauge({ name: 'aggregator_shard_leases', help: 'Shard leases held', registers: r }),
    kinesisToAggregator: stages.labels({ stage: 'kinesis_to_aggregator' }),
    aggregatorToRedis: stages.labels({ stage: 'aggregator_to_redis' }),
    applyToRedis: new Histogram({
      name: 'aggregator_event_to_redis_seconds',
      help: 'Batch handed over by GetRecords → its vectors written to Redis (the poll interval excluded)',
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: r,
    }),
  };
}

/** aggregator_fetch_worker_deaths_total, read from the worker's own count when scraped. */
export function countFetchWorkerDeaths(registry: Registry, worker: { readonly deaths: number }): void {
  let reported = 0;
  new Counter({
    name: 'aggregator_fetch_worker_deaths_total',
    help: 'Fetch worker threads that ended without being closed (their shards were given up and taken again from their checkpoints)',
    registers: [registry],
    collect() {
      if (worker.deaths > reported) this.inc(worker.deaths - reported);
      reported = worker.deaths;
    },
  });
}
