/**
 * The real-data evaluation: balanced accuracy and the power calculation
 * against hand-computed values, the market statistics on a constructed
 * dataset, and the leave-one-group-out evaluation end to end on the committed
 * real excerpts (spot, USDⓈ-M, COIN-M) laid out as a share of windows.
 */
import { FEATURE_COUNT, FEATURE_NAMES } from '@hotpath/features';
import { REAL_WINDOWS } from '@hotpath/recordings';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../src/dataset.ts';
import { balancedAccuracy, callsToDetect, detectableAccuracy, normalQuantile, score } from '../src/evaluate.ts';
import { marketStats } from '../src/market-stats.ts';
import { evaluateReal, loadRealWindows, power, rows, verdict, type WindowData } from '../src/real.ts';
import { realEvaluationFigures, realSection } from '../src/report-real.ts';
import { fixtureShare } from './real-share.ts';

describe('balanced accuracy', () => {
  it('the mean of the per-direction hit rates, its interval worked by hand', () => {
    // up 30 of 40, down 20 of 50, overlap 5: 0.575; variance terms at (x+1)/(n+2) and n/5
    const b = balancedAccuracy(30, 40, 20, 50, 5);
    expect(b.value).toBeCloseTo(0.575, 12);
    expect(b.lo).toBeCloseTo(0.3597583, 6);
    expect(b.hi).toBeCloseTo(0.7902417, 6);
    // a class scored 100 % and the other 0 % on five moves each still has a width
    const c = balancedAccuracy(5, 5, 0, 5, 1);
    expect([c.value, c.lo, c.hi].map((v) => Number(v!.toFixed(6)))).toEqual([0.5, 0.283113, 0.716887]);
    expect(balancedAccuracy(3, 4, 0, 0, 1).value).toBeNull(); // no down moves: undefined, not 75 %
  });

  it('a predictor that always names the drift direction scores its share in directional accuracy and exactly 50 % balanced', () => {
    const y = [...Array.from({ length: 70 }, () => -1), ...Array.from({ length: 30 }, () => 2)];
    const s = score(
      y.map(() => -1),
      y,
      1,
    );
    expect(s.directionalAccuracy.value).toBeCloseTo(0.7, 12);
    expect(s.balancedAccuracy.value).toBe(0.5);
    // and a perfect one 100 % on both
    expect(score(y, y, 1).balancedAccuracy.value).toBe(1);
  });
});

describe('power', () => {
  it('normal quantiles to 1e-6 (tables)', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.8)).toBeCloseTo(0.841621, 6);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 6);
    expect(normalQuantile(0.99)).toBeCloseTo(2.326348, 6);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });

  it('55 % vs 50 %, two-sided α = 0.05, power 0.8: ((1.95996·0.5 + 0.84162·√0.2475) / 0.05)² = 782.5 calls; solved back, 782.5 calls detect 55 %', () => {
    expect(callsToDetect(0.5, 0.55)).toBeCloseTo(782.526, 2);
    expect(detectableAccuracy(782.526)).toBeCloseTo(0.55, 6);
    expect(detectableAccuracy(100)).toBeGreaterThan(0.6);
    // hours: 783 calls × 10 s / (share of non-zero moves) — all moves non-zero: 2.175 h
    const p = power(0, 500, 10, 5);
    expect(p.calls).toBe(783);
    expect(p.hours).toBeCloseTo((783 * 10) / 3600, 9);
    expect(p.haveCalls).toBe(100);
    expect(p.haveHours).toBeCloseTo((500 * 2) / 3600, 9);
    expect(power(0.5, 500, 10, 5).hours).toBeCloseTo((2 * 783 * 10) / 3600, 9);
  });
});

/** A dataset from given labels and features (every 2 s, 10 s labels). */
function constructed(y: number[], fill: (x: Float64Array, i: number) => void): Dataset {
  const X = y.map((_, i) => {
    const x = new Float64Array(FEATURE_COUNT).fill(0);
    fill(x, i);
    return x;
  });
  return {
    symbol: 'T',
    source: 't',
    names: FEATURE_NAMES,
    times: y.map((_, i) => i * 2_000_000),
    X,
    mid: [],
    last: [],
    y,
    momentum: y.map(() => 0),
    oracle: [],
    sampleEveryUs: 2_000_000,
    horizonUs: 10_000_000,
  };
}

