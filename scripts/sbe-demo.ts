/**
 * The codec demo (the README's main command until the full stack lands):
 * replays the committed real Binance capture through the SBE encoders and
 * the generated decoders and prints what it decoded. Plain text, then a
 * last line of JSON.
 */
import { parseCli } from '@hotpath/config';
import type { JsonBookTicker, JsonDepthUpdate, JsonTrade } from '@hotpath/sbe';

parseCli({
  name: 'pnpm demo:sbe',
  usage: `

Replays the committed real Binance capture (fixtures/binance) through the SBE encoders and the generated
decoders: a few decoded trades and depth diffs, the counts, SBE bytes against JSON bytes, and a last line
of JSON. Exit 1 when a frame failed to decode. Takes no flags and reads no environment variables.`,
  examples: ['pnpm demo:sbe'],
});
// (loaded after the arguments: --help answers without loading the codecs and the capture)
const { FIXTURE_SPOT_BTCUSDT, readRecording } = await import('@hotpath/recordings');
const { BinanceJsonTranscoder, DecodeStatus, classifyPayload, spot } = await import('@hotpath/sbe');

const transcoder = new BinanceJsonTranscoder();
const decoder = new spot.SpotStreamDecoder();
const buf = Buffer.alloc(256 * 1024);
const counts = { trade: 0, bookTicker: 0, depthUpdate: 0, failed: 0 };
let jsonBytes = 0;
let sbeBytes = 0;
let shown = 0;

for (const line of readRecording(FIXTURE_SPOT_BTCUSDT)) {
  const kind = classifyPayload(line.data);
  let n: number;
  if (kind === 'trade') n = transcoder.encodeTrade(line.data as JsonTrade, buf);
  else if (kind === 'bookTicker') n = transcoder.encodeBookTicker(line.data as JsonBookTicker, Math.round(line.localTime / 1000), buf);
  else if (kind === 'depthUpdate') n = transcoder.encodeDepthUpdate(line.data as JsonDepthUpdate, buf);
  else continue;
  jsonBytes += Buffer.byteLength(line.json);
  sbeBytes += n;
  if (decoder.wrap(buf, 0, n) !== DecodeStatus.Ok) {
    counts.failed++;
    console.error(decoder.error()?.message);
    continue;
  }
  counts[kind]++;
  if (shown < 6 && (kind === 'trade' || (kind === 'depthUpdate' && shown % 2 === 1))) {
    shown++;
    if (decoder.templateId === spot.TradesStreamEventDecoder.TEMPLATE_ID) {
      const m = decoder.tradesStreamEvent;
      const t = m.trades();
      t.next();
      console.log(`trade  ${m.symbol()} id=${t.id} price=${t.priceDecimal()} qty=${t.qtyDecimal()} ${t.isBuyerMaker ? 'sell' : 'buy '} at ${new Date(m.eventTime / 1000).toISOString()}`);
    } else {
      const m = decoder.depthDiffStreamEvent;
      const b = m.bids();
      const a = m.asks();
      console.log(`depth  ${m.symbol()} ids ${m.firstBookUpdateId}..${m.lastBookUpdateId}: ${b.count} bid and ${a.count} ask levels (${n} bytes SBE)`);
    }
  }
}
console.log(`decoded ${counts.trade} trades, ${counts.bookTicker} best bid/asks, ${counts.depthUpdate} depth diffs; ${counts.failed} failures`);
console.log(`SBE ${sbeBytes} bytes vs JSON ${jsonBytes} bytes (${((100 * sbeBytes) / jsonBytes).toFixed(1)}%)`);
console.log(JSON.stringify({ demo: 'sbe', ...counts, sbeBytes, jsonBytes }));
process.exit(counts.failed === 0 ? 0 : 1);
