export { ExchangeSimulator, type SimulatorOptions } from './simulator.ts';
export { ManualClock, systemClock, type Clock, type ClockTimer } from './clock.ts';
export { SimConfigSchema, configFromEnv, SIM_ENV, type SimConfig } from './config.ts';
export { MarketFeed, type Frame, type MarketSource, type StreamKind } from './market/feed.ts';
export { ReplayFeed } from './market/replay.ts';
export { FaultSchema, type Fault } from './faults/faults.ts';
export { SYMBOLS, type SymbolSpec } from './market/symbols.ts';
export { Rng } from './market/rng.ts';
