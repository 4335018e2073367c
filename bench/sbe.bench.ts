/**
 * pnpm bench:sbe — decode cost of the generated SBE decoders vs JSON.parse on
 * the same real Binance events (hftbacktest spot recordings: trade,
 * bookTicker, depth diff). Each recorded JSON message is transcoded to the
 * SBE frame Binance sends for it; both forms are decoded side by side in one
 * process, after warm-up, over interleaved repetitions (median reported).
 *
 * Two like-for-like comparisons:
 *  - exact values (headline `ratio`): SBE wrap (full validation) + every field
 *    read in its exact form (ids, times, price/qty mantissas, flags, symbol)
 *    vs JSON.parse of the message as recorded on the combined stream (which
 *    yields prices as exact decimal strings). The SBE combined stream sends
 *    bare frames, so the recorded JSON message is the like-for-like message.
 *  - floats (`ratio_numbers`): SBE with price/qty as JS numbers vs JSON.parse
 *    plus the Number() conversions that reach the same numbers.
 *  - the floor (`ratio_floor`): a hand-written validating reader of the same frames (see
 *    floorPass), the most any decoder of ours could show against JSON.parse here.
 * Also reported: JSON.parse of the bare payload (single-stream form), and
 * "streaming" figures that walk the whole multi-MB set (mostly out of cache)
 * instead of decoding each frame hot, as a just-received frame is.
 * Last line of output: one JSON object.
 */
import { readRecording, spotBtcusdtRecordings } from '@hotpath/recordings';
import { measureHot, measureStreaming as measureStreamingFor, median } from './peers/measure.ts';
import { BinanceJsonTranscoder, DecodeStatus, classifyPayload, spot, type JsonBookTicker, type JsonDepthUpdate, type JsonTrade } from '@hotpath/sbe';

type Kind = 'trade' | 'bookTicker' | 'depthUpdate';
const KINDS = (process.env['BENCH_KINDS']?.split(',') ?? ['trade', 'bookTicker', 'depthUpdate']) as Kind[];
const REPS = Number(process.env['BENCH_REPS'] ?? 7);
const MIN_SAMPLE_MS = 150;
const measureStreaming = <T>(list: readonly T[], pass: (l: readonly T[]) => void): number => measureStreamingFor(list, pass, MIN_SAMPLE_MS);

const { files, source } = spotBtcusdtRecordings();
const frames: Record<Kind, Buffer[]> = { trade: [], bookTicker: [], depthUpdate: [] };
/** The JSON messages as recorded on the combined-stream connection. */
const wire: Record<Kind, string[]> = { trade: [], bookTicker: [], depthUpdate: [] };
/** The bare payloads, as a single-stream /ws/<stream> connection delivers them. */
const payloads: Record<Kind, string[]> = { trade: [], bookTicker: [], depthUpdate: [] };
const transcoder = new BinanceJsonTranscoder();
const scratch = Buffer.alloc(256 * 1024);

for (const file of files) {
  for (const line of readRecording(file)) {
    const kind = classifyPayload(line.data);
    let n = 0;
    if (kind === 'trade') n = transcoder.encodeTrade(line.data as JsonTrade, scratch);
    else if (kind === 'bookTicker') n = transcoder.encodeBookTicker(line.data as JsonBookTicker, Math.round(line.localTime / 1000), scratch);
    else if (kind === 'depthUpdate') n = transcoder.encodeDepthUpdate(line.data as JsonDepthUpdate, scratch);
    else continue;
    // One Buffer per message, as the WebSocket client hands them over.
    frames[kind].push(Buffer.from(scratch.subarray(0, n)));
    wire[kind].push(line.wire);
    payloads[kind].push(line.json);
  }
}

let sink = 0;
const decoder = new spot.SpotStreamDecoder();

