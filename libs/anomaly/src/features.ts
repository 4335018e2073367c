/**
 * The market half of a tick's input, read from a feature vector of the
 * current feature set (libs/features): its layout is fixed by the schema
 * hash, so a vector of another set gives NaN here (counted, never judged).
 */
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import type { AnomalyInput } from './detector.ts';

// (each name is in the set: the package's tests read every one of them)
const at = (name: string): number => FEATURE_NAMES.indexOf(name);
const RET_MID_10S = at('ret_mid_bps_10s');
const SPREAD = at('spread_bps');
const IMBALANCE_1 = at('book_imbalance_1');
/** The trade rate's window: 5 s smooths the second-to-second clumping of trades, yet a burst shows within a tick or two. */
export const TRADE_RATE_WINDOW_S = 5;
const TRADES = at(`trade_count_${TRADE_RATE_WINDOW_S}s`);

/** Fills the market fields of `out` from `features` (NaN when the vector is of another feature set); the pipeline fields are left as they are. */
export function marketInput(features: Float64Array, schemaHash: string, out: AnomalyInput): AnomalyInput {
  const ours = schemaHash === FEATURE_SCHEMA_HASH && features.length === FEATURE_NAMES.length;
  out.retMidBps = ours ? features[RET_MID_10S]! : Number.NaN;
  out.spreadBps = ours ? features[SPREAD]! : Number.NaN;
  out.imbalance = ours ? features[IMBALANCE_1]! : Number.NaN;
  out.tradeRate = ours ? features[TRADES]! / TRADE_RATE_WINDOW_S : Number.NaN;
  return out;
}

/** An input with every field unknown, to be filled tick after tick (one per caller, reused). */
export function emptyInput(): AnomalyInput {
  return { retMidBps: Number.NaN, spreadBps: Number.NaN, imbalance: Number.NaN, tradeRate: Number.NaN, latencyMs: Number.NaN, featureAgeMs: Number.NaN };
}
