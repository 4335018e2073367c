/**
 * A share laid out like ../shared/data/real, built from the committed
 * excerpts only: the spot, USDⓈ-M and COIN-M fixtures as the first day file
 * of three windows (each starts at its REST snapshot), every other file of
 * those windows empty. The windows without a committed excerpt (the two later
 * USDⓈ-M ones) are absent; `only` keeps a subset of the window ids.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FIXTURE_COINM_BTCUSD_PERP, FIXTURE_SPOT_BTCUSDT, FIXTURE_USDM_BTCUSDT, REAL_WINDOWS } from '@hotpath/recordings';

export function fixtureShare(only?: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'real-share-'));
  const empty = gzipSync('');
  const first: Record<string, string> = {
    'spot/btcusdt_20240808.gz': FIXTURE_SPOT_BTCUSDT,
    'usdm/btcusdt_20230404.dat.gz': FIXTURE_USDM_BTCUSDT,
    'cm/btcusd_perp_20240808.gz': FIXTURE_COINM_BTCUSD_PERP,
  };
  for (const w of REAL_WINDOWS.filter((x) => x.id !== 'usdm-2024-08-08' && x.id !== 'usdm-2024-07-18' && (!only || only.includes(x.id))))
    for (const f of w.files) {
      const path = join(dir, 'hftbacktest', f);
      mkdirSync(dirname(path), { recursive: true });
      if (first[f]) symlinkSync(first[f]!, path);
      else writeFileSync(path, empty);
    }
  return dir;
}