// One handler per message kind, as a consumer dispatching on templateId writes it.
// Each sums what it reads in a local and adds it to the module-level sink once
// per message, as the JSON side does: a `sink +=` per field chains every read
// through a memory store and reload (a module variable lives in the context,
// not a register), which cost depth diffs ~1.5x and measured the harness, not
// the decoder.
function tradeExact(m: spot.TradesStreamEventDecoder): void {
  let s = m.eventTime + m.transactTime + m.priceExponent + m.qtyExponent + m.symbol().length;
  const g = m.trades();
  while (g.next()) s += g.id + g.priceMantissa + g.qtyMantissa + g.isBuyerMaker;
  sink += s;
}
function tradeNumbers(m: spot.TradesStreamEventDecoder): void {
  let s = m.eventTime + m.transactTime + m.symbol().length;
  const g = m.trades();
  while (g.next()) s += g.id + g.price + g.qty + g.isBuyerMaker;
  sink += s;
}
function bboExact(m: spot.BestBidAskStreamEventDecoder): void {
  const s = m.eventTime + m.bookUpdateId + m.priceExponent + m.qtyExponent + m.symbol().length;
  sink += s + m.bidPriceMantissa + m.bidQtyMantissa + m.askPriceMantissa + m.askQtyMantissa;
}
function bboNumbers(m: spot.BestBidAskStreamEventDecoder): void {
  sink += m.eventTime + m.bookUpdateId + m.bidPrice + m.bidQty + m.askPrice + m.askQty + m.symbol().length;
}
function depthExact(m: spot.DepthDiffStreamEventDecoder): void {
  let s = m.eventTime + m.firstBookUpdateId + m.lastBookUpdateId + m.priceExponent + m.qtyExponent + m.symbol().length;
  const b = m.bids();
  while (b.next()) s += b.priceMantissa + b.qtyMantissa;
  const a = m.asks();
  while (a.next()) s += a.priceMantissa + a.qtyMantissa;
  sink += s;
}
function depthNumbers(m: spot.DepthDiffStreamEventDecoder): void {
  let s = m.eventTime + m.firstBookUpdateId + m.lastBookUpdateId + m.symbol().length;
  const b = m.bids();
  while (b.next()) s += b.price + b.qty;
  const a = m.asks();
  while (a.next()) s += a.price + a.qty;
  sink += s;
}

function sbeExact(list: readonly Buffer[]): void {
  for (let i = 0; i < list.length; i++) {
    const f = list[i]!;
    if (decoder.wrap(f, 0, f.length) !== DecodeStatus.Ok) throw new Error(`decode failed: ${decoder.error()?.message}`);
    const t = decoder.templateId;
    if (t === 10000) tradeExact(decoder.tradesStreamEvent);
    else if (t === 10001) bboExact(decoder.bestBidAskStreamEvent);
    else if (t === 10003) depthExact(decoder.depthDiffStreamEvent);
  }
}

function sbeNumbers(list: readonly Buffer[]): void {
  for (let i = 0; i < list.length; i++) {
    const f = list[i]!;
    if (decoder.wrap(f, 0, f.length) !== DecodeStatus.Ok) throw new Error(`decode failed: ${decoder.error()?.message}`);
    const t = decoder.templateId;
    if (t === 10000) tradeNumbers(decoder.tradesStreamEvent);
    else if (t === 10001) bboNumbers(decoder.bestBidAskStreamEvent);
    else if (t === 10003) depthNumbers(decoder.depthDiffStreamEvent);
  }
}

/*
 * The floor: the least a validating decoder can do in JS on this machine, written by hand for the
 * one layout each kind has here (no flyweight, no dispatch, no error reporting beyond a throw):
 * header and length checks, every int64 read with its 2^53 range check, the enum check, the
 * symbol compared with the last one. Reads byte by byte, depth levels through a DataView (as the
 * generated decoder does for every flat group). What the generated decoder costs above it is the price
 * of its API; the JSON ratio over it is the most any decoder of ours could show.
 */