describe('market statistics', () => {
  it('on a constructed market: spread, trade rate, zero and up shares, lag-one-horizon autocorrelation, the OFI impact slope', () => {
    const col = (n: string) => FEATURE_NAMES.indexOf(n);
    // labels alternate in blocks of five samples: +1 ×5, −1 ×5 … so the return one horizon later is the negation
    const y: number[] = Array.from({ length: 100 }, (_, i) => (Math.floor(i / 5) % 2 === 0 ? 1 : -1));
    y[0] = 0;
    const d = constructed(y, (x, i) => {
      x[col('spread_bps')] = 0.5;
      x[col('trade_count_10s')] = 30;
      x[col('ofi_10s')] = i % 3;
      x[col('ret_mid_bps_10s')] = 2 * (i % 3) + 1; // 2 bps per BTC of flow
    });
    const s = marketStats('constructed', [d]);
    expect(s.spreadBps).toBe(0.5);
    expect(s.tradesPerS).toBe(3);
    expect(s.zeroShare).toBeCloseTo(0.01, 12);
    expect(s.upShare).toBeCloseTo(49 / 99, 12);
    expect(s.autocorr10s).toBeLessThan(-0.95);
    expect(s.ofiImpactBpsPerBtc).toBeCloseTo(2, 12);
    expect(s.ofiImpactCorr).toBeCloseTo(1, 12);
  });
});

