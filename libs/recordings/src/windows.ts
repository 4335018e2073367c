/**
 * Every real recording window in ../shared/data/real/hftbacktest (SOURCES.md
 * there), what it is and whether a book can be built from it. Day files of
 * one window continue one another (trade and update ids run on across the
 * midnight rotation). Windows recorded at the same time share a `group`:
 * their markets move together, so a held-out evaluation holds out the whole
 * group, never one market of it while training on another.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedRealDataDir } from './fixtures.ts';

export type RealMarket = 'spot' | 'usdm' | 'coinm';

export interface RealWindow {
  /** e.g. `usdm-2024-07-18`. */
  id: string;
  market: RealMarket;
  /** The recorded symbol (COIN-M: BTCUSD_PERP, quantities converted from contracts to BTC by the reader). */
  symbol: string;
  /** Windows recorded at the same time share one (the UTC date the window starts on, joined by what overlaps it). */
  group: string;
  /** Day files in order, relative to `hftbacktest/`. */
  files: string[];
  /** A REST depth snapshot at the start: without one the documented book procedure cannot start. */
  snapshot: boolean;
  /** Exchange-time span from SOURCES.md, for people. */
  span: string;
}

/** One row of the table below (fields in RealWindow's order). */
const window = (id: string, market: RealMarket, symbol: string, group: string, files: string[], snapshot: boolean, span: string): RealWindow => ({ id, market, symbol, group, files, snapshot, span });

export const REAL_WINDOWS: readonly RealWindow[] = [
  window('spot-2024-08-08', 'spot', 'BTCUSDT', '2024-08-08', ['spot/btcusdt_20240808.gz', 'spot/btcusdt_20240809.gz'], true, '2024-08-08 23:54:15 → 08-09 00:05:06 UTC'),
  window('usdm-2024-08-08', 'usdm', 'BTCUSDT', '2024-08-08', ['usdm/btcusdt_20240808.gz'], true, '2024-08-08 23:54:16 → 08-09 00:00:01 UTC'),
  window('coinm-2024-08-08', 'coinm', 'BTCUSD_PERP', '2024-08-08', ['cm/btcusd_perp_20240808.gz', 'cm/btcusd_perp_20240809.gz'], true, '2024-08-08 23:54:17 → 08-09 00:05:05 UTC'),
  window('usdm-2024-07-18', 'usdm', 'BTCUSDT', '2024-07-18', ['usdm/btcusdt_20240718.gz', 'usdm/btcusdt_20240719.gz'], true, '2024-07-18 23:57:02 → 07-19 00:05:02 UTC'),
  window('usdm-2023-04-04', 'usdm', 'BTCUSDT', '2023-04-04', ['usdm/btcusdt_20230404.dat.gz', 'usdm/btcusdt_20230405.dat.gz'], true, '2023-04-04 23:58:20 → 04-05 00:06:55 UTC'),
  // its snapshot was in the previous day's file, which the source repository does not have
  window('spot-2023-04-05', 'spot', 'BTCUSDT', '2023-04-04', ['spot/btcusdt_20230405.dat.gz'], false, '2023-04-05 00:00:00 → 00:06:55 UTC'),
];

/** The windows whose files are all present under `dir` (default ../shared/data/real), with absolute paths; [] without the share. */
export function presentRealWindows(dir = sharedRealDataDir()): { window: RealWindow; paths: string[] }[] {
  if (dir === undefined) return [];
  return REAL_WINDOWS.map((window) => ({ window, paths: window.files.map((f) => join(dir, 'hftbacktest', f)) })).filter((w) => w.paths.every((p) => existsSync(p)));
}