const LAST_SYMBOL = Buffer.from('BTCUSDT');
let floorBuffer: ArrayBufferLike | undefined;
let floorView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
function floorI64(b: Uint8Array, o: number): number {
  const h = b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24);
  if (((h >> 21) + 1) >>> 1 !== 0) throw new Error('int64 out of range');
  return h * 4294967296 + ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0);
}
function floorSymbol(b: Uint8Array, p: number, end: number): number {
  const n = b[p]!;
  if (p + 1 + n > end) throw new Error('truncated');
  let k = 0;
  if (n === LAST_SYMBOL.length) while (k < n && LAST_SYMBOL[k] === b[p + 1 + k]) k++;
  return k;
}
function floorHeader(b: Uint8Array, templateId: number, minLength: number): number {
  if (b.length < minLength || (b[4]! | (b[5]! << 8)) !== 1 || (b[2]! | (b[3]! << 8)) !== templateId) throw new Error('bad header');
  return 8 + (b[0]! | (b[1]! << 8));
}
function floorTrade(b: Uint8Array): number {
  let p = floorHeader(b, 10000, 8 + 18 + 6 + 1);
  const bl = b[p]! | (b[p + 1]! << 8);
  const n = (b[p + 2]! | (b[p + 3]! << 8) | (b[p + 4]! << 16)) + b[p + 5]! * 0x1000000;
  if (bl < 25 || n > 65536 || p + 6 + bl * n + 1 > b.length) throw new Error('bad group');
  let s = floorI64(b, 8) + floorI64(b, 16) + ((b[24]! << 24) >> 24) + ((b[25]! << 24) >> 24);
  p += 6;
  for (let i = 0; i < n; i++, p += bl) {
    const m = b[p + 24]!;
    if (m > 1) throw new Error('bad enum');
    s += floorI64(b, p) + floorI64(b, p + 8) + floorI64(b, p + 16) + m;
  }
  return s + floorSymbol(b, p, b.length);
}
function floorBookTicker(b: Uint8Array): number {
  const p = floorHeader(b, 10001, 8 + 50 + 1);
  const s = floorI64(b, 8) + floorI64(b, 16) + ((b[24]! << 24) >> 24) + ((b[25]! << 24) >> 24);
  return s + floorI64(b, 26) + floorI64(b, 34) + floorI64(b, 42) + floorI64(b, 50) + floorSymbol(b, p, b.length);
}
function floorDepth(b: Uint8Array): number {
  let p = floorHeader(b, 10003, 8 + 26 + 4 + 4 + 1);
  if (b.buffer !== floorBuffer) {
    floorBuffer = b.buffer;
    floorView = new DataView(b.buffer);
  }
  const dv = floorView;
  const vb = b.byteOffset;
  let s = floorI64(b, 8) + floorI64(b, 16) + floorI64(b, 24) + ((b[32]! << 24) >> 24) + ((b[33]! << 24) >> 24);
  for (let side = 0; side < 2; side++) {
    if (p + 4 > b.length) throw new Error('truncated');
    const bl = b[p]! | (b[p + 1]! << 8);
    const n = b[p + 2]! | (b[p + 3]! << 8);
    p += 4;
    if (bl < 16 || p + bl * n > b.length) throw new Error('bad group');
    for (let i = 0; i < n; i++, p += bl) {
      const x = vb + p;
      const hp = dv.getInt32(x + 4, true);
      const hq = dv.getInt32(x + 12, true);
      if (((hp >> 21) + 1) >>> 1 !== 0 || ((hq >> 21) + 1) >>> 1 !== 0) throw new Error('int64 out of range');
      s += hp * 4294967296 + dv.getUint32(x, true) + hq * 4294967296 + dv.getUint32(x + 8, true);
    }
  }
  if (p + 1 > b.length) throw new Error('truncated');
  return s + floorSymbol(b, p, b.length);
}
function floorPass(list: readonly Buffer[]): void {
  for (let i = 0; i < list.length; i++) {
    const f = list[i]!;
    const t = f[2]! | (f[3]! << 8);
    if (t === 10000) sink += floorTrade(f);
    else if (t === 10001) sink += floorBookTicker(f);
    else if (t === 10003) sink += floorDepth(f);
  }
}

function jsonParse(list: readonly string[]): void {
  for (let i = 0; i < list.length; i++) {
    const o = JSON.parse(list[i]!) as { E?: number; stream?: string };
    sink += o.E ?? o.stream?.length ?? 1;
  }
}

function jsonNumbers(list: readonly string[]): void {
  for (let i = 0; i < list.length; i++) {
    const parsed = JSON.parse(list[i]!);
    const o = parsed.data ?? parsed;
    if (o.e === 'trade') sink += o.E + o.T + o.t + Number(o.p) + Number(o.q) + (o.m ? 1 : 0) + o.s.length;
    else if (o.e === 'depthUpdate') {
      let s = o.E + o.U + o.u + o.s.length;
      for (const [p, q] of o.b) s += Number(p) + Number(q);
      for (const [p, q] of o.a) s += Number(p) + Number(q);
      sink += s;
    } else sink += o.u + Number(o.b) + Number(o.B) + Number(o.a) + Number(o.A) + o.s.length;
  }
}

const round = (x: number): number => Number(x.toFixed(1));

