export { ExchangeSimulator } from './simulator.ts';
export { SimConfigSchema, configFromEnv, SIM_ENV, type SimConfig } from './config.ts';
export { MarketFeed, type Frame, type MarketSource, type StreamKind } from './market/feed.ts';
export { ReplayFeed } from './market/replay.ts';
export { FaultSchema, type Fault } from './faults/faults.ts';
export { SYMBOLS, type SymbolSpec } from './market/symbols.ts';
export { Rng } from './market/rng.ts';
