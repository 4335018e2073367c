import { readRecording, spotBtcusdtRecordings } from '@hotpath/recordings';
import { BinanceJsonTranscoder, classifyPayload, spot, type JsonDepthUpdate } from '@hotpath/sbe';
const tr = new BinanceJsonTranscoder();
const frames: Buffer[] = []; const texts: string[] = [];
const scratch = Buffer.alloc(100000);
let levels = 0;
for (const file of spotBtcusdtRecordings().files) for (const l of readRecording(file)) if (classifyPayload(l.data) === 'depthUpdate') { const n = tr.encodeDepthUpdate(l.data as JsonDepthUpdate, scratch); frames.push(Buffer.from(scratch.subarray(0, n))); texts.push(l.json); levels += (l.data as JsonDepthUpdate).a.length + (l.data as JsonDepthUpdate).b.length; }
const d = new spot.DepthDiffStreamEventDecoder();
let sink = 0;
function i32(b: Uint8Array, o: number) { return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24); }
function i64(b: Uint8Array, o: number) { return i32(b, o + 4) * 4294967296 + (i32(b, o) >>> 0); }
function hand(f: Uint8Array) {
  let p = 8 + (f[0]! | f[1]! << 8);
  for (let side = 0; side < 2; side++) { const bl = f[p]! | f[p+1]! << 8; const n = f[p+2]! | f[p+3]! << 8; p += 4; for (let i = 0; i < n; i++, p += bl) sink += i64(f, p) / 1e8 + i64(f, p + 8) / 1e8; }
}
function gen(m: spot.DepthDiffStreamEventDecoder) { const b = m.bids(); while (b.next()) sink += b.price + b.qty; const a = m.asks(); while (a.next()) sink += a.price + a.qty; }
function runHand() { for (let i = 0; i < frames.length; i++) hand(frames[i]!); }
function runGen() { for (let i = 0; i < frames.length; i++) { const f = frames[i]!; d.wrap(f, 0, f.length); gen(d); } }
function runWrap() { for (let i = 0; i < frames.length; i++) { const f = frames[i]!; d.wrap(f, 0, f.length); } }
function runJson() { for (let i = 0; i < texts.length; i++) sink += JSON.parse(texts[i]!).E; }
const fns: [string, () => void][] = [['hand', runHand], ['gen', runGen], ['wrap', runWrap], ['json', runJson]];
const best: Record<string, number> = {};
for (let k = 0; k < 8; k++) for (const [name, fn] of fns) { const s = process.hrtime.bigint(); fn(); const ns = Number(process.hrtime.bigint() - s) / levels; best[name] = Math.min(best[name] ?? 1e9, ns); }
console.log(Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(2)} ns/level`).join('  '), (levels / frames.length).toFixed(1), 'levels/msg', sink > 0);