interface Row {
  kind: Kind;
  events: number;
  sbe_bytes_per_msg: number;
  json_bytes_per_msg: number;
  sbe_ns_per_msg: number;
  json_ns_per_msg: number;
  ratio: number;
  floor_ns_per_msg: number;
  ratio_floor: number;
  sbe_numbers_ns_per_msg: number;
  json_numbers_ns_per_msg: number;
  ratio_numbers: number;
  json_payload_ns_per_msg: number;
  ratio_payload: number;
  sbe_streaming_ns_per_msg: number;
  json_streaming_ns_per_msg: number;
  ratio_streaming: number;
  sbe_spread_ns: number[];
}

const results: Row[] = [];
let totalEvents = 0;
for (const kind of KINDS) {
  const f = frames[kind];
  const w = wire[kind];
  const p = payloads[kind];
  totalEvents += f.length;
  for (let k = 0; k < 3; k++) {
    sbeExact(f);
    sbeNumbers(f);
    floorPass(f);
    jsonParse(w);
    jsonNumbers(w);
  }
  const m = {
    sbe: [] as number[],
    floor: [] as number[],
    json: [] as number[],
    sbeNum: [] as number[],
    jsonNum: [] as number[],
    bare: [] as number[],
    sbeStream: [] as number[],
    jsonStream: [] as number[],
  };
  // Interleaved repetitions: machine noise hits both sides alike.
  for (let r = 0; r < REPS; r++) {
    m.sbe.push(measureHot(f, sbeExact));
    m.floor.push(measureHot(f, floorPass));
    m.json.push(measureHot(w, jsonParse));
    m.sbeNum.push(measureHot(f, sbeNumbers));
    m.jsonNum.push(measureHot(w, jsonNumbers));
    m.bare.push(measureHot(p, jsonParse));
    m.sbeStream.push(measureStreaming(f, sbeExact));
    m.jsonStream.push(measureStreaming(w, jsonParse));
  }
  const row: Row = {
    kind,
    events: f.length,
    sbe_bytes_per_msg: Math.round(f.reduce((a, b) => a + b.length, 0) / f.length),
    json_bytes_per_msg: Math.round(w.reduce((a, b) => a + b.length, 0) / w.length),
    sbe_ns_per_msg: round(median(m.sbe)),
    json_ns_per_msg: round(median(m.json)),
    ratio: round(median(m.json) / median(m.sbe)),
    floor_ns_per_msg: round(median(m.floor)),
    ratio_floor: round(median(m.json) / median(m.floor)),
    sbe_numbers_ns_per_msg: round(median(m.sbeNum)),
    json_numbers_ns_per_msg: round(median(m.jsonNum)),
    ratio_numbers: round(median(m.jsonNum) / median(m.sbeNum)),
    json_payload_ns_per_msg: round(median(m.bare)),
    ratio_payload: round(median(m.bare) / median(m.sbe)),
    sbe_streaming_ns_per_msg: round(median(m.sbeStream)),
    json_streaming_ns_per_msg: round(median(m.jsonStream)),
    ratio_streaming: round(median(m.jsonStream) / median(m.sbeStream)),
    sbe_spread_ns: [round(Math.min(...m.sbe)), round(Math.max(...m.sbe))],
  };
  results.push(row);
  console.log(
    `${kind.padEnd(11)} n=${String(row.events).padStart(6)} | exact: sbe ${row.sbe_ns_per_msg} ns, JSON.parse ${row.json_ns_per_msg} ns, x${row.ratio}` +
      ` | floor ${row.floor_ns_per_msg} ns, x${row.ratio_floor}` +
      ` | numbers: sbe ${row.sbe_numbers_ns_per_msg} ns, JSON.parse+Number ${row.json_numbers_ns_per_msg} ns, x${row.ratio_numbers}` +
      ` | bare payload JSON x${row.ratio_payload} | streaming x${row.ratio_streaming}`,
  );
}

const weighted = (key: 'sbe_ns_per_msg' | 'json_ns_per_msg'): number => results.reduce((a, r) => a + r[key] * r.events, 0) / totalEvents;
if (sink === 42) console.log('');
console.log(
  JSON.stringify({
    bench: 'sbe',
    source,
    node: process.version,
    events: totalEvents,
    reps: REPS,
    sbe_ns_per_msg: round(weighted('sbe_ns_per_msg')),
    json_ns_per_msg: round(weighted('json_ns_per_msg')),
    ratio: round(weighted('json_ns_per_msg') / weighted('sbe_ns_per_msg')),
    kinds: results,
  }),
);
