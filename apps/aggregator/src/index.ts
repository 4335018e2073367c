export { Aggregator } from './aggregator.ts';
export { AggregatorConfigSchema, AGGREGATOR_ENV, aggregatorConfigFromEnv, type AggregatorConfig } from './config.ts';
