/**
 * Binance futures recordings (USDⓈ-M and COIN-M perpetuals) in the terms of
 * the live path, which speaks Binance *spot* SBE: its DepthDiffStreamEvent
 * carries first and last update ids but no `pu`.
 *
 * Sequencing. A futures diff `{U, u, pu}` continues the book when its `pu`
 * (the previous event's `u`) is the book's last update id; the first diff
 * after a REST snapshot with `lastUpdateId` L has `U <= L <= u`, and diffs
 * with `u < L` are dropped (Binance USDⓈ-M and COIN-M "How to manage a local
 * order book correctly", developers.binance.com/docs/derivatives/
 * usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly).
 * Update ids are not contiguous between futures events, so the
 * spot rule (`U = previous u + 1`) would call every diff a gap. Written with
 * firstBookUpdateId = `pu + 1`, the spot rules the book applies become the
 * futures rules:
 * - chain: `pu + 1 = previous u + 1` ⇔ `pu = previous u`;
 * - first diff: spot keeps the diff with `pu + 1 <= L + 1 <= u`, i.e.
 *   `pu <= L < u`. Every event's `pu < U` (checked on every recorded window),
 *   so a diff with `U <= L < u` is kept by both; the one difference is a diff
 *   ending exactly at L (`u = L`), which futures applies and spot drops as
 *   stale — it sets levels to their values as of L, which the snapshot already
 *   holds, so the book is the same either way; and an L between two events
 *   (`pu < L < U`: ids of other symbols' updates), where the futures rule
 *   cannot start while the mapping starts at the event after it, correctly:
 *   no update of this book happened between `pu` and `U` (on every recorded
 *   window L lies inside one event's [U, u]);
 * - a missing diff leaves the next one's `pu` above the book's id: a gap under
 *   both rules, and the processor re-anchors.
 * libs/processor's oracle test replays futures excerpts both ways (this
 * mapping through the live SymbolProcessor, Binance's futures rules in the
 * reference) and compares the whole book and every feature.
 *
 * COIN-M quantities are contracts (BTCUSD_PERP: 100 USD each). The features
 * are in base-asset units (BTC on spot and USDⓈ-M), so every COIN-M quantity
 * becomes BTC at the price it was quoted or traded at:
 * contracts × contract value / price, rounded half up to 1e-8 BTC.
 */

/** Contract value in quote currency (USD) of the COIN-M symbols we read; a symbol not here is linear (quantities in base units). */
export const COIN_M_CONTRACT_USD: Readonly<Record<string, number>> = { BTCUSD_PERP: 100, BTCUSD: 100 };

/** The firstBookUpdateId a futures diff is written with: the spot rules on it are the futures rules (see above). */
export function futuresFirstUpdateId(d: { U: number; u: number; pu: number }): number {
  return d.pu + 1;
}

const DECIMAL = /^(\d+)(?:\.(\d{0,8}))?$/;
const E8 = 100_000_000n;

/** "61804.7" → 6180470000000n (exponent −8), exactly; undefined for what is not a plain decimal with ≤ 8 places. */
function mantissa(decimal: string): bigint | undefined {
  const m = DECIMAL.exec(decimal);
  if (m === null) return undefined;
  return BigInt(m[1]!) * E8 + BigInt((m[2] ?? '').padEnd(8, '0'));
}

/**
 * A COIN-M quantity (contracts, a decimal string) at `price` (decimal string)
 * as base units, a decimal string with 8 places: contracts × contractUsd /
 * price, rounded half up, in integers (no float rounding). Undefined when
 * either string is not a plain decimal or the price is zero.
 */
export function contractsToBase(contracts: string, price: string, contractUsd: number): string | undefined {
  const q = mantissa(contracts);
  const p = mantissa(price);
  if (q === undefined || p === undefined || p === 0n || !Number.isSafeInteger(contractUsd) || contractUsd <= 0) return undefined;
  // base mantissa = q/1e8 · usd / (p/1e8) · 1e8 = q · usd · 1e8 / p
  const num = q * BigInt(contractUsd) * E8;
  const base = (2n * num + p) / (2n * p);
  const int = base / E8;
  const frac = (base % E8).toString().padStart(8, '0');
  return `${int}.${frac}`;
}
