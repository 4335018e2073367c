/**
 * The chaos soak, short: the whole stack as OS processes (exchange-sim,
 * ingestor, two aggregators, two inference replicas, redis-server,
 * kinesalite) under ~1.5 minutes of seeded faults of every kind, then the
 * invariants of issue 14 on its JSON line. The run length is the soak's own;
 * everything else waits for conditions (the harness's deadlines bound it).
 */
import { describe, expect, it } from 'vitest';
import { runChaosSoak, SHUTDOWN_DEADLINE_MS } from '../scripts/chaos/soak.ts';

interface Line {
  ok: boolean;
  failed: string[];
  harness_error?: string;
  fault_kinds: number;
  faults: Record<string, number>;
  trades: { expected: number; lost: number; duplicated: number; lost_runs_sample: unknown[] };
  replay: { vector_equal: boolean; engine_state_equal: boolean; version_live: number; version_replay: number };
  ticks: { expected: number; written: number; silent: number; misaligned: number; silent_sample_ms: number[] };
  healthy_while_broken_s: { max_streak: Record<string, number>; total: Record<string, number>; episodes: unknown[] };
  shutdown_ms: { count: number; max: Record<string, number>; over_deadline: number; sigkilled: number };
  crashes: Record<string, number>;
  crash_log: string[];
  recovery_ms: number | null;
  orphans: number;
  orphan_sample: unknown[];
}

describe('chaos soak (short)', () => {
  it(
    'under seeded faults of every kind: no trade lost or doubled, live = replay, no silent tick, health never lies, bounded shutdowns, no crash, no orphan',
    async () => {
      const report = await runChaosSoak({ minutes: 1.5, seed: Number(process.env['SOAK_SEED'] ?? 1), log: (l) => process.stderr.write(`chaos: ${l}\n`) });
      const line = report.line as unknown as Line;
      // the whole line in the output: a failure below is read against it
      console.log(JSON.stringify(line));
      expect(line.harness_error).toBeUndefined();
      expect(line.fault_kinds).toBeGreaterThanOrEqual(10);

      expect(line.trades.expected).toBeGreaterThan(0);
      expect(line.trades.lost, JSON.stringify(line.trades.lost_runs_sample)).toBe(0);
      expect(line.trades.duplicated).toBe(0);
      expect(line.replay).toMatchObject({ vector_equal: true, engine_state_equal: true });
      expect(line.replay.version_live).toBe(line.replay.version_replay);

      expect(line.ticks.expected).toBeGreaterThan(0);
      expect(line.ticks.silent, JSON.stringify(line.ticks.silent_sample_ms)).toBe(0);
      expect(line.ticks.misaligned).toBe(0);

      // beyond each service's own detection threshold plus the probe's documented grace (GRACE_MS)
      expect(line.healthy_while_broken_s.total, JSON.stringify(line.healthy_while_broken_s.episodes)).toEqual({});

      expect(line.shutdown_ms.count).toBeGreaterThanOrEqual(7);
      expect(Math.max(...Object.values(line.shutdown_ms.max))).toBeLessThanOrEqual(SHUTDOWN_DEADLINE_MS);
      expect(line.shutdown_ms).toMatchObject({ over_deadline: 0, sigkilled: 0 });

      expect(line.crashes, JSON.stringify(line.crash_log)).toEqual({});
      expect(line.recovery_ms).not.toBeNull();
      expect(line.orphans, JSON.stringify(line.orphan_sample)).toBe(0);
      expect(report.failed).toEqual([]);
    },
    10 * 60_000,
  );
});
