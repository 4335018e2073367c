/**
 * bench:peers contenders. Each takes one message kind from the raw message to
 * what a consumer reads: for depth, a maintained L2 book and its best bid/ask
 * (price and quantity); for bookTicker, the four best bid/ask figures; for a
 * trade, id, price, quantity and side. The same functions run in the
 * correctness pass (one message at a time) and timed (whole lists), so what
 * is checked is what is timed.
 *
 * Every contender leaves its last result in `out` (mantissas, exponent -8, so
 * figures compare exactly across float and integer books) and can report its
 * book's top levels (`top`).
 */
import type { LocalBook } from '@hotpath/features';
import { decimalStringToMantissa, type JsonDepthSnapshot } from '@hotpath/sbe';

/** Levels per side compared at every diff boundary. */
export const TOP_LEVELS = 20;
/** [bestBid, bestBidQty, bestAsk, bestAskQty, then TOP_LEVELS (price, qty) bids, then asks]; -1 where a side is shorter. */
export const TOP_LENGTH = 4 + 4 * TOP_LEVELS;

export type ContenderName = 'oursSbe' | 'oursJson' | 'tardis' | 'ccxt' | 'jsonParse';
export const CONTENDERS: readonly ContenderName[] = ['oursSbe', 'oursJson', 'tardis', 'ccxt', 'jsonParse'];

/** Defeats dead-code elimination: every contender adds what it read. */
export const sink = { v: 0 };

const E8 = 1e8;
export const man = (x: number): number => Math.round(x * E8);
export const m8 = (s: string): number => decimalStringToMantissa(s, -8);

export interface Contender {
  readonly name: ContenderName;
  /** Fresh book: the pre-snapshot diffs (buffered), then the snapshot (replays them). Untimed. */
  reset(): Promise<void>;
  depth(from: number, to: number): void;
  /**
   * bookTicker and trade take index lists into the inputs: measureHot's chunk
   * slicing then costs the same for every contender, and all walk the same messages.
   */
  bookTicker(list: readonly number[]): void;
  trade(list: readonly number[]): void;
  /** Last result: depth [bid, bidQty, ask, askQty]; bookTicker the same; trade [id, price, qty, buyerIsMaker]. */
  readonly out: Float64Array;
  /** Diffs after the snapshot that our book did not report 'applied' (ours only; peers have no such signal). */
  notApplied: number;
  /** Book top levels as mantissas, or undefined for the floor. */
  top(into: Float64Array): Float64Array | undefined;
}

/** Per-contender message lists (the corruption knob gives one contender its own altered copy). */
export interface ContenderInput {
  preWire: readonly string[];
  preFrame: readonly Buffer[];
  postWire: readonly string[];
  postFrame: readonly Buffer[];
  bookTickerWire: readonly string[];
  bookTickerFrame: readonly Buffer[];
  tradeWire: readonly string[];
  tradeFrame: readonly Buffer[];
}

/** What a consumer reads after each diff: best bid/ask price and quantity. */
export function readBest(book: LocalBook, out: Float64Array): void {
  out[0] = book.bestBid;
  out[1] = book.bestBidQty;
  out[2] = book.bestAsk;
  out[3] = book.bestAskQty;
}

/** Both peers normalise a trade to { id (string), price, amount (floats), side }. */
export function readFloatTrade(t: { id?: string | undefined; price: number; amount: number; side: string }, out: Float64Array): void {
  out[0] = Number(t.id);
  out[1] = man(t.price);
  out[2] = man(t.amount);
  out[3] = t.side === 'sell' ? 1 : 0;
}

/** The best bid/ask slots from the first level of each side (NaN / 0 for an empty side, as LocalBook reports). */
export function bestFromTop(into: Float64Array): Float64Array {
  const bid = 4;
  const ask = 4 + 2 * TOP_LEVELS;
  const noBid = into[bid + 1]! < 0;
  const noAsk = into[ask + 1]! < 0;
  into[0] = noBid ? Number.NaN : into[bid]!;
  into[1] = noBid ? 0 : into[bid + 1]!;
  into[2] = noAsk ? Number.NaN : into[ask]!;
  into[3] = noAsk ? 0 : into[ask + 1]!;
  return into;
}

export function snapshotLevels(s: JsonDepthSnapshot): { bids: [number, number][]; asks: [number, number][] } {
  return { bids: s.bids.map(([p, q]) => [m8(p), m8(q)]), asks: s.asks.map(([p, q]) => [m8(p), m8(q)]) };
}
