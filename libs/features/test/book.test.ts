/**
 * The blocked LocalBook against two references: a Map + sort (what a book
 * means) and the flat-array book it replaced (what it computed, bit for bit),
 * over random snapshot/diff sequences and over real Binance diffs.
 */
import fc from 'fast-check';
import { readRecording, spotBtcusdtRecordings } from '@hotpath/recordings';
import { decimalStringToMantissa } from '@hotpath/sbe';
import { describe, expect, it } from 'vitest';
import { LocalBook, StateFormatError, StateReader, StateWriter } from '../src/index.ts';
import { LocalBookFlat } from './support/book-flat.ts';

type Level = readonly [number, number];
type Book = LocalBook | LocalBookFlat;

/** What a book is: a map per side, sorted when read. */
class MapBook {
  readonly bids = new Map<number, number>();
  readonly asks = new Map<number, number>();
  set(bid: boolean, price: number, qty: number): void {
    const m = bid ? this.bids : this.asks;
    if (qty === 0) m.delete(price);
    else m.set(price, qty);
  }
  levels(bid: boolean): Level[] {
    return [...(bid ? this.bids : this.asks)].sort((x, y) => (bid ? y[0] - x[0] : x[0] - y[0]));
  }
}

function levelsOf(book: Book, bid: boolean, n = Number.POSITIVE_INFINITY): Level[] {
  const side = bid ? book.bids : book.asks;
  const { prices, qtys } = side;
  const out: Level[] = [];
  for (let i = 0; i < Math.min(n, side.size); i++) out.push([prices[i]!, qtys[i]!]);
  return out;
}

/** Every figure a caller reads, as one comparable record (Object.is equality through toEqual: NaN and -0 included). */
function readings(book: Book): Record<string, number> {
  const r: Record<string, number> = {
    bestBid: book.bestBid,
    bestAsk: book.bestAsk,
    bestBidQty: book.bestBidQty,
    bestAskQty: book.bestAskQty,
    bidSize: book.bids.size,
    askSize: book.asks.size,
    sane: book.isSane() ? 1 : 0,
    lastUpdateId: book.lastUpdateId,
  };
  for (const n of [0, 1, 5, 10, 20, 1000]) {
    r[`depthBid${n}`] = book.depth(true, n);
    r[`depthAsk${n}`] = book.depth(false, n);
  }
  for (const bps of [1, 10, 1000]) {
    r[`withinBid${bps}`] = book.depthWithinBps(true, bps);
    r[`withinAsk${bps}`] = book.depthWithinBps(false, bps);
  }
  return r;
}

/** Object.is over nested arrays and records (NaN equals NaN, 0 differs from -0, as toEqual). */
function sameReadings(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => sameReadings((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

type Op =
  | { kind: 'snapshot'; bids: Level[]; asks: Level[] }
  | { kind: 'diff'; levels: [boolean, number, number][] }
  /** A run of adjacent prices on one side, all set to `qty` (0: removed): fills or empties whole blocks, so splits and merges happen at every offset. */
  | { kind: 'run'; bid: boolean; from: number; count: number; stride: number; qty: number; descending: boolean }
  | { kind: 'restore' };

// prices from a narrow range so updates hit existing levels, remove absent ones, and bids cross asks
const price = fc.integer({ min: 1, max: 400 });
const qty = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000_000 }));
const level = fc.tuple(price, qty);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), bids: fc.array(level, { maxLength: 300 }), asks: fc.array(level, { maxLength: 300 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('diff' as const), levels: fc.array(fc.tuple(fc.boolean(), price, qty), { maxLength: 60 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('run' as const),
      bid: fc.boolean(),
      from: price,
      count: fc.integer({ min: 1, max: 200 }),
      stride: fc.integer({ min: 1, max: 3 }),
      qty,
      descending: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'restore' as const }) },
);

function restored(book: LocalBook): LocalBook {
  const w = new StateWriter();
  book.writeTo(w);
  const copy = new LocalBook();
  copy.readFrom(new StateReader(w.finish()));
  return copy;
}

/** Applies `o` to the books (update ids advance by one per diff, so every diff applies). */
function apply(books: Book[], o: Op, id: number): void {
  for (const book of books) {
    if (o.kind === 'snapshot') expect(book.applySnapshot(id, o.bids, o.asks)).toBe('applied');
    else if (o.kind === 'diff') {
      book.applyDiff(id, id, (set) => {
        for (const [bid, p, q] of o.levels) set(bid, p, q);
      });
    } else if (o.kind === 'run') {
      book.applyDiff(id, id, (set) => {
        for (let k = 0; k < o.count; k++) set(o.bid, o.from + (o.descending ? o.count - 1 - k : k) * o.stride, o.qty);
      });
    }
  }
}

