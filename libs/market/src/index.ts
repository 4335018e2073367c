export { MarketFeed, type AggTradeRecord, type FeedOptions, type Frame, type MarketSource, type StreamKind, type TradeRecord } from './feed.ts';
export { ReplayFeed } from './replay.ts';
export { DEFAULT_PARAMS, type MarketModel, type ModelParams } from './model.ts';
export { MARKET_PROFILE_NAMES, MARKET_PROFILES, type MarketProfile, type MarketProfileName } from './profiles.ts';
export type { Level } from './book.ts';
export { SYMBOLS, PRICE_EXPONENT, QTY_EXPONENT, type SymbolSpec } from './symbols.ts';
export { Rng } from './rng.ts';
export { evaluateSignal, type SignalReport } from './signal.ts';
