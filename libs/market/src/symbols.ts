/** Simulated instruments with Binance's filters (tick and lot sizes) and the SBE exponents Binance uses. */
export interface SymbolSpec {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  /** PRICE_FILTER tickSize as a decimal string. */
  tickSize: string;
  /** LOT_SIZE stepSize as a decimal string. */
  stepSize: string;
  /** Starting price (quote units). */
  initialPrice: number;
  /** Daily volatility of the fair price in the quiet regime (fraction, e.g. 0.025). */
  dailyVol: number;
  /** Median taker order size in base units. */
  medianOrderSize: number;
  /** Taker orders per second per side at rest (live BTCUSDT: roughly 10-30 trades/s in total). */
  takerRate: number;
}

export const PRICE_EXPONENT = -8;
export const QTY_EXPONENT = -8;

export const SYMBOLS: Record<string, SymbolSpec> = {
  BTCUSDT: {
    symbol: 'BTCUSDT',
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    tickSize: '0.01',
    stepSize: '0.00001',
    initialPrice: 60000,
    dailyVol: 0.025,
    medianOrderSize: 0.004,
    takerRate: 4,
  },
  ETHUSDT: {
    symbol: 'ETHUSDT',
    baseAsset: 'ETH',
    quoteAsset: 'USDT',
    tickSize: '0.01',
    stepSize: '0.0001',
    initialPrice: 3000,
    dailyVol: 0.035,
    medianOrderSize: 0.08,
    takerRate: 4,
  },
  DOGEUSDT: {
    symbol: 'DOGEUSDT',
    baseAsset: 'DOGE',
    quoteAsset: 'USDT',
    tickSize: '0.00001',
    stepSize: '1',
    initialPrice: 0.16,
    dailyVol: 0.05,
    medianOrderSize: 2000,
    takerRate: 2,
  },
};

/** Mantissa (at exponent -8) of one tick / one lot. */
export function unitMantissa(step: string, exponent: number): number {
  const [int = '0', frac = ''] = step.split('.');
  const digits = Number(int + frac);
  const scale = -exponent - frac.length;
  if (scale < 0) throw new Error(`${step} is finer than exponent ${exponent}`);
  return digits * 10 ** scale;
}