describe('LocalBook (blocked sides)', () => {
  it('equals a Map + sort and the flat-array book after every step of random snapshots, diffs, runs and restores', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        let book = new LocalBook();
        const flat = new LocalBookFlat();
        const ref = new MapBook();
        let id = 1;
        for (const o of ops) {
          if (o.kind === 'restore') {
            if (!book.synced) continue;
            book = restored(book);
          } else {
            if (o.kind === 'snapshot') {
              ref.bids.clear();
              ref.asks.clear();
              for (const [p, q] of o.bids) ref.set(true, p, q);
              for (const [p, q] of o.asks) ref.set(false, p, q);
            } else if (!book.synced)
              continue; // diffs before the first snapshot are only buffered
            else if (o.kind === 'diff') for (const [bid, p, q] of o.levels) ref.set(bid, p, q);
            else for (let k = 0; k < o.count; k++) ref.set(o.bid, o.from + k * o.stride, o.qty);
            apply([book, flat], o, id++);
          }
          expect(levelsOf(book, true)).toEqual(ref.levels(true));
          expect(levelsOf(book, false)).toEqual(ref.levels(false));
          expect(readings(book)).toEqual(readings(flat));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('holds thousands of levels a side: grows, splits and merges down to empty and back, equal to the flat book', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 6000 }), qty), { minLength: 2000, maxLength: 12_000 }), fc.integer({ min: 1, max: 400 }), (updates, chunk) => {
        const book = new LocalBook();
        const flat = new LocalBookFlat();
        for (const b of [book, flat]) b.applySnapshot(0, [], []);
        let id = 1;
        for (let i = 0; i < updates.length; i += chunk) {
          const part = updates.slice(i, i + chunk);
          for (const b of [book, flat])
            b.applyDiff(id, id, (set) => {
              for (const [bid, p, q] of part) set(bid, p, q);
            });
          id++;
        }
        expect(levelsOf(book, true)).toEqual(levelsOf(flat, true));
        expect(levelsOf(book, false)).toEqual(levelsOf(flat, false));
        expect(readings(book)).toEqual(readings(flat));
        // everything removed, best level first (every block empties from its front), then refilled
        const all = [...levelsOf(flat, true).map(([p]) => [true, p] as const), ...levelsOf(flat, false).map(([p]) => [false, p] as const)];
        for (const b of [book, flat])
          b.applyDiff(id, id, (set) => {
            for (const [bid, p] of all) set(bid, p, 0);
          });
        id++;
        expect(book.bids.size + book.asks.size).toBe(0);
        expect(readings(book)).toEqual(readings(flat));
        for (const b of [book, flat])
          b.applyDiff(id, id, (set) => {
            for (const [bid, p, q] of updates) set(bid, p, q);
          });
        expect(levelsOf(book, true)).toEqual(levelsOf(flat, true));
        expect(levelsOf(book, false)).toEqual(levelsOf(flat, false));
        expect(readings(book)).toEqual(readings(flat));
      }),
      { numRuns: 15 },
    );
  });

  it('a restored state whose side is out of order is refused, not loaded', () => {
    const book = new LocalBook();
    book.applySnapshot(7, [[10, 1]], [[11, 1]]);
    const w = new StateWriter();
    w.f64(7).f64s([10, 12]).f64s([1, 1]).f64s([11]).f64s([1]).u32(0).f64(0);
    expect(() => new LocalBook().readFrom(new StateReader(w.finish()))).toThrow(StateFormatError);
    const ok = new StateWriter();
    ok.f64(7).f64s([12, 10]).f64s([1, 2]).f64s([11, 13]).f64s([3, 4]).u32(0).f64(0);
    const restoredBook = new LocalBook();
    restoredBook.readFrom(new StateReader(ok.finish()));
    expect(levelsOf(restoredBook, true)).toEqual([
      [12, 1],
      [10, 2],
    ]);
    expect(levelsOf(restoredBook, false)).toEqual([
      [11, 3],
      [13, 4],
    ]);
  });
});

describe('LocalBook on real Binance diffs', () => {
  it('equals the flat-array book after every diff: the whole book, its top 20 a side, and every reading', () => {
    const book = new LocalBook();
    const flat = new LocalBookFlat();
    let diffs = 0;
    let deepest = 0;
    for (const file of spotBtcusdtRecordings().files) {
      for (const l of readRecording(file)) {
        const d = l.data as { e?: string; U: number; u: number; b: [string, string][]; a: [string, string][]; lastUpdateId?: number; bids: [string, string][]; asks: [string, string][] };
        const m = (levels: [string, string][]): Level[] => levels.map(([p, q]) => [decimalStringToMantissa(p, -8), decimalStringToMantissa(q, -8)]);
        if (l.stream === 'snapshot') {
          const bids = m(d.bids);
          const asks = m(d.asks);
          for (const b of [book, flat]) b.applySnapshot(d.lastUpdateId!, bids, asks);
        } else if (d.e === 'depthUpdate') {
          const bids = m(d.b);
          const asks = m(d.a);
          const results = [book, flat].map((b) =>
            b.applyDiff(d.U, d.u, (set) => {
              for (const [p, q] of bids) set(true, p, q);
              for (const [p, q] of asks) set(false, p, q);
            }),
          );
          expect(results[0]).toBe(results[1]);
          diffs++;
        } else continue;
        // one expect per diff only when something differs: vitest's deep equality on every diff dominates the run
        const got = [levelsOf(book, true, 20), levelsOf(book, false, 20), readings(book)];
        const want = [levelsOf(flat, true, 20), levelsOf(flat, false, 20), readings(flat)];
        if (!sameReadings(got, want)) expect({ diff: diffs, got }).toEqual({ diff: diffs, got: want });
        deepest = Math.max(deepest, book.bids.size, book.asks.size);
      }
      // the whole book, level by level, at the end of each file (every diff would be slow at ~5,000 levels)
      expect(levelsOf(book, true)).toEqual(levelsOf(flat, true));
      expect(levelsOf(book, false)).toEqual(levelsOf(flat, false));
    }
    expect(diffs).toBeGreaterThan(1000);
    expect(deepest).toBeGreaterThan(1000); // deep enough for many blocks a side
  });
});
