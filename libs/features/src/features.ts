/**
 * The feature set: names, version and schema hash, and the function that
 * fills a vector from the engine's state at an event time. The same code
 * runs live (aggregator) and offline (trainer), so a replay reproduces every
 * value exactly.
 */
import { createHash } from 'node:crypto';

export const FEATURE_SET_NAME = 'btc-microstructure';
export const FEATURE_SET_VERSION = 1;

/** Rolling trade / mid windows, seconds. */
export const WINDOWS_S = [1, 5, 10, 30, 60] as const;
/** Order-flow-imbalance windows, seconds. */
export const OFI_WINDOWS_S = [1, 5, 10] as const;

const perWindow = ['ret_mid_bps', 'ret_trade_bps', 'vwap_dev_bps', 'trade_count', 'buy_volume', 'sell_volume', 'volume_imbalance', 'mean_trade_size', 'realized_vol_bps'];

export const FEATURE_NAMES: readonly string[] = [
  ...WINDOWS_S.flatMap((w) => perWindow.map((f) => `${f}_${w}s`)),
  'time_since_last_trade_s',
  'spread_bps',
  'microprice_dev_bps',
  'book_imbalance_1',
  'book_imbalance_5',
  'book_imbalance_10',
  'depth_10bps_bid',
  'depth_10bps_ask',
  ...OFI_WINDOWS_S.map((w) => `ofi_${w}s`),
  'price_discontinuity',
];

/** sha256 over name, version and the ordered feature names: a model trained on another set is refused. */
export const FEATURE_SCHEMA_HASH = createHash('sha256')
  .update(`${FEATURE_SET_NAME}\n${FEATURE_SET_VERSION}\n${FEATURE_NAMES.join('\n')}`)
  .digest('hex')
  .slice(0, 16);

export const FEATURE_COUNT = FEATURE_NAMES.length;
