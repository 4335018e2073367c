/** Book alone: each library's book fed its own native input, built untimed from the same JSON diffs. */
import { LocalBook } from '@hotpath/features';
import type { JsonDepthUpdate } from '@hotpath/sbe';
import ccxt from 'ccxt';
import { type BookChange, normalizeBookChanges, OrderBook as TardisBook } from 'tardis-dev';
import type { PeersData } from '../data.ts';
import { type CcxtBinance, topOfCcxt } from './ccxt.ts';
import { topOfLocalBook } from './ours.ts';
import { m8, sink, snapshotLevels } from './shared.ts';
import { topOfTardis } from './tardis.ts';

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
