/**
 * pnpm bench:book — cost of one real Binance depth diff applied to the local
 * order book: LocalBook (blocked sides, libs/features/src/book-side.ts) against
 * LocalBookFlat (the flat sorted arrays it replaced, kept in
 * libs/features/test/support/book-flat.ts), in the same process, on the same
 * diffs (hftbacktest spot BTCUSDT: the shared window when mounted, else the
 * committed fixture; ~46 levels a diff, ~2,000 bid / ~3,000 ask levels).
 *
 * Two paths, each replayed whole (snapshot, then every diff in order: a book
 * is stateful) once per round, rounds interleaved flat / blocked so machine
 * noise hits both alike; median and best round reported, and the ratio of
 * the medians:
 *  - `book`: levels already parsed into mantissas, only the book's work;
 *  - `sbe_book`: each diff's SBE frame (what Binance sends) wrapped, its
 *    levels iterated and applied — the SBE → book path of the aggregator,
 *    minus the features. `sbe_decode` is that path with no book, for scale.
 * The snapshot (and the diffs it absorbs) is applied outside the timed loop.
 * Timed in process CPU time, not wall time (see cpuNs).
 * Last line of output: one JSON object.
 */
import { LocalBook } from '@hotpath/features';
import { readRecording, spotBtcusdtRecordings } from '@hotpath/recordings';
import { BinanceJsonTranscoder, DecodeStatus, classifyPayload, decimalStringToMantissa, spot, type JsonDepthSnapshot, type JsonDepthUpdate } from '@hotpath/sbe';
import { LocalBookFlat } from '../libs/features/test/support/book-flat.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const WARMUP_ROUNDS = 3;

type Level = readonly [number, number];
type Book = LocalBook | LocalBookFlat;

const { files, source } = spotBtcusdtRecordings();
const m = (levels: [string, string][]): Level[] => levels.map(([p, q]) => [decimalStringToMantissa(p, -8), decimalStringToMantissa(q, -8)]);
let snapshot: { id: number; bids: Level[]; asks: Level[] } | undefined;
/** Diffs before the snapshot (buffered, then absorbed by it) and after it (timed). */
const early: { first: number; last: number; levels: Float64Array }[] = [];
const diffs: { first: number; last: number; levels: Float64Array }[] = [];
const frames: Buffer[] = [];
const transcoder = new BinanceJsonTranscoder();
const scratch = Buffer.alloc(256 * 1024);
let levelCount = 0;
for (const file of files) {
  for (const line of readRecording(file)) {
    const kind = classifyPayload(line.data);
    if (kind === 'depthSnapshot') {
      if (snapshot !== undefined) throw new Error('one REST snapshot expected in the window');
      const s = line.data as JsonDepthSnapshot;
      snapshot = { id: s.lastUpdateId, bids: m(s.bids), asks: m(s.asks) };
    } else if (kind === 'depthUpdate') {
      const d = line.data as JsonDepthUpdate;
      const flat: number[] = [];
      for (const [p, q] of m(d.b)) flat.push(1, p, q);
      for (const [p, q] of m(d.a)) flat.push(0, p, q);
      const diff = { first: d.U, last: d.u, levels: Float64Array.from(flat) };
      if (snapshot === undefined) early.push(diff);
      else {
        diffs.push(diff);
        levelCount += flat.length / 3;
        frames.push(Buffer.from(scratch.subarray(0, transcoder.encodeDepthUpdate(d, scratch))));
      }
    }
  }
}
if (snapshot === undefined) throw new Error('no REST snapshot in the window');
const snap = snapshot;

/** A book at the snapshot, with the diffs received before it absorbed (untimed). */
function anchored(book: Book): Book {
  book.invalidate();
  for (const d of early) {
    book.applyDiff(d.first, d.last, (set) => {
      for (let i = 0; i < d.levels.length; i += 3) set(d.levels[i] === 1, d.levels[i + 1]!, d.levels[i + 2]!);
    });
  }
  if (book.applySnapshot(snap.id, snap.bids, snap.asks) !== 'applied') throw new Error('the snapshot does not join its diffs');
  return book;
}

let sink = 0;

