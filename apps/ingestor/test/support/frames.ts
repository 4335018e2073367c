import { BinanceJsonTranscoder } from '@hotpath/sbe';

const transcoder = new BinanceJsonTranscoder();

/** A BTCUSDT depth diff as Binance's SBE stream sends it: update id `updateId`, `levels` bids and asks. */
export function depthFrame(updateId: number, levels: number, eventTimeMs = Date.now()): Buffer {
  const side = Array.from({ length: levels }, (_, i): [string, string] => [`${60000 + i * 0.01}`, '1.5']);
  const out = Buffer.alloc(64 + levels * 2 * 16 + 64);
  const n = transcoder.encodeDepthUpdate({ e: 'depthUpdate', E: eventTimeMs, s: 'BTCUSDT', U: updateId, u: updateId, b: side, a: side }, out);
  return Buffer.from(out.subarray(0, n));
}

/** A one-trade SBE frame with trade id `id`. */
export function tradeFrame(id: number, symbol = 'BTCUSDT', timeMs = Date.now()): Buffer {
  const out = Buffer.alloc(256);
  return Buffer.from(out.subarray(0, transcoder.encodeTrade({ e: 'trade', E: timeMs, s: symbol, t: id, p: '60000.01', q: '0.001', T: timeMs, m: false }, out)));
}
