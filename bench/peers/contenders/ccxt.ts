/** ccxt as a contender: ccxt.pro.binance's own WebSocket message handlers and its order book. */
import ccxt from 'ccxt';
import type { PeersData } from '../data.ts';
import { bestFromTop, type Contender, type ContenderInput, man, readFloatTrade, TOP_LEVELS } from './shared.ts';

/** The part of ccxt.pro.binance's surface the bench drives (its own WebSocket message handlers, no network). */
export interface CcxtSide extends Array<[number, number]> {
  store(price: number, amount: number): void;
}
export interface CcxtBook {
  bids: CcxtSide;
  asks: CcxtSide;
  nonce?: number;
  reset(snapshot: object): void;
}
export interface CcxtBinance {
  orderbooks: Record<string, CcxtBook>;
  orderBook(snapshot: object, depth: number): CcxtBook;
  parseOrderBook(snapshot: object, symbol: string): { nonce?: number };
  handleMessage(client: object, message: unknown): void;
  fetchRestOrderBookSafe: (symbol: string) => Promise<object>;
  fetchOrderBookSnapshot(client: object, message: unknown, subscription: object): Promise<void>;
  bidsasks: Record<string, { bid: number; bidVolume: number; ask: number; askVolume: number }>;
  trades: Record<string, { id: string; price: number; amount: number; side: string }[]>;
}

/** Top levels of a ccxt order book (sides kept sorted by its store()). */
export function topOfCcxt(book: CcxtBook, into: Float64Array): Float64Array {
  into.fill(-1);
  for (const [side, at] of [
    [book.bids, 4],
    [book.asks, 4 + 2 * TOP_LEVELS],
  ] as const) {
    const n = Math.min(TOP_LEVELS, side.length);
    for (let i = 0; i < n; i++) {
      into[at + 2 * i] = man(side[i]![0]);
      into[at + 2 * i + 1] = man(side[i]![1]);
    }
  }
  return bestFromTop(into);
}

/**
 * A ccxt.pro client stand-in. Generosity: resolve() (which wakes watchers'
 * futures in ccxt) is a no-op, so no promise work is counted.
 */
export function ccxtClient(): object {
  return {
    url: 'wss://stream.binance.com:9443/stream',
    subscriptions: {},
    resolve() {},
    reject(e: unknown) {
      throw e;
    },
  };
}

/** ccxt: JSON.parse → ccxt.pro.binance.handleMessage (its Binance handlers) → its WsOrderBook / bidsasks / trades cache. */
export function ccxtContender(data: PeersData, input: ContenderInput): Contender {
  const ex = new ccxt.pro.binance() as unknown as CcxtBinance;
  const client = ccxtClient();
  const sym = data.symbol; // safeMarket without loadMarkets(): the market id is the symbol
  let book = ex.orderBook({}, 1000);
  const out = new Float64Array(4);
  const c: Contender = {
    name: 'ccxt',
    out,
    notApplied: 0,
    async reset() {
      book = ex.orderBook({}, 1000);
      ex.orderbooks[sym] = book;
      for (const w of input.preWire) ex.handleMessage(client, JSON.parse(w));
      // ccxt's own snapshot path (reset + replay of the cached deltas by its rules), the REST call stubbed.
      ex.fetchRestOrderBookSafe = async (symbol: string) => {
        const s = ex.parseOrderBook(data.snapshot, symbol);
        s.nonce = data.snapshot.lastUpdateId;
        return s;
      };
      await ex.fetchOrderBookSnapshot(client, undefined, { symbol: sym, type: 'spot', limit: 1000, params: {} });
    },
    depth(from, to) {
      const wires = input.postWire;
      for (let i = from; i < to; i++) {
        ex.handleMessage(client, JSON.parse(wires[i]!));
        // Read as ccxt's users do, without limit() (which would sort and trim a copy).
        const b = book.bids[0];
        const a = book.asks[0];
        out[0] = b === undefined ? Number.NaN : man(b[0]);
        out[1] = b === undefined ? 0 : man(b[1]);
        out[2] = a === undefined ? Number.NaN : man(a[0]);
        out[3] = a === undefined ? 0 : man(a[1]);
      }
    },
    bookTicker(list) {
      const wires = input.bookTickerWire;
      for (let i = 0; i < list.length; i++) {
        ex.handleMessage(client, JSON.parse(wires[list[i]!]!));
        const t = ex.bidsasks[sym]!;
        out[0] = man(t.bid);
        out[1] = man(t.bidVolume);
        out[2] = man(t.ask);
        out[3] = man(t.askVolume);
      }
    },
    trade(list) {
      const wires = input.tradeWire;
      for (let i = 0; i < list.length; i++) {
        ex.handleMessage(client, JSON.parse(wires[list[i]!]!));
        const cache = ex.trades[sym]!;
        readFloatTrade(cache[cache.length - 1]!, out);
      }
    },
    top: (into) => topOfCcxt(book, into),
  };
  return c;
}