/**
 * This process's CPU time, ns (µs resolution; a replay is tens of ms). Not the
 * wall clock: on a shared 2-core machine a descheduled replay would be timed
 * with whatever else ran meanwhile.
 */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function replayParsed(book: Book): number {
  anchored(book);
  const t0 = cpuNs();
  for (const d of diffs) {
    const lv = d.levels;
    book.applyDiff(d.first, d.last, (set) => {
      for (let i = 0; i < lv.length; i += 3) set(lv[i] === 1, lv[i + 1]!, lv[i + 2]!);
    });
  }
  const ns = (cpuNs() - t0) / diffs.length;
  sink += book.bestBid + book.bids.size + book.asks.size;
  return ns;
}

const decoder = new spot.SpotStreamDecoder();
function replaySbe(book: Book | undefined): number {
  if (book !== undefined) anchored(book);
  const t0 = cpuNs();
  for (const f of frames) {
    if (decoder.wrap(f, 0, f.length) !== DecodeStatus.Ok) throw new Error('a transcoded diff did not decode');
    const d = decoder.depthDiffStreamEvent;
    if (book === undefined) {
      const b = d.bids();
      while (b.next()) sink += b.priceMantissa + b.qtyMantissa;
      const a = d.asks();
      while (a.next()) sink += a.priceMantissa + a.qtyMantissa;
      continue;
    }
    book.applyDiff(d.firstBookUpdateId, d.lastBookUpdateId, (set) => {
      const b = d.bids();
      while (b.next()) set(true, b.priceMantissa, b.qtyMantissa);
      const a = d.asks();
      while (a.next()) set(false, a.priceMantissa, a.qtyMantissa);
    });
  }
  return (cpuNs() - t0) / frames.length;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const flat = new LocalBookFlat();
const blocked = new LocalBook();
const samples = { book_flat: [] as number[], book_blocked: [] as number[], sbe_book_flat: [] as number[], sbe_book_blocked: [] as number[], sbe_decode: [] as number[] };
let deepest = { bids: 0, asks: 0 };
for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
  const row = [replayParsed(flat), replayParsed(blocked), replaySbe(flat), replaySbe(blocked), replaySbe(undefined)];
  if (r < WARMUP_ROUNDS) continue;
  samples.book_flat.push(row[0]!);
  samples.book_blocked.push(row[1]!);
  samples.sbe_book_flat.push(row[2]!);
  samples.sbe_book_blocked.push(row[3]!);
  samples.sbe_decode.push(row[4]!);
  deepest = { bids: Math.max(deepest.bids, blocked.bids.size), asks: Math.max(deepest.asks, blocked.asks.size) };
}

const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<keyof typeof samples, number>;
const best = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.min(...v)])) as Record<keyof typeof samples, number>;
const fmt = (ns: number): string => `${(ns / 1000).toFixed(2)} µs`;
console.log(
  `book bench: ${diffs.length} real depth diffs (${source}), ${(levelCount / diffs.length).toFixed(1)} levels a diff, book up to ${deepest.bids} bid / ${deepest.asks} ask levels; ${ROUNDS} interleaved rounds`,
);
console.log('path                 median/diff   best/diff');
for (const k of Object.keys(samples) as (keyof typeof samples)[]) console.log(`${k.padEnd(20)} ${fmt(med[k]).padStart(11)} ${fmt(best[k]).padStart(11)}`);
const ratioBook = med.book_flat / med.book_blocked;
const ratioSbe = med.sbe_book_flat / med.sbe_book_blocked;
console.log(`book alone: blocked is x${ratioBook.toFixed(2)} faster than flat; SBE → book: x${ratioSbe.toFixed(2)}`);
console.log(
  JSON.stringify({
    bench: 'book',
    source,
    diffs: diffs.length,
    levels_per_diff: Number((levelCount / diffs.length).toFixed(1)),
    rounds: ROUNDS,
    median_ns_per_diff: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, Math.round(v)])),
    best_ns_per_diff: Object.fromEntries(Object.entries(best).map(([k, v]) => [k, Math.round(v)])),
    ratio_book: Number(ratioBook.toFixed(2)),
    ratio_sbe_book: Number(ratioSbe.toFixed(2)),
    sink: sink === 0 ? 0 : 1,
  }),
);
