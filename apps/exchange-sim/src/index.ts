export { ExchangeSimulator } from './simulator.ts';
export { SimConfigSchema, configFromEnv, type SimConfig } from './config.ts';
export { MarketFeed, type Frame, type StreamKind } from './market/feed.ts';
export { FaultSchema, type Fault } from './faults/faults.ts';
export { SYMBOLS, type SymbolSpec } from './market/symbols.ts';
