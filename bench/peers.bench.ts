/**
 * pnpm bench:peers — us against the libraries users already know, on the same
 * real Binance spot BTCUSDT events (../shared/data/real when present, the
 * committed fixture otherwise), in one process, from the raw message to what
 * a consumer reads (depth: a maintained L2 book and its best bid/ask;
 * bookTicker: the best bid/ask; trade: id, price, quantity, side):
 *
 *  - oursSbe:   SBE frame → generated decoder → LocalBook (mantissas)
 *  - oursJson:  JSON.parse → decimal strings to mantissas → LocalBook
 *  - tardis:    JSON.parse → tardis-dev's Binance mappers → its OrderBook
 *  - ccxt:      JSON.parse → ccxt.pro.binance's message handlers → its WsOrderBook
 *  - jsonParse: JSON.parse alone (the floor every JSON consumer pays)
 *
 * Correctness first, untimed: every contender is fed every depth diff in file
 * order (the bridging diff precedes the snapshot) and at every diff boundary
 * its best bid/ask (price, qty) and top 20 levels a side must equal ours, and
 * our book must report 'applied'; every bookTicker and trade result must
 * agree too. Then timing: depth is stateful, so each repetition rebuilds
 * every book from the snapshot (untimed) and times the whole diff sequence;
 * bookTicker and trade are timed hot (measureHot). All contenders advance in
 * lockstep, 256 messages at a time, each segment timed for every contender in
 * a rotated order; repetitions after warm-up; medians with min/max. After
 * every timed repetition each book's final top is checked again. "Book
 * alone" feeds each book its own native input built untimed from the same
 * JSON (mantissa arrays, tardis BookChange objects, ccxt [number, number]).
 * Any disagreement is printed and exits 1. Last line: one JSON object.
 *
 * Env: BENCH_QUICK=1 (smoke run), BENCH_REPS, BENCH_PEERS_MAX_MSGS (bookTicker
 * and trade messages, default 8000: ccxt alone takes ~40 µs each under load), BENCH_PEERS_SOURCE=fixture (ignore the
 * shared data), BENCH_PEERS_SEGMENT (messages per lockstep segment, default 256),
 * BENCH_PEERS_CORRUPT=<contender> (drop one level of one diff
 * from that contender's input: the correctness check must fail).
 */
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decimalStringToMantissa, type JsonDepthUpdate } from '@hotpath/sbe';
import { bookAloneContenders, bookAloneDiffCount, CONTENDERS, type Contender, type ContenderInput, type ContenderName, FACTORIES, sink, TOP_LENGTH, TOP_LEVELS } from './peers/contenders/index.ts';
import { depthFrame, loadPeersData } from './peers/data.ts';
import { HOT_CHUNK, measureHot, median } from './peers/measure.ts';

const env = process.env;
const QUICK = env['BENCH_QUICK'] === '1';
const REPS = Number(env['BENCH_REPS'] ?? (QUICK ? 3 : 7));
const WARMUP = QUICK ? 1 : 2;
const MAX_PER_KIND = Number(env['BENCH_PEERS_MAX_MSGS'] ?? (QUICK ? 2000 : 8000));
const CORRUPT = env['BENCH_PEERS_CORRUPT'];
if (CORRUPT !== undefined && !['oursSbe', 'tardis', 'ccxt'].includes(CORRUPT)) {
  console.error(`BENCH_PEERS_CORRUPT must be one of oursSbe, tardis, ccxt (oursJson is the reference): got ${JSON.stringify(CORRUPT)}`);
  process.exit(2);
}
const loadStart = loadavg()[0]!;
const data = loadPeersData(env['BENCH_PEERS_SOURCE'] === 'fixture', MAX_PER_KIND);
// ccxt's own `version` export lags its package version; neither package exports ./package.json.
const version = (pkg: string): string => JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../node_modules', pkg, 'package.json'), 'utf8')).version;
const versions = { ccxt: version('ccxt'), tardis_dev: version('tardis-dev') };