describe('leave-one-group-out on the committed real excerpts', () => {
  it('every window with a snapshot replays through the live path and is labelled; the one without is left out with its reason', async () => {
    const loaded = loadRealWindows(fixtureShare());
    expect(loaded.windows.map((w) => w.window.id)).toEqual(['spot-2024-08-08', 'coinm-2024-08-08', 'usdm-2023-04-04']);
    expect(loaded.skipped.map((s) => s.id)).toEqual(['spot-2023-04-05']);
    expect(loaded.skipped[0]!.reason).toMatch(/no REST depth snapshot/);
    for (const w of loaded.windows) {
      expect(w.d.times.length).toBeGreaterThan(5);
      expect(w.d.y.filter(Number.isFinite).length).toBeGreaterThan(2);
      expect(w.d.mid.every((m) => Number.isFinite(m) && m > 20_000 && m < 70_000)).toBe(true); // BTC prices, a live book at every sample
    }
    expect(loaded.windows.find((w) => w.window.id === 'usdm-2023-04-04')!.counts.markPrice).toBe(25);
    // COIN-M sizes are BTC now: a resting top of book of some hundreds of contracts is a few BTC, not hundreds
    const cm = loaded.windows.find((w) => w.window.market === 'coinm')!;
    const depth = FEATURE_NAMES.indexOf('depth_10bps_bid');
    expect(Math.max(...cm.d.X.map((x) => x[depth]!))).toBeLessThan(100);

    const e = await evaluateReal(loaded, { seed: 1, simPredict: (X) => ({ ret: X.map(() => 1), pUp: X.map(() => 0.6) }), minTrainSamples: 3 });
    expect(e.windows.map((w) => [w.id, w.group])).toEqual([
      ['spot-2024-08-08', '2024-08-08'],
      ['coinm-2024-08-08', '2024-08-08'],
      ['usdm-2023-04-04', '2023-04-04'],
    ]);
    for (const w of e.windows) {
      // drift: the other group's majority direction, exactly 50 % balanced wherever both directions occurred
      if (w.scores.drift.balancedAccuracy.value !== null) expect(w.scores.drift.balancedAccuracy.value).toBe(0.5);
      expect(w.scores.real.n).toBe(w.samples);
    }
    // the drift of the 2023 window is the majority direction of the 2024-08-08 group's labels, and vice versa
    const ys = (ids: string[]) => loaded.windows.filter((w) => ids.includes(w.window.id)).flatMap((w) => w.d.y.filter((v) => Number.isFinite(v) && v !== 0));
    const maj = (v: number[]) => (v.reduce((a, x) => a + Math.sign(x), 0) >= 0 ? 1 : -1);
    expect(e.windows.find((w) => w.id === 'usdm-2023-04-04')!.driftSign).toBe(maj(ys(['spot-2024-08-08', 'coinm-2024-08-08'])));
    expect(e.windows.find((w) => w.id === 'spot-2024-08-08')!.driftSign).toBe(maj(ys(['usdm-2023-04-04'])));
    expect(e.pooled.real.n).toBe(e.windows.reduce((a, w) => a + w.samples, 0));
    expect(e.stats.map((s) => s.label)).toEqual(['spot-2024-08-08', 'coinm-2024-08-08', 'usdm-2023-04-04', 'all real windows']);

    // the report section: every window a row in both accuracy tables and the statistics, the one left out with its reason, the verdict, costs and power
    const md = realSection(e, 'sim');
    for (const id of ['spot-2024-08-08', 'coinm-2024-08-08', 'usdm-2023-04-04']) expect(md.match(new RegExp(`^\\| ${id} \\|`, 'gm'))).toHaveLength(3);
    expect(md).toContain('**spot-2023-04-05**: left out — no REST depth snapshot');
    expect(md).toContain(e.verdict.statement);
    expect(md).toContain('### Net of costs (pooled held-out real windows)');
    expect(md).toMatch(/≈ \*\*783 independent calls\*\*/);
    const figures = realEvaluationFigures(e, e.verdict.defaultModel);
    expect(figures['real_live_default']).toBe(1);
    expect(realEvaluationFigures(e, e.verdict.defaultModel === 'sim' ? 'real' : 'sim')['real_live_default']).toBe(0);
    expect(figures['real_beats_baselines']).toBe(e.verdict.beatsBaselines ? 1 : 0);
  });

  it('purging: training rows whose label comes within one horizon of a held-out span are dropped', () => {
    const d = constructed(
      Array.from({ length: 50 }, () => 1),
      () => undefined,
    );
    const w = { window: REAL_WINDOWS[0]!, d, counts: {} as WindowData['counts'], minutes: 1 } as WindowData;
    expect(rows([w]).y).toHaveLength(50);
    // held out [40 s, 60 s]: labels [t, t + 10 s] must end before 30 s or start after 70 s
    const kept = rows([w], [[40_000_000, 60_000_000]]);
    const times = d.times.filter((t) => t + 10_000_000 <= 30_000_000 || t >= 70_000_000);
    expect(kept.y).toHaveLength(times.length);
  });

  it('verdict: the default is the better model; it beats the baselines only above every baseline and with an interval above 50 %', () => {
    const s = (value: number, lo: number) => ({
      n: 1,
      directional: 1,
      directionalAccuracy: { value, lo, hi: 1 },
      balancedAccuracy: { value, lo, hi: 1 },
      maeBps: 1,
      correlation: { value: 0, lo: 0, hi: 0 },
    });
    const v1 = verdict({ real: s(0.53, 0.48), sim: s(0.51, 0.45), imbalance: s(0.55, 0.5), momentum: s(0.5, 0.45), drift: s(0.5, 0.49) });
    expect([v1.defaultModel, v1.bestBaseline, v1.beatsBaselines]).toEqual(['real', 'imbalance', false]);
    expect(v1.statement).toMatch(/^No model beats the baselines/);
    const v2 = verdict({ real: s(0.53, 0.48), sim: s(0.6, 0.52), imbalance: s(0.55, 0.5), momentum: s(0.5, 0.45), drift: s(0.5, 0.49) });
    expect([v2.defaultModel, v2.beatsBaselines]).toEqual(['sim', true]);
    // above every baseline but its interval reaches 50 %: not a demonstrated edge
    expect(verdict({ real: s(0.58, 0.49), sim: s(0.5, 0.4), imbalance: s(0.55, 0.5), momentum: s(0.5, 0.45), drift: s(0.5, 0.49) }).beatsBaselines).toBe(false);
  });
});
