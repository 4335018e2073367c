export { Aggregator } from './aggregator.ts';
export type { AggregatorHealth } from './health.ts';
export { AggregatorConfigSchema, AGGREGATOR_ENV, aggregatorConfigFromEnv, type AggregatorConfig } from './config.ts';
export { formatLeaseTable, leaseTable, type LeaseTableRow } from './lease-table.ts';
