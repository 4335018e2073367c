/** bench:scale's symbols: BTCUSDT, then made-up markets X001USDT… (each its own book: bench/scale/exchange-sim.ts). */
export function symbolsFor(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'BTCUSDT' : `X${String(i).padStart(3, '0')}USDT`));
}
