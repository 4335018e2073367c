/**
 * train:watch's lifecycle around the cycle: its configuration from the
 * environment, the periodic timer, and a registry whose status file cannot be
 * written (logged, the job carries on). No captures: every cycle is a quick refusal.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WatchConfigSchema, watchConfigFromEnv } from '../src/watch-config.ts';
import { WatchJob } from '../src/watch-job.ts';

/** Resolves when `predicate` holds for a logged line; rejects after `ms` naming what it waited for. */
function logged(ms: number, what: string, predicate: (lines: Record<string, unknown>[]) => boolean) {
  const lines: Record<string, unknown>[] = [];
  let resolve!: () => void;
  const seen = new Promise<void>((r) => {
    resolve = r;
  });
  const log = (o: object) => {
    lines.push(o as Record<string, unknown>);
    if (predicate(lines)) resolve();
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  const wait = () => Promise.race([seen, deadline]).finally(() => clearTimeout(timer));
  return { lines, log, wait };
}

describe('train:watch configuration', () => {
  it('reads WATCH_* variables and the --once flag, defaults the rest, and names the variable that is wrong', () => {
    const c = watchConfigFromEnv({ WATCH_EVERY_HOURS: '2', WATCH_PORT: '0', WATCH_SYMBOL: 'ETHUSDT' }, { once: true });
    expect(c).toMatchObject({ everyHours: 2, port: 0, symbol: 'ETHUSDT', once: true, spanHours: 24, minSamples: 1000, registryDir: 'models/registry' });
    expect(watchConfigFromEnv({}).once).toBe(false);
    expect(() => watchConfigFromEnv({ WATCH_MIN_SAMPLES: '10' })).toThrow(/WATCH_MIN_SAMPLES/);
    expect(() => watchConfigFromEnv({ WATCH_SYMBOL: 'btc-usdt' })).toThrow(/WATCH_SYMBOL/);
  });
});

describe('train:watch job lifecycle', () => {
  const base = mkdtempSync(join(tmpdir(), 'watch-life-'));

  it('runs a cycle at start and then one every everyHours; every refusal counted', async () => {
    // 0.0001 h = 0.36 s between cycles
    const config = WatchConfigSchema.parse({ captureDir: join(base, 'none'), registryDir: join(base, 'registry'), everyHours: 0.0001, port: 0 });
    const refusals = (ls: Record<string, unknown>[]) => ls.filter((l) => l['msg'] === 'training cycle refused').length;
    const w = logged(20_000, 'three refused cycles', (ls) => refusals(ls) >= 3);
    const job = new WatchJob(config, { log: w.log });
    await job.start();
    try {
      await w.wait();
    } finally {
      await job.stop();
    }
    const cycles = job.status.cycles;
    expect(cycles).toBeGreaterThanOrEqual(3);
    expect(Object.values(job.status.refused).reduce((a: number, v) => a + (v ?? 0), 0)).toBe(cycles);
    expect(job.health().consecutiveRefusals).toBe(cycles);
    expect(job.health().ok).toBe(false); // three refusals in a row: not doing its job
  });

  it('a status file that cannot be written is logged as an error and the cycle still reports its outcome', async () => {
    const registryDir = join(base, 'blocked');
    // watch-status.json is a non-empty directory: the atomic rename onto it fails
    mkdirSync(join(registryDir, 'watch-status.json'), { recursive: true });
    writeFileSync(join(registryDir, 'watch-status.json', 'keep'), 'x');
    const w = logged(20_000, 'the status write error', (ls) => ls.some((l) => l['msg'] === 'watch-status.json not written'));
    const job = new WatchJob(WatchConfigSchema.parse({ captureDir: join(base, 'none'), registryDir, port: 0 }), { log: w.log });
    const outcome = await job.cycle();
    await w.wait();
    expect(outcome.ok).toBe(false);
    const line = w.lines.find((l) => l['msg'] === 'watch-status.json not written')!;
    expect(line).toMatchObject({ level: 'error', err: { message: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST|EPERM/) } });
  });
});
