export { Aggregator } from './aggregator.ts';
export { AggregatorConfigSchema, type AggregatorConfig } from './config.ts';
export { SymbolProcessor } from './symbol.ts';
