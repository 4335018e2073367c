/**
 * pnpm bench:sbe — decode cost of the generated SBE decoders vs JSON.parse on
 * the same real Binance events (hftbacktest spot recordings: trade,
 * bookTicker, depth diff). Each JSON payload is transcoded to the SBE frame
 * Binance sends for it; both forms are decoded side by side in one process,
 * after warm-up, over several interleaved repetitions (median reported).
 *
 * SBE side: wrap (full validation) + read every field as a number + symbol.
 * JSON side: JSON.parse alone ("json"), and JSON.parse plus the Number()
 * conversions needed to reach the same information ("json_full").
 * Last line of output: one JSON object.
 */
import { readRecording, spotBtcusdtRecordings } from '@hotpath/recordings';
import {
  BinanceJsonTranscoder,
  DecodeStatus,
  classifyPayload,
  spot,
  type JsonBookTicker,
  type JsonDepthUpdate,
  type JsonTrade,
} from '@hotpath/sbe';

type Kind = 'trade' | 'bookTicker' | 'depthUpdate';
const KINDS: Kind[] = ['trade', 'bookTicker', 'depthUpdate'];
const REPS = Number(process.env['BENCH_REPS'] ?? 7);
const MIN_SAMPLE_MS = 150;

const { files, source } = spotBtcusdtRecordings();
const frames: Record<Kind, Buffer[]> = { trade: [], bookTicker: [], depthUpdate: [] };
const texts: Record<Kind, string[]> = { trade: [], bookTicker: [], depthUpdate: [] };
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
    texts[kind].push(line.json);
  }
}

let sink = 0;
const decoder = new spot.SpotStreamDecoder();

// One handler per message kind, as a consumer dispatching on templateId would
// write it (each gets its own optimization and inlining budget in V8).
function onTrade(m: spot.TradesStreamEventDecoder): void {
  sink += m.eventTime + m.transactTime + m.symbol().length;
  const g = m.trades();
  while (g.next()) sink += g.id + g.price + g.qty + g.isBuyerMaker;
}

function onBestBidAsk(m: spot.BestBidAskStreamEventDecoder): void {
  sink += m.eventTime + m.bookUpdateId + m.bidPrice + m.bidQty + m.askPrice + m.askQty + m.symbol().length;
}

function onDepthDiff(m: spot.DepthDiffStreamEventDecoder): void {
  sink += m.eventTime + m.firstBookUpdateId + m.lastBookUpdateId + m.symbol().length;
  const b = m.bids();
  while (b.next()) sink += b.price + b.qty;
  const a = m.asks();
  while (a.next()) sink += a.price + a.qty;
}

function sbeDecode(list: Buffer[]): void {
  for (let i = 0; i < list.length; i++) {
    const f = list[i]!;
    if (decoder.wrap(f, 0, f.length) !== DecodeStatus.Ok) throw new Error(`decode failed: ${decoder.error()?.message}`);
    switch (decoder.templateId) {
      case 10000:
        onTrade(decoder.tradesStreamEvent);
        break;
      case 10001:
        onBestBidAsk(decoder.bestBidAskStreamEvent);
        break;
      case 10003:
        onDepthDiff(decoder.depthDiffStreamEvent);
        break;
    }
  }
}

function jsonParse(list: string[]): void {
  for (let i = 0; i < list.length; i++) {
    const o = JSON.parse(list[i]!) as { E?: number };
    sink += o.E ?? 1;
  }
}

function jsonFull(list: string[], kind: Kind): void {
  for (let i = 0; i < list.length; i++) {
    const o = JSON.parse(list[i]!);
    if (kind === 'trade') sink += o.E + o.T + o.t + Number(o.p) + Number(o.q) + (o.m ? 1 : 0) + o.s.length;
    else if (kind === 'bookTicker') sink += o.u + Number(o.b) + Number(o.B) + Number(o.a) + Number(o.A) + o.s.length;
    else {
      sink += o.E + o.U + o.u + o.s.length;
      for (const [p, q] of o.b) sink += Number(p) + Number(q);
      for (const [p, q] of o.a) sink += Number(p) + Number(q);
    }
  }
}

/** ns per message: repeat the pass until a sample lasts long enough to time reliably. */
function measure(passes: () => void, count: number): number {
  let loops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  do {
    passes();
    loops++;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < BigInt(MIN_SAMPLE_MS * 1e6));
  return Number(elapsed) / (loops * count);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Row {
  kind: Kind;
  events: number;
  sbe_bytes_per_msg: number;
  json_bytes_per_msg: number;
  sbe_ns_per_msg: number;
  json_ns_per_msg: number;
  json_full_ns_per_msg: number;
  ratio: number;
  ratio_full: number;
  sbe_spread_ns: number[];
}
const results: Row[] = [];
let totalEvents = 0;
for (const kind of KINDS) {
  const f = frames[kind];
  const t = texts[kind];
  totalEvents += f.length;
  for (let w = 0; w < 3; w++) {
    sbeDecode(f);
    jsonParse(t);
    jsonFull(t, kind);
  }
  const sbe: number[] = [];
  const json: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < REPS; r++) {
    sbe.push(measure(() => sbeDecode(f), f.length));
    json.push(measure(() => jsonParse(t), t.length));
    full.push(measure(() => jsonFull(t, kind), t.length));
  }
  const row: Row = {
    kind,
    events: f.length,
    sbe_bytes_per_msg: Math.round(f.reduce((a, b) => a + b.length, 0) / f.length),
    json_bytes_per_msg: Math.round(t.reduce((a, b) => a + b.length, 0) / t.length),
    sbe_ns_per_msg: Number(median(sbe).toFixed(1)),
    json_ns_per_msg: Number(median(json).toFixed(1)),
    json_full_ns_per_msg: Number(median(full).toFixed(1)),
    ratio: Number((median(json) / median(sbe)).toFixed(1)),
    ratio_full: Number((median(full) / median(sbe)).toFixed(1)),
    sbe_spread_ns: [Number(Math.min(...sbe).toFixed(1)), Number(Math.max(...sbe).toFixed(1))],
  };
  results.push(row);
  console.log(
    `${kind.padEnd(12)} n=${String(row.events).padStart(6)}  sbe ${String(row.sbe_ns_per_msg).padStart(7)} ns  json.parse ${String(row.json_ns_per_msg).padStart(7)} ns (x${row.ratio})  json+numbers ${String(row.json_full_ns_per_msg).padStart(7)} ns (x${row.ratio_full})`,
  );
}

const weighted = (key: 'sbe_ns_per_msg' | 'json_ns_per_msg') => results.reduce((a, r) => a + r[key] * r.events, 0) / totalEvents;
if (sink === 42) console.log('');
console.log(
  JSON.stringify({
    bench: 'sbe',
    source,
    node: process.version,
    events: totalEvents,
    reps: REPS,
    sbe_ns_per_msg: Number(weighted('sbe_ns_per_msg').toFixed(1)),
    json_ns_per_msg: Number(weighted('json_ns_per_msg').toFixed(1)),
    ratio: Number((weighted('json_ns_per_msg') / weighted('sbe_ns_per_msg')).toFixed(1)),
    kinds: results,
  }),
);