const baseInput: ContenderInput = {
  preWire: data.pre.map((m) => m.wire),
  preFrame: data.pre.map((m) => m.frame),
  postWire: data.post.map((m) => m.wire),
  postFrame: data.post.map((m) => m.frame),
  bookTickerWire: data.bookTicker.wire,
  bookTickerFrame: data.bookTicker.frame,
  tradeWire: data.trade.wire,
  tradeFrame: data.trade.frame,
};

/**
 * The corruption knob: the first diff (past the 10th) that sets the new best
 * bid loses that level, in the chosen contender's input only.
 */
async function corruptedInput(name: string): Promise<{ input: ContenderInput; diff: number }> {
  const ref = FACTORIES.oursJson(data, baseInput);
  await ref.reset();
  for (let i = 0; i < data.post.length; i++) {
    ref.depth(i, i + 1);
    const d = data.post[i]!.data;
    const level = d.b.find(([p, q]) => decimalStringToMantissa(q, -8) !== 0 && decimalStringToMantissa(p, -8) === ref.out[0]);
    if (i < 10 || level === undefined) continue;
    const altered: JsonDepthUpdate = { ...d, b: d.b.filter((l) => l !== level) };
    const postWire = [...baseInput.postWire];
    const postFrame = [...baseInput.postFrame];
    postWire[i] = JSON.stringify({ stream: data.stream, data: altered });
    postFrame[i] = depthFrame(altered);
    console.log(`corrupting ${name}'s input: diff #${i} (u=${d.u}) loses bid level ${level[0]} × ${level[1]}`);
    return { input: { ...baseInput, postWire, postFrame }, diff: i };
  }
  throw new Error('no diff sets the best bid: cannot corrupt');
}

const inputs = Object.fromEntries(CONTENDERS.map((n) => [n, baseInput])) as Record<ContenderName, ContenderInput>;
if (CORRUPT !== undefined) inputs[CORRUPT as ContenderName] = (await corruptedInput(CORRUPT)).input;
const contenders = CONTENDERS.map((n) => FACTORIES[n](data, inputs[n]));
const byName = Object.fromEntries(contenders.map((c) => [c.name, c])) as Record<ContenderName, Contender>;
const reference = byName.oursJson;
const books = contenders.filter((c) => c.name !== 'jsonParse' && c !== reference);

// ---------------------------------------------------------------------------
// Correctness pass.
const failures: string[] = [];
const fail = (msg: string): void => {
  if (failures.length < 10) console.log(`MISMATCH ${msg}`);
  failures.push(msg);
};
const refTop = new Float64Array(TOP_LENGTH);
const otherTop = new Float64Array(TOP_LENGTH);
const showTop = (t: Float64Array): string =>
  `best ${t[0]}×${t[1]} / ${t[2]}×${t[3]}, bids ${Array.from(t.subarray(4, 10)).join(',')}…, asks ${Array.from(t.subarray(4 + 2 * TOP_LEVELS, 10 + 2 * TOP_LEVELS)).join(',')}…`;
