/** tardis-dev as a contender: its Binance mappers and its OrderBook. */
import { type BookTicker, normalizeBookChanges, normalizeBookTickers, normalizeTrades, OrderBook as TardisBook, type Trade as TardisTrade } from 'tardis-dev';
import type { PeersData } from '../data.ts';
import { bestFromTop, type Contender, type ContenderInput, man, readFloatTrade, TOP_LEVELS } from './shared.ts';

/** Top levels of tardis-dev's OrderBook (float levels, read in order from its trees). */
export function topOfTardis(book: TardisBook, into: Float64Array): Float64Array {
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
