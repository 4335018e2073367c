/**
 * bench:scale's simulator process: apps/exchange-sim/bin/start.ts (SIM_* env) with made-up markets added first.
 * The simulator knows three instruments (libs/market SYMBOLS); a symbol named `X<nnn>USDT` here is its own market
 * on the spec of one of them in turn (BTC, ETH, DOGE: their tick sizes, prices and live-like taker rates) — its
 * own seed (the simulator's per-symbol seed is a hash of the name), so no two books move together.
 */
import { SYMBOLS } from '@hotpath/market';

const bases = [SYMBOLS['BTCUSDT']!, SYMBOLS['ETHUSDT']!, SYMBOLS['DOGEUSDT']!];
for (const symbol of (process.env['SIM_SYMBOLS'] ?? '').split(',')) {
  const m = /^X(\d{3})USDT$/.exec(symbol);
  if (m === null || SYMBOLS[symbol] !== undefined) continue;
  const base = bases[Number(m[1]) % bases.length]!;
  SYMBOLS[symbol] = { ...base, symbol, baseAsset: `X${m[1]}` };
}
await import('../../apps/exchange-sim/bin/start.ts');
