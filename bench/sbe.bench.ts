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
    jsonParse(w);
    jsonNumbers(w);
  }
  const m = { sbe: [] as number[], json: [] as number[], sbeNum: [] as number[], jsonNum: [] as number[], bare: [] as number[], sbeStream: [] as number[], jsonStream: [] as number[] };
  // Interleaved repetitions: machine noise hits both sides alike.
  for (let r = 0; r < REPS; r++) {
    m.sbe.push(measureHot(f, sbeExact));
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
