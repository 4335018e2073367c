/**
 * Where recorded Binance market data lives: the committed fixture excerpt and,
 * when the development share is mounted beside the repository, the full real
 * recordings.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The committed real-data excerpt: ~2 min of spot BTCUSDT with its initial REST snapshot. */
export const FIXTURE_SPOT_BTCUSDT = join(repoRoot, 'fixtures/binance/hftbacktest/btcusdt_20240808_first15000.gz');

/** ≈ 25 s of USDⓈ-M perpetual BTCUSDT (2023 `.dat`: µs clock, markPrice lines), starting with its REST snapshot. */
export const FIXTURE_USDM_BTCUSDT = join(repoRoot, 'fixtures/binance/hftbacktest/usdm_btcusdt_20230404_first3000.dat.gz');

/** ≈ 18 s of COIN-M perpetual BTCUSD_PERP (quantities in 100 USD contracts): 23 diffs, the REST snapshot, then the stream. */
export const FIXTURE_COINM_BTCUSD_PERP = join(repoRoot, 'fixtures/binance/hftbacktest/cm_btcusd_perp_20240808_first2500.gz');

/** The real recordings shipped beside the repository on development machines, if present. */
export function sharedRealDataDir(): string | undefined {
  const dir = resolve(repoRoot, '../shared/data/real');
  return existsSync(dir) ? dir : undefined;
}

/** Spot BTCUSDT recordings in chronological order (the full window when available, else the fixture). */
export function spotBtcusdtRecordings(): { files: string[]; source: 'shared' | 'fixture' } {
  const dir = sharedRealDataDir();
  if (dir !== undefined) {
    const files = ['btcusdt_20240808.gz', 'btcusdt_20240809.gz'].map((f) => join(dir, 'hftbacktest/spot', f));
    if (files.every((f) => existsSync(f))) return { files, source: 'shared' };
  }
  return { files: [FIXTURE_SPOT_BTCUSDT], source: 'fixture' };
}
