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
import { LocalBook } from '@hotpath/features';
import { DecodeStatus, decimalStringToMantissa, hotpath, type JsonDepthSnapshot, type JsonDepthUpdate, spot } from '@hotpath/sbe';
import ccxt from 'ccxt';
import { type BookChange, type BookTicker, normalizeBookChanges, normalizeBookTickers, normalizeTrades, OrderBook as TardisBook, type Trade as TardisTrade } from 'tardis-dev';
import type { PeersData } from './data.ts';

/** Levels per side compared at every diff boundary. */
export const TOP_LEVELS = 20;
/** [bestBid, bestBidQty, bestAsk, bestAskQty, then TOP_LEVELS (price, qty) bids, then asks]; -1 where a side is shorter. */
export const TOP_LENGTH = 4 + 4 * TOP_LEVELS;

export type ContenderName = 'oursSbe' | 'oursJson' | 'tardis' | 'ccxt' | 'jsonParse';
export const CONTENDERS: readonly ContenderName[] = ['oursSbe', 'oursJson', 'tardis', 'ccxt', 'jsonParse'];

/** Defeats dead-code elimination: every contender adds what it read. */
export const sink = { v: 0 };

const E8 = 1e8;
const man = (x: number): number => Math.round(x * E8);
const m8 = (s: string): number => decimalStringToMantissa(s, -8);

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
function readBest(book: LocalBook, out: Float64Array): void {
  out[0] = book.bestBid;
  out[1] = book.bestBidQty;
  out[2] = book.bestAsk;
  out[3] = book.bestAskQty;
}

/** Both peers normalise a trade to { id (string), price, amount (floats), side }. */
function readFloatTrade(t: { id?: string | undefined; price: number; amount: number; side: string }, out: Float64Array): void {
  out[0] = Number(t.id);
  out[1] = man(t.price);
  out[2] = man(t.amount);
  out[3] = t.side === 'sell' ? 1 : 0;
}

/** Top levels of our LocalBook (already mantissas). */
function topOfLocalBook(b: LocalBook, into: Float64Array): Float64Array {
  into.fill(-1);
  into[0] = b.bestBid;
  into[1] = b.bestBidQty;
  into[2] = b.bestAsk;
  into[3] = b.bestAskQty;
  for (const [side, at] of [
    [b.bids, 4],
    [b.asks, 4 + 2 * TOP_LEVELS],
  ] as const) {
    const n = Math.min(TOP_LEVELS, side.size);
    const p = side.prices;
    const q = side.qtys;
    for (let i = 0; i < n; i++) {
      into[at + 2 * i] = p[i]!;
      into[at + 2 * i + 1] = q[i]!;
    }
  }
  return into;
}

/** Top levels of tardis-dev's OrderBook (float levels, read in order from its trees). */
function topOfTardis(book: TardisBook, into: Float64Array): Float64Array {
  into.fill(-1);
  for (const [levels, at] of [
    [book.bids(), 4],
    [book.asks(), 4 + 2 * TOP_LEVELS],
  ] as const) {
    let k = 0;
    for (const l of levels) {
      if (k === TOP_LEVELS) break;
      into[at + 2 * k] = man(l.price);
      into[at + 2 * k + 1] = man(l.amount);
      k++;
    }
  }
  return bestFromTop(into);
}

