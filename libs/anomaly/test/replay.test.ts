/**
 * The detector on real Binance data: the committed excerpt (2 min of spot BTCUSDT, 2024-08-08 23:54:15 →,
 * fixtures/binance/hftbacktest) replayed through the aggregator's own processor and sampled every 2 s as a live
 * tick reads it (test/support/replay.ts). With the shipped thresholds the excerpt is a quiet stretch and nothing
 * fires; with an operator's tighter settings the moments that fire are exactly these. The full real windows
 * (../shared, not in CI) are `pnpm anomalies:replay`; their table is in docs/anomalies.md.
 */
import { describe, expect, it } from 'vitest';
import { FIXTURE_SPOT_BTCUSDT } from '@hotpath/recordings';
import { DEFAULT_ANOMALY_CONFIG } from '../src/index.ts';
import { replayAnomalies, type Replay } from './support/replay.ts';

const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);
/** The replay's events as table rows: time (UTC), kind, value, threshold (3 decimals), ticks on. */
const table = (r: Replay) => r.events.map((e) => [time(e.tickMs), e.kind, +e.value.toFixed(3), +e.threshold.toFixed(3), e.ticks]);

describe('anomalies replayed on the committed real excerpt', () => {
  // one replay per setting for the whole file: each takes a second or two of CPU
  const shipped = replayAnomalies([FIXTURE_SPOT_BTCUSDT], 'BTCUSDT');
  /** Tighter: a 1 min window warmed up in 20 s, price jumps at 3 σ, bursts at 2.5 × the median rate, |imbalance| over 0.98. */
  const tight = replayAnomalies([FIXTURE_SPOT_BTCUSDT], 'BTCUSDT', { window: 30, warmup: 10, priceJumpK: 3, tradeBurstM: 2.5, imbalanceLevel: 0.98 });

  it('is sampled like a live tick: every 2 s of exchange time from the first live book, each input judged', () => {
    expect(shipped.ticks).toHaveLength(68);
    expect([time(shipped.ticks[0]!.tickMs), time(shipped.ticks.at(-1)!.tickMs)]).toEqual(['23:54:16', '23:56:30']);
    expect(shipped.ticks.every((t, i) => i === 0 || t.tickMs - shipped.ticks[i - 1]!.tickMs === 2_000)).toBe(true);
    // nothing unknown in a live book's vector (latency is not judged offline: there is no pipeline)
    expect(Object.values(shipped.detector.problems).every((p) => p.non_finite === 0 && p.out_of_range === 0)).toBe(true);
    // what the shipped thresholds met: one-tick spread throughout, |10 s return| ≤ 6.1 bps, ≤ 60 trades/s, age < 0.1 s
    const most = (f: (t: (typeof shipped.ticks)[number]) => number) => Math.max(...shipped.ticks.map(f));
    expect(most((t) => Math.abs(t.input.retMidBps))).toBeCloseTo(6.05, 2);
    expect(most((t) => t.input.tradeRate)).toBeCloseTo(59.8, 6);
    expect(most((t) => t.input.featureAgeMs)).toBeLessThan(100);
    expect(new Set(shipped.ticks.map((t) => t.input.spreadBps.toFixed(4)))).toEqual(new Set(['0.0016']));
  });

  it('with the shipped thresholds this quiet stretch fires none', () => {
    expect(shipped.detector.config).toEqual({ ...DEFAULT_ANOMALY_CONFIG, kinds: expect.any(Array) });
    expect(shipped.ticks.length).toBeGreaterThan(DEFAULT_ANOMALY_CONFIG.warmup + 30); // a minute and more judged by every rule
    expect(table(shipped)).toEqual([]);
  });

  it('with tighter settings, these moments fire: the top of the book emptied three times, two trade bursts (one the 23:55:50 sell-off)', () => {
    expect(table(tight)).toEqual([
      ['23:54:40', 'imbalance_extreme', 0.989, 0.98, 1],
      // (the median behind a threshold is refreshed every 5th sample: this one was 15.3 trades/s, as at 23:55:50)
      ['23:55:04', 'trade_burst', 42.4, 38.25, 1],
      ['23:55:48', 'imbalance_extreme', -0.988, 0.98, 1],
      // 59.8 trades/s against a median of 15.3: the mid fell 6 bps in 10 s (not 3 σ of that minute: no price_jump)
      ['23:55:50', 'trade_burst', 59.8, 38.25, 2],
      ['23:55:56', 'imbalance_extreme', 0.995, 0.98, 1],
    ]);
    // and the minute after the sell-off (23:55:58 →) is quiet again
    expect(tight.ticks.filter((t) => t.tickMs > tight.events.at(-1)!.tickMs).every((t) => t.anomalies.length === 0)).toBe(true);
  });

  it('each event is its rule applied to the tick’s input', () => {
    for (const e of tight.events) {
      const tick = tight.ticks.find((t) => t.tickMs === e.tickMs)!;
      const input = {
        price_jump: tick.input.retMidBps,
        spread_blowout: tick.input.spreadBps,
        imbalance_extreme: tick.input.imbalance,
        trade_burst: tick.input.tradeRate,
        feature_age_spike: tick.input.featureAgeMs,
      }[e.kind as 'price_jump'];
      expect(e.value).toBe(input);
      expect(Math.abs(e.value)).toBeGreaterThan(e.threshold);
      expect(tick.started).toContain(e.kind);
    }
  });
});
