/**
 * Named sets of market parameters. `default` is the market every service,
 * test and the shipped model were built on. `binance` is calibrated to the
 * real Binance recordings (../shared/data/real; apps/trainer's market
 * statistics, docs/exchange-sim.md): spot BTCUSDT's trade rate and 10 s
 * volatility, a touch about two ticks wide instead of seven, and a price
 * impact of order flow (OFI → 10 s return, ≈ 0.12 bps per BTC, r ≈ 0.8) of
 * the real one's size instead of ≈ 50× smaller. Opt-in: its book changes
 * about six times as often, which moves the load every stack test, bench and
 * soak was measured at.
 *
 * Predictability is its own parameter in both, unchanged by the calibration:
 * `quoteLagSeconds` (τ, how far the book trails the latent fair price) with
 * `informedness` (κ, how much takers lean towards it). τ = 4 s and κ = 0.9 put
 * the oracle at ≈ 62–68 % and make 10 s returns positively autocorrelated
 * (≈ 0.2–0.3; real windows ≈ 0); τ = 2 s gives ≈ 62 % and ≈ 0.15.
 */
import { DEFAULT_PARAMS, type ModelParams } from './model.ts';
import type { SymbolSpec } from './symbols.ts';

export interface MarketProfile {
  params: ModelParams;
  /** Per-symbol overrides of SYMBOLS. */
  specs: Readonly<Record<string, Partial<SymbolSpec>>>;
}

export const MARKET_PROFILES = {
  default: { params: DEFAULT_PARAMS, specs: {} },
  binance: {
    params: { ...DEFAULT_PARAMS, limitRate: 300, cancelRate: 270 },
    specs: { BTCUSDT: { takerRate: 2.5, dailyVol: 0.03 } },
  },
} as const satisfies Record<string, MarketProfile>;

export type MarketProfileName = keyof typeof MARKET_PROFILES;
export const MARKET_PROFILE_NAMES = Object.keys(MARKET_PROFILES) as MarketProfileName[];