/** Top levels of a ccxt order book (sides kept sorted by its store()). */
function topOfCcxt(book: CcxtBook, into: Float64Array): Float64Array {
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

/** The best bid/ask slots from the first level of each side (NaN / 0 for an empty side, as LocalBook reports). */
function bestFromTop(into: Float64Array): Float64Array {
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

function snapshotLevels(s: JsonDepthSnapshot): { bids: [number, number][]; asks: [number, number][] } {
  return { bids: s.bids.map(([p, q]) => [m8(p), m8(q)]), asks: s.asks.map(([p, q]) => [m8(p), m8(q)]) };
}

/** Us: SBE frame → generated decoder (full validation) → LocalBook, read as mantissas. */
export function oursSbe(data: PeersData, input: ContenderInput): Contender {
  const dec = new spot.SpotStreamDecoder();
  const snapDec = new hotpath.DepthSnapshotDecoder();
  let book = new LocalBook();
  const out = new Float64Array(4);
  let d: spot.DepthDiffStreamEventDecoder;
  // One closure for the process, not one per message.
  const levels = (set: (bid: boolean, price: number, qty: number) => void): void => {
    const b = d.bids();
    while (b.next()) set(true, b.priceMantissa, b.qtyMantissa);
    const a = d.asks();
    while (a.next()) set(false, a.priceMantissa, a.qtyMantissa);
  };
  const wrap = (f: Buffer): void => {
    if (dec.wrap(f, 0, f.length) !== DecodeStatus.Ok) throw new Error(`oursSbe: decode failed: ${dec.error()?.message}`);
  };
  const c: Contender = {
    name: 'oursSbe',
    out,
    notApplied: 0,
    async reset() {
      book = new LocalBook();
      for (const f of input.preFrame) {
        wrap(f);
        d = dec.depthDiffStreamEvent;
        book.applyDiff(d.firstBookUpdateId, d.lastBookUpdateId, levels);
      }
      if (snapDec.wrap(data.snapshotFrame, 0, data.snapshotFrame.length) !== DecodeStatus.Ok) throw new Error('oursSbe: snapshot decode failed');
      const bids: [number, number][] = [];
      const asks: [number, number][] = [];
      const b = snapDec.bids();
      while (b.next()) bids.push([b.priceMantissa, b.qtyMantissa]);
      const a = snapDec.asks();
      while (a.next()) asks.push([a.priceMantissa, a.qtyMantissa]);
      if (book.applySnapshot(snapDec.lastUpdateId, bids, asks) !== 'applied') throw new Error('oursSbe: snapshot did not apply');
    },
    depth(from, to) {
      const frames = input.postFrame;
      for (let i = from; i < to; i++) {
        wrap(frames[i]!);
        d = dec.depthDiffStreamEvent;
        if (book.applyDiff(d.firstBookUpdateId, d.lastBookUpdateId, levels) !== 'applied') c.notApplied++;
        readBest(book, out);
      }
    },
    bookTicker(list) {
      const frames = input.bookTickerFrame;
      for (let i = 0; i < list.length; i++) {
        wrap(frames[list[i]!]!);
        const e = dec.bestBidAskStreamEvent;
        out[0] = e.bidPriceMantissa;
        out[1] = e.bidQtyMantissa;
        out[2] = e.askPriceMantissa;
        out[3] = e.askQtyMantissa;
        sink.v += e.bookUpdateId;
      }
    },
    trade(list) {
      const frames = input.tradeFrame;
      for (let i = 0; i < list.length; i++) {
        wrap(frames[list[i]!]!);
        const g = dec.tradesStreamEvent.trades();
        while (g.next()) {
          out[0] = g.id;
          out[1] = g.priceMantissa;
          out[2] = g.qtyMantissa;
          out[3] = g.isBuyerMaker;
        }
      }
    },
    top: (into) => topOfLocalBook(book, into),
  };
  return c;
}

/** Us on JSON: JSON.parse → exact decimal strings to mantissas → LocalBook. */
export function oursJson(data: PeersData, input: ContenderInput): Contender {
  let book = new LocalBook();
  const out = new Float64Array(4);
  let d: JsonDepthUpdate;
  const levels = (set: (bid: boolean, price: number, qty: number) => void): void => {
    const b = d.b;
    for (let i = 0; i < b.length; i++) set(true, m8(b[i]![0]), m8(b[i]![1]));
    const a = d.a;
    for (let i = 0; i < a.length; i++) set(false, m8(a[i]![0]), m8(a[i]![1]));
  };
  const c: Contender = {
    name: 'oursJson',
    out,
    notApplied: 0,
    async reset() {
      book = new LocalBook();
      for (const w of input.preWire) {
        d = JSON.parse(w).data;
        book.applyDiff(d.U, d.u, levels);
      }
      const s = snapshotLevels(data.snapshot);
      if (book.applySnapshot(data.snapshot.lastUpdateId, s.bids, s.asks) !== 'applied') throw new Error('oursJson: snapshot did not apply');
    },
    depth(from, to) {
      const wires = input.postWire;
      for (let i = from; i < to; i++) {
        d = JSON.parse(wires[i]!).data;
        if (book.applyDiff(d.U, d.u, levels) !== 'applied') c.notApplied++;
        readBest(book, out);
      }
    },
    bookTicker(list) {
      const wires = input.bookTickerWire;
      for (let i = 0; i < list.length; i++) {
        const t = JSON.parse(wires[list[i]!]!).data;
        out[0] = m8(t.b);
        out[1] = m8(t.B);
        out[2] = m8(t.a);
        out[3] = m8(t.A);
        sink.v += t.u;
      }
    },
    trade(list) {
      const wires = input.tradeWire;
      for (let i = 0; i < list.length; i++) {
        const t = JSON.parse(wires[list[i]!]!).data;
        out[0] = t.t;
        out[1] = m8(t.p);
        out[2] = m8(t.q);
        out[3] = t.m ? 1 : 0;
      }
    },
    top: (into) => topOfLocalBook(book, into),
  };
  return c;
}

/**
 * tardis-dev: JSON.parse → its Binance mappers (normalizeBookChanges /
 * normalizeBookTickers / normalizeTrades) → its OrderBook. Generosity: one
 * shared Date as the local timestamp (a live consumer makes one per message).
 */
export function tardis(data: PeersData, input: ContenderInput): Contender {
  // A past date: the mapper treats the feed as historical (overlap errors logged, not thrown), as a replay is.
  const local = new Date(data.firstLocalMs);
  let mapper = normalizeBookChanges('binance', local);
  let book = new TardisBook();
  const tickers = normalizeBookTickers('binance', local);
  const trades = normalizeTrades('binance', local);
  const out = new Float64Array(4);
  const c: Contender = {
    name: 'tardis',
    out,
    notApplied: 0,
    async reset() {
      mapper = normalizeBookChanges('binance', local);
      book = new TardisBook();
      for (const w of input.preWire) for (const ch of mapper.map(JSON.parse(w), local) ?? []) book.update(ch);
      // tardis's own recordings carry the REST snapshot as the pseudo-stream `<symbol>@depthSnapshot`; the mapper
      // merges buffered diffs into `data` (mutates it), hence a copy.
      const snap = { stream: `${data.symbol.toLowerCase()}@depthSnapshot`, data: structuredClone(data.snapshot) };
      for (const ch of mapper.map(snap, local) ?? []) book.update(ch);
    },
    depth(from, to) {
      const wires = input.postWire;
      for (let i = from; i < to; i++) {
        const changes = mapper.map(JSON.parse(wires[i]!), local);
        if (changes !== undefined) for (const ch of changes) book.update(ch);
        const bb = book.bestBid();
        const ba = book.bestAsk();
        out[0] = bb === undefined ? Number.NaN : man(bb.price);
        out[1] = bb === undefined ? 0 : man(bb.amount);
        out[2] = ba === undefined ? Number.NaN : man(ba.price);
        out[3] = ba === undefined ? 0 : man(ba.amount);
      }
    },
    bookTicker(list) {
      const wires = input.bookTickerWire;
      for (let i = 0; i < list.length; i++) {
        const it = tickers.map(JSON.parse(wires[list[i]!]!), local);
        if (it === undefined) continue;
        for (const t of it as IterableIterator<BookTicker>) {
          out[0] = man(t.bidPrice ?? Number.NaN);
          out[1] = man(t.bidAmount ?? Number.NaN);
          out[2] = man(t.askPrice ?? Number.NaN);
          out[3] = man(t.askAmount ?? Number.NaN);
        }
      }
    },
    trade(list) {
      const wires = input.tradeWire;
      for (let i = 0; i < list.length; i++) {
        const it = trades.map(JSON.parse(wires[list[i]!]!), local);
        if (it === undefined) continue;
        for (const t of it as IterableIterator<TardisTrade>) readFloatTrade(t, out);
      }
    },
    top: (into) => topOfTardis(book, into),
  };
  return c;
}

/** The part of ccxt.pro.binance's surface the bench drives (its own WebSocket message handlers, no network). */
interface CcxtSide extends Array<[number, number]> {
  store(price: number, amount: number): void;
}
interface CcxtBook {
  bids: CcxtSide;
  asks: CcxtSide;
  nonce?: number;
  reset(snapshot: object): void;
}
interface CcxtBinance {
  orderbooks: Record<string, CcxtBook>;
  orderBook(snapshot: object, depth: number): CcxtBook;
  parseOrderBook(snapshot: object, symbol: string): { nonce?: number };
  handleMessage(client: object, message: unknown): void;
  fetchRestOrderBookSafe: (symbol: string) => Promise<object>;
  fetchOrderBookSnapshot(client: object, message: unknown, subscription: object): Promise<void>;
  bidsasks: Record<string, { bid: number; bidVolume: number; ask: number; askVolume: number }>;
  trades: Record<string, { id: string; price: number; amount: number; side: string }[]>;
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

/** The floor: JSON.parse of the recorded message and one field read; no book, no conversion. */
export function jsonParseFloor(_data: PeersData, input: ContenderInput): Contender {
  const out = new Float64Array(4);
  const parse = (wires: readonly string[], list: readonly number[]): void => {
    for (let i = 0; i < list.length; i++) sink.v += JSON.parse(wires[list[i]!]!).data.s.length;
  };
  return {
    name: 'jsonParse',
    out,
    notApplied: 0,
    async reset() {},
    depth(from, to) {
      const wires = input.postWire;
      for (let i = from; i < to; i++) sink.v += JSON.parse(wires[i]!).data.s.length;
    },
    bookTicker: (list) => parse(input.bookTickerWire, list),
    trade: (list) => parse(input.tradeWire, list),
    top: () => undefined,
  };
}

export const FACTORIES: Record<ContenderName, (data: PeersData, input: ContenderInput) => Contender> = {
  oursSbe,
  oursJson,
  tardis,
  ccxt: ccxtContender,
  jsonParse: jsonParseFloor,
};

// ---------------------------------------------------------------------------
// Book alone: each library's book fed its own native input, built untimed from the same JSON diffs.

export interface BookAlone {
  readonly name: 'ours' | 'tardis' | 'ccxt';
  reset(): void;
  /** Diffs [from, to) of the list bookAloneDiffs() makes. */
  run(from: number, to: number): void;
  top(into: Float64Array): Float64Array;
}

/**
 * The diffs each book can apply after the snapshot: the bridging one (recorded
 * before the snapshot) and every later one, as the documented procedure keeps them.
 */
function bookAloneDiffs(data: PeersData): JsonDepthUpdate[] {
  const last = data.snapshot.lastUpdateId;
  return [...data.pre, ...data.post].map((m) => m.data).filter((d) => d.u > last);
}

export function bookAloneContenders(data: PeersData): BookAlone[] {
  const diffs = bookAloneDiffs(data);
  // ours: flat (bid?1:0, price mantissa, qty mantissa) per diff
  const oursIn = diffs.map((d) => {
    const f: number[] = [];
    for (const [p, q] of d.b) f.push(1, m8(p), m8(q));
    for (const [p, q] of d.a) f.push(0, m8(p), m8(q));
    return { U: d.U, u: d.u, f: Float64Array.from(f) };
  });
  const snap = snapshotLevels(data.snapshot);
  let ours = new LocalBook();
  let cur = oursIn[0]!.f;
  const levels = (set: (bid: boolean, price: number, qty: number) => void): void => {
    const f = cur;
    for (let i = 0; i < f.length; i += 3) set(f[i] === 1, f[i + 1]!, f[i + 2]!);
  };
  // tardis: its BookChange objects, made by its mapper (synced on the snapshot first)
  const local = new Date(data.firstLocalMs);
  const tm = normalizeBookChanges('binance', local);
  const stream = `${data.symbol.toLowerCase()}@depthSnapshot`;
  const tSnap = [...(tm.map({ stream, data: structuredClone(data.snapshot) }, local) ?? [])] as BookChange[];
  const tIn = diffs.map((d) => [...(tm.map({ stream: data.stream, data: structuredClone(d) }, local) ?? [])] as BookChange[]);
  let tBook = new TardisBook();
  // ccxt: [price, amount] numbers, stored as its handleDelta does
  const ex = new ccxt.pro.binance() as unknown as CcxtBinance;
  const cIn = diffs.map((d) => ({ b: d.b.map(([p, q]) => [Number(p), Number(q)] as const), a: d.a.map(([p, q]) => [Number(p), Number(q)] as const) }));
  let cBook = ex.orderBook({}, 1000);
  return [
    {
      name: 'ours',
      reset() {
        ours = new LocalBook();
        ours.applySnapshot(data.snapshot.lastUpdateId, snap.bids, snap.asks);
      },
      run(from, to) {
        for (let i = from; i < to; i++) {
          const d = oursIn[i]!;
          cur = d.f;
          ours.applyDiff(d.U, d.u, levels);
          sink.v += ours.bestBid + ours.bestBidQty + ours.bestAsk + ours.bestAskQty;
        }
      },
      top: (into) => topOfLocalBook(ours, into),
    },
    {
      name: 'tardis',
      reset() {
        tBook = new TardisBook();
        for (const c of tSnap) tBook.update(c);
      },
      run(from, to) {
        for (let i = from; i < to; i++) {
          for (const c of tIn[i]!) tBook.update(c);
          sink.v += tBook.bestBid()!.price + tBook.bestBid()!.amount + tBook.bestAsk()!.price + tBook.bestAsk()!.amount;
        }
      },
      top: (into) => topOfTardis(tBook, into),
    },
    {
      name: 'ccxt',
      reset() {
        cBook = ex.orderBook({}, 1000);
        // reset() keeps the snapshot's [price, amount] arrays as the book's levels (and later updates write into
        // them): a fresh parse per repetition, as fetchOrderBookSnapshot does.
        cBook.reset(ex.parseOrderBook(data.snapshot, data.symbol));
      },
      run(from, to) {
        for (let i = from; i < to; i++) {
          const d = cIn[i]!;
          for (const x of d.a) cBook.asks.store(x[0], x[1]);
          for (const x of d.b) cBook.bids.store(x[0], x[1]);
          sink.v += cBook.bids[0]![0] + cBook.bids[0]![1] + cBook.asks[0]![0] + cBook.asks[0]![1];
        }
      },
      top: (into) => topOfCcxt(cBook, into),
    },
  ];
}

export const bookAloneDiffCount = (data: PeersData): number => bookAloneDiffs(data).length;
