export { Aggregator, AggregatorConfigSchema, type AggregatorConfig } from './aggregator.ts';
export { SymbolProcessor } from './symbol.ts';