function sameTop(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

for (const c of contenders) await c.reset();
let boundaries = 0;
for (let i = 0; i < data.post.length; i++) {
  for (const c of contenders) c.depth(i, i + 1);
  for (const c of [reference, byName.oursSbe]) if (c.notApplied > 0) fail(`${c.name}: diff #${i} (u=${data.post[i]!.data.u}) not applied`);
  reference.top(refTop);
  for (const c of books) {
    c.top(otherTop);
    if (!sameTop(refTop, otherTop)) fail(`${c.name} at diff #${i} (u=${data.post[i]!.data.u}): top ${TOP_LEVELS} ${showTop(otherTop)} ≠ ours ${showTop(refTop)}`);
    for (let k = 0; k < 4; k++) if (c.out[k] !== refTop[k]) fail(`${c.name} at diff #${i}: best read per message ${Array.from(c.out).join(',')} ≠ ours ${Array.from(refTop.subarray(0, 4)).join(',')}`);
  }
  if (failures.length > 0 && failures.length >= 10) break;
  boundaries++;
}
const refFinal = Float64Array.from(refTop);

const checkKind = (kind: 'bookTicker' | 'trade', n: number): Float64Array => {
  for (let i = 0; i < n; i++) {
    const one = [i];
    for (const c of contenders) c[kind](one);
    for (const c of books) if (!sameTop(c.out, reference.out)) fail(`${c.name} ${kind} #${i}: ${Array.from(c.out).join(',')} ≠ ours ${Array.from(reference.out).join(',')}`);
  }
  return Float64Array.from(reference.out);
};
const refLast = { bookTicker: checkKind('bookTicker', data.bookTicker.wire.length), trade: checkKind('trade', data.trade.wire.length) };

const correctness = {
  diff_boundaries: boundaries,
  top_levels_per_side: TOP_LEVELS,
  book_ticker_checked: data.bookTicker.wire.length,
  trades_checked: data.trade.wire.length,
  mismatches: failures.length,
  corrupted: CORRUPT ?? null,
};
console.log(
  `bench:peers source=${data.source} ccxt ${versions.ccxt} tardis-dev ${versions.tardis_dev} node ${process.version} load ${loadStart.toFixed(1)}` +
    ` | correctness: ${boundaries} diff boundaries (best + top ${TOP_LEVELS} a side), ${correctness.book_ticker_checked} bookTickers, ${correctness.trades_checked} trades: ${failures.length} mismatches`,
);
if (failures.length > 0) {
  console.log(JSON.stringify({ bench: 'peers', ok: false, source: data.source, correctness }));
  process.exit(1);
}

// ---------------------------------------------------------------------------
// Timing.
type Kind = 'depth' | 'bookTicker' | 'trade';
const samples: Record<Kind, Record<ContenderName, number[]>> = { depth: {}, bookTicker: {}, trade: {} } as Record<Kind, Record<ContenderName, number[]>>;
const rotated = <T>(xs: readonly T[], r: number): T[] => xs.map((_, j) => xs[(j + r) % xs.length]!);
const index = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const lists = { bookTicker: index(data.bookTicker.wire.length), trade: index(data.trade.wire.length) };

function afterRep(c: Contender, kind: Kind, rep: number): void {
  if (c.name === 'jsonParse') return;
  if (kind === 'depth') {
    if (c.notApplied > 0) fail(`${c.name} rep ${rep}: ${c.notApplied} diffs not applied`);
    const t = c.top(otherTop)!;
    if (!sameTop(t, refFinal)) fail(`${c.name} depth rep ${rep}: final top ${showTop(t)} ≠ ${showTop(refFinal)}`);
  } else if (!sameTop(c.out, refLast[kind])) fail(`${c.name} ${kind} rep ${rep}: last result ${Array.from(c.out).join(',')} ≠ ${Array.from(refLast[kind]).join(',')}`);
}

/**
 * Contenders advance in lockstep, SEGMENT messages at a time, each segment timed for every contender in a
 * rotated order: load that comes and goes on a shared machine lands on all of them alike, instead of on
 * whichever ran during a busy second.
 */
const SEGMENT = Number(env['BENCH_PEERS_SEGMENT'] ?? HOT_CHUNK);
async function depthRep(order: readonly Contender[], r: number): Promise<Map<Contender, number>> {
  const ns = new Map<Contender, number>(order.map((c) => [c, 0]));
  for (const c of order) {
    await c.reset();
    c.notApplied = 0;
  }
  const n = data.post.length;
  for (let a = 0, seg = 0; a < n; a += SEGMENT, seg++) {
    const b = Math.min(n, a + SEGMENT);
    for (const c of rotated(order, r + seg)) {
      const t0 = process.hrtime.bigint();
      c.depth(a, b);
      ns.set(c, ns.get(c)! + Number(process.hrtime.bigint() - t0));
    }
  }
  for (const [c, t] of ns) ns.set(c, t / n);
  return ns;
}

/** bookTicker / trade: measureHot chunk by chunk, every contender on each chunk before the next. */
function hotRep(kind: 'bookTicker' | 'trade', order: readonly Contender[], r: number): Map<Contender, number> {
  const ns = new Map<Contender, number>(order.map((c) => [c, 0]));
  const list = lists[kind];
  for (let a = 0, seg = 0; a < list.length; a += SEGMENT, seg++) {
    const chunk = list.slice(a, a + SEGMENT);
    for (const c of rotated(order, r + seg)) ns.set(c, ns.get(c)! + measureHot(chunk, (l) => c[kind](l)) * chunk.length);
  }
  for (const [c, t] of ns) ns.set(c, t / list.length);
  return ns;
}

for (let r = -WARMUP; r < REPS; r++) {
  for (const [c, ns] of await depthRep(contenders, r + WARMUP)) {
    afterRep(c, 'depth', r);
    if (r >= 0) (samples.depth[c.name] ??= []).push(ns);
  }
  for (const kind of ['bookTicker', 'trade'] as const) {
    for (const [c, ns] of hotRep(kind, contenders, r + WARMUP)) {
      afterRep(c, kind, r);
      if (r >= 0) (samples[kind][c.name] ??= []).push(ns);
    }
  }
}

const alone = bookAloneContenders(data);
const aloneSamples: Record<string, number[]> = {};
const aloneDiffs = bookAloneDiffCount(data);
for (let r = -WARMUP; r < REPS; r++) {
  const ns = new Map(alone.map((b) => [b, 0]));
  for (const b of alone) b.reset();
  for (let a = 0, seg = 0; a < aloneDiffs; a += SEGMENT, seg++) {
    for (const b of rotated(alone, r + WARMUP + seg)) {
      const t0 = process.hrtime.bigint();
      b.run(a, Math.min(aloneDiffs, a + SEGMENT));
      ns.set(b, ns.get(b)! + Number(process.hrtime.bigint() - t0));
    }
  }
  for (const [b, t] of ns) {
    const top = b.top(otherTop);
    if (!sameTop(top, refFinal)) fail(`book alone ${b.name} rep ${r}: final top ${showTop(top)} ≠ ${showTop(refFinal)}`);
    if (r >= 0) (aloneSamples[b.name] ??= []).push(t / aloneDiffs);
  }
}
if (failures.length > 0) {
  console.log(JSON.stringify({ bench: 'peers', ok: false, source: data.source, correctness: { ...correctness, mismatches: failures.length } }));
  process.exit(1);
}

// ---------------------------------------------------------------------------
// Report.
const r1 = (x: number): number => Number(x.toFixed(1));
const r2 = (x: number): number => Number(x.toFixed(2));
const stat = (xs: number[]) => ({ median: r1(median(xs)), min: r1(Math.min(...xs)), max: r1(Math.max(...xs)) });
const fmt = (ns: number): string => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
const kinds: Record<string, unknown> = {};
for (const kind of ['depth', 'bookTicker', 'trade'] as const) {
  const s = samples[kind];
  const med = Object.fromEntries(CONTENDERS.map((n) => [n, median(s[n]!)])) as Record<ContenderName, number>;
  const ratiosOf = (t: Record<ContenderName, number>) => ({
    tardis_vs_oursSbe: r2(t.tardis / t.oursSbe),
    ccxt_vs_oursSbe: r2(t.ccxt / t.oursSbe),
    tardis_vs_oursJson: r2(t.tardis / t.oursJson),
    ccxt_vs_oursJson: r2(t.ccxt / t.oursJson),
    oursJson_vs_floor: r2(t.oursJson / t.jsonParse),
    oursSbe_vs_floor: r2(t.oursSbe / t.jsonParse),
  });
  const ratios = ratiosOf(med);
  // On a loaded machine noise only ever adds time: the fastest repetition of each is its least disturbed one.
  const ratiosMin = ratiosOf(Object.fromEntries(CONTENDERS.map((n) => [n, Math.min(...s[n]!)])) as Record<ContenderName, number>);
  const events = kind === 'depth' ? data.post.length : lists[kind].length;
  kinds[kind] = { events, ns_per_msg: Object.fromEntries(CONTENDERS.map((n) => [n, stat(s[n]!)])), ratios, ratios_of_min: ratiosMin };
  console.log(`${kind.padEnd(10)} n=${String(events).padStart(6)} | ${CONTENDERS.map((n) => `${n} ${fmt(med[n])} (${fmt(Math.min(...s[n]!))}–${fmt(Math.max(...s[n]!))})`).join(' | ')}`);
  console.log(
    `${''.padEnd(19)} tardis/oursSbe x${ratios.tardis_vs_oursSbe}, ccxt/oursSbe x${ratios.ccxt_vs_oursSbe} | tardis/oursJson x${ratios.tardis_vs_oursJson}, ccxt/oursJson x${ratios.ccxt_vs_oursJson} | oursJson/floor x${ratios.oursJson_vs_floor}, oursSbe/floor x${ratios.oursSbe_vs_floor} | of min: tardis/oursSbe x${ratiosMin.tardis_vs_oursSbe}, ccxt/oursSbe x${ratiosMin.ccxt_vs_oursSbe}`,
  );
}
const aloneMed = Object.fromEntries(Object.entries(aloneSamples).map(([n, v]) => [n, median(v)])) as Record<'ours' | 'tardis' | 'ccxt', number>;
const bookAlone = {
  diffs: aloneDiffs,
  ns_per_diff: Object.fromEntries(Object.entries(aloneSamples).map(([n, v]) => [n, stat(v)])),
  ratios: { tardis_vs_ours: r2(aloneMed.tardis / aloneMed.ours), ccxt_vs_ours: r2(aloneMed.ccxt / aloneMed.ours) },
  ratios_of_min: {
    tardis_vs_ours: r2(Math.min(...aloneSamples['tardis']!) / Math.min(...aloneSamples['ours']!)),
    ccxt_vs_ours: r2(Math.min(...aloneSamples['ccxt']!) / Math.min(...aloneSamples['ours']!)),
  },
};
console.log(
  `book alone n=${String(aloneDiffs).padStart(6)} | ${Object.entries(aloneSamples)
    .map(([n, v]) => `${n} ${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`)
    .join(
      ' | ',
    )} | tardis/ours x${bookAlone.ratios.tardis_vs_ours}, ccxt/ours x${bookAlone.ratios.ccxt_vs_ours} | of min: x${bookAlone.ratios_of_min.tardis_vs_ours}, x${bookAlone.ratios_of_min.ccxt_vs_ours}`,
);
const depthRatio = (kinds['depth'] as { ratios: { tardis_vs_oursSbe: number } }).ratios.tardis_vs_oursSbe;
const goal = {
  ours_vs_tardis_end_to_end_depth_ge_10x: depthRatio >= 10,
  ours_vs_tardis_end_to_end_depth_ratio: depthRatio,
  ours_vs_tardis_end_to_end_depth_ratio_of_min: (kinds['depth'] as { ratios_of_min: { tardis_vs_oursSbe: number } }).ratios_of_min.tardis_vs_oursSbe,
  our_book_alone_ahead_of_both: bookAlone.ratios.tardis_vs_ours > 1 && bookAlone.ratios.ccxt_vs_ours > 1,
};
console.log(
  `goals: end to end depth ≥ 10x tardis-dev: ${goal.ours_vs_tardis_end_to_end_depth_ge_10x} (x${depthRatio} of medians, x${goal.ours_vs_tardis_end_to_end_depth_ratio_of_min} of minimums); our book alone ahead of both: ${goal.our_book_alone_ahead_of_both}`,
);
if (sink.v === 42) console.log('');
console.log(
  JSON.stringify({
    bench: 'peers',
    ok: true,
    source: data.source,
    quick: QUICK,
    node: process.version,
    ...versions,
    load: [r1(loadStart), r1(loadavg()[0]!)],
    reps: REPS,
    warmup: WARMUP,
    correctness,
    kinds,
    book_alone: bookAlone,
    goal,
  }),
);
