/**
 * `pnpm bench:peers` on the committed fixture (BENCH_QUICK=1): its last line
 * is the JSON the issue asks for (ns per message and ratios per kind, book
 * alone, goals), its correctness check compared every contender with our book
 * at more than 1000 diff boundaries and found nothing, and a contender fed one
 * dropped level is caught: the bench names it and exits non-zero. Speed
 * itself is not asserted: how fast this machine is, is the bench's business.
 */
import { describe, expect, it } from 'vitest';
import { runPnpmScript } from './support/run-bench.ts';

const runBench = (extra: Record<string, string>) => runPnpmScript('bench:peers', { BENCH_QUICK: '1', BENCH_PEERS_SOURCE: 'fixture', ...extra }, 240_000);

const CONTENDERS = ['oursSbe', 'oursJson', 'tardis', 'ccxt', 'jsonParse'];

describe('pnpm bench:peers', () => {
  it('prints one JSON line: per-kind figures and ratios, book alone, goals, after a clean correctness check', { timeout: 300_000 }, async () => {
    const { code, stdout, stderr } = await runBench({});
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1); // human lines first
    const result = JSON.parse(lines.at(-1)!);
    expect(result).toMatchObject({ bench: 'peers', ok: true, source: 'fixture', quick: true, ccxt: '4.5.84', tardis_dev: '13.35.3' });
    expect(result.correctness.mismatches).toBe(0);
    expect(result.correctness.diff_boundaries).toBeGreaterThan(1000);
    expect(result.correctness.top_levels_per_side).toBe(20);
    expect(result.correctness.book_ticker_checked).toBeGreaterThan(0);
    expect(result.correctness.trades_checked).toBeGreaterThan(0);
    for (const kind of ['depth', 'bookTicker', 'trade']) {
      const k = result.kinds[kind];
      expect(k.events).toBeGreaterThan(0);
      expect(Object.keys(k.ns_per_msg).sort()).toEqual([...CONTENDERS].sort());
      for (const c of CONTENDERS) {
        const s = k.ns_per_msg[c];
        expect(s.median).toBeGreaterThan(0);
        expect(s.min).toBeLessThanOrEqual(s.median);
        expect(s.max).toBeGreaterThanOrEqual(s.median);
      }
      expect(Object.keys(k.ratios).sort()).toEqual(['ccxt_vs_oursJson', 'ccxt_vs_oursSbe', 'oursJson_vs_floor', 'oursSbe_vs_floor', 'tardis_vs_oursJson', 'tardis_vs_oursSbe']);
      for (const r of Object.values(k.ratios)) expect(r).toBeGreaterThan(0);
    }
    expect(result.kinds.depth.events).toBe(result.correctness.diff_boundaries);
    expect(Object.keys(result.book_alone.ns_per_diff).sort()).toEqual(['ccxt', 'ours', 'tardis']);
    expect(result.book_alone.ratios.tardis_vs_ours).toBeGreaterThan(0);
    expect(result.book_alone.ratios.ccxt_vs_ours).toBeGreaterThan(0);
    expect(typeof result.goal.ours_vs_tardis_end_to_end_depth_ge_10x).toBe('boolean');
    expect(result.goal.ours_vs_tardis_end_to_end_depth_ratio).toBe(result.kinds.depth.ratios.tardis_vs_oursSbe);
    expect(typeof result.goal.our_book_alone_ahead_of_both).toBe('boolean');
  });

  for (const victim of ['tardis', 'ccxt', 'oursSbe']) {
    it(`fails (exit 1, the disagreement printed) when ${victim} is fed a diff with one level dropped`, { timeout: 300_000 }, async () => {
      const { code, stdout, stderr } = await runBench({ BENCH_PEERS_CORRUPT: victim });
      expect(code, `${stdout}\n${stderr}`).toBe(1);
      expect(stdout).toMatch(new RegExp(`^MISMATCH ${victim} at diff #\\d+`, 'm'));
      // only the corrupted contender disagrees
      for (const other of ['tardis', 'ccxt', 'oursSbe'].filter((n) => n !== victim)) expect(stdout).not.toMatch(new RegExp(`^MISMATCH ${other}`, 'm'));
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
      expect(result).toMatchObject({ bench: 'peers', ok: false, correctness: { corrupted: victim } });
      expect(result.correctness.mismatches).toBeGreaterThan(0);
    });
  }
});
