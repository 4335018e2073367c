/**
 * bench:scale's simulator process: what apps/exchange-sim/bin/start.ts does (SIM_* env), through the package's
 * exports, with made-up markets added first.
 * The simulator knows three instruments (libs/market SYMBOLS); a symbol named `X<nnn>USDT` here is its own market
 * on the spec of one of them in turn (BTC, ETH, DOGE: their tick sizes, prices and live-like taker rates) — its
 * own seed (the simulator's per-symbol seed is a hash of the name), so no two books move together.
 */
import { configOrExit } from '@hotpath/config';
import { SYMBOLS } from '@hotpath/market';
import { Lifecycle, main } from '@hotpath/service';

const bases = [SYMBOLS['BTCUSDT']!, SYMBOLS['ETHUSDT']!, SYMBOLS['DOGEUSDT']!];
for (const symbol of (process.env['SIM_SYMBOLS'] ?? '').split(',')) {
  const m = /^X(\d{3})USDT$/.exec(symbol);
  if (m === null || SYMBOLS[symbol] !== undefined) continue;
  const base = bases[Number(m[1]) % bases.length]!;
  SYMBOLS[symbol] = { ...base, symbol, baseAsset: `X${m[1]}` };
}
// (imported after the markets are added: the simulator reads SYMBOLS when its config is parsed)
const { ExchangeSimulator, simConfigFromEnv } = await import('exchange-sim');
const config = configOrExit(() => simConfigFromEnv(process.env));
await main(() => {
  const sim = new ExchangeSimulator(config);
  return { log: sim.log, lifecycle: new Lifecycle().add({ name: 'exchange-sim', start: () => sim.start(), stop: () => sim.stop() }) };
});
