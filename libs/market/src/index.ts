export { MarketFeed, type AggTradeRecord, type FeedOptions, type Frame, type MarketSource, type StreamKind, type TradeRecord } from './feed.ts';
export { ReplayFeed } from './replay.ts';
export type { MarketModel, ModelParams } from './model.ts';
export type { Level } from './book.ts';
export { SYMBOLS, PRICE_EXPONENT, QTY_EXPONENT, type SymbolSpec } from './symbols.ts';
export { Rng } from './rng.ts';
export { evaluateSignal, type SignalReport } from './signal.ts';
