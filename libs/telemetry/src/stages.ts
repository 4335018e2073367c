/**
 * End-to-end latency of a market event, stage by stage, under one metric
 * every service shares: `pipeline_stage_latency_seconds{stage}`. Each stage
 * is one hop, so the dashboard's per-stage p99s add up to the budget:
 * exchange → ingestor receive → Kinesis ack → aggregator (record arrival →
 * batch taken) → Redis written → prediction served.
 */
import { Histogram, type Registry } from 'prom-client';

export const STAGES = ['exchange_to_ingestor', 'ingestor_to_kinesis', 'kinesis_to_aggregator', 'aggregator_to_redis', 'redis_to_prediction', 'exchange_to_prediction'] as const;
export type Stage = (typeof STAGES)[number];

export function createStageLatency(registry: Registry): Histogram<'stage'> {
  return new Histogram({
    name: 'pipeline_stage_latency_seconds',
    help: `One hop of a market event's way to a prediction (${STAGES.join(', ')}); exchange_to_prediction is the whole way`,
    labelNames: ['stage'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
}
