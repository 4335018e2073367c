/**
 * `pnpm start`'s launcher as a newcomer runs it (a real process tree on
 * loopback: redis-server, kinesalite, exchange-sim, ingestor, aggregator,
 * inference): predictions come, one per 2 s tick; the first is announced
 * with its timeline, every phase there in causal order (how soon it comes is
 * not measured here, a busy machine's business: pnpm bench:start); the live
 * page in headless Chromium (Debian's, via playwright-core) with predictions,
 * chart and health drawn, screenshot kept in .reports/; every child killed in
 * turn is restarted and predictions resume; Ctrl-C leaves no process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '@hotpath/service';
import { CAUSES, PHASES } from '../src/timeline.ts';
import { alive } from './support/alive.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
interface Line {
  svc: string;
  msg?: string;
  // the launcher's first-prediction line (timeline.ts)
  firstPredictionS?: number;
  firstModelPredictionS?: number | null;
  processStartMs?: number;
  timeline?: Record<string, number>;
}
const lines: Line[] = [];
let launcher: ChildProcess;
let inferencePort = 0;

const pids = (): Map<string, number> => {
  const m = new Map<string, number>();
  for (const l of lines) {
    const s = /^(\S+) started \(pid (\d+)\)$/.exec(l.msg ?? '') ?? /^redis \S+ \(spawned, pid (\d+)\)$/.exec(l.msg ?? '');
    if (s && s.length === 3) m.set(s[1]!, Number(s[2]));
    else if (s) m.set('redis-server', Number(s[1]));
  }
  return m;
};
async function history(sinceMs: number): Promise<{ tickMs: number; issuedAtMs: number; fallback: boolean }[]> {
  const r = await fetch(`http://127.0.0.1:${inferencePort}/v1/predictions?symbol=BTCUSDT&since=${sinceMs}&limit=1000`);
  return r.ok ? ((await r.json()) as { predictions: { tickMs: number; issuedAtMs: number; fallback: boolean }[] }).predictions : [];
}
/** Polls `probe` until it answers (a generous deadline, not a measurement). */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await probe().catch(() => undefined);
      if (v === undefined) throw new Error(`timed out: ${what}`);
      return v;
    },
    { timeout: ms, interval: 250 },
  );
}

beforeAll(async () => {
  const ports = { SIM_PORT: await freePort(), INGESTOR_PORT: await freePort(), AGGREGATOR_PORT: await freePort(), INFERENCE_PORT: await freePort(), KINESIS_EMULATOR_PORT: await freePort() };
  inferencePort = ports.INFERENCE_PORT;
  const env: Record<string, string | undefined> = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), LAUNCHER_LOG_FORMAT: 'json', LOG_LEVEL: 'warn' };
  delete env['REDIS_URL'];
  // its state file and logs in a directory of its own: never over those of a stack the operator runs from this checkout
  env['HOTPATH_STATE_ROOT'] = mkdtempSync(join(tmpdir(), 'launcher-e2e-'));
  launcher = spawn(process.execPath, ['--import', 'tsx', 'apps/launcher/bin/start.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: launcher.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as Line);
    } catch {
      lines.push({ svc: 'raw', msg: l });
    }
  });
  launcher.stderr!.on('data', (d: Buffer) => lines.push({ svc: 'stderr', msg: d.toString() }));
});

afterAll(async () => {
  if (launcher.exitCode === null) launcher.kill('SIGKILL');
  for (const pid of pids().values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('pnpm start (launcher)', () => {
  // (how soon the first one comes is the machine's business: the deadline below is generous, not the 60 s target)
  it('predictions arrive, one for every 2 s tick', async () => {
    await until('the first prediction', 120_000, async () => ((await history(0)).length > 0 ? true : undefined));
    // the launcher announces it with its timeline (how long each phase took is bench:start's business, not a test's)
    const announced = await until('the launcher announcing it', 30_000, async () =>
      lines.find((l) => l.svc === 'launcher' && /^first prediction [\d.]+ s after start \((model|fallback: \w+)\) — timeline: /.test(l.msg ?? '')),
    );
    const first = (await history(0))[0]!;
    expect(announced.firstPredictionS).toBeCloseTo((first.issuedAtMs - announced.processStartMs!) / 1000, 1); // the number is the prediction's own issue time
    if (announced.firstModelPredictionS === null) {
      // the first was a fallback: the first model prediction is announced when it comes
      await until('the first model prediction announced', 60_000, async () =>
        lines.some((l) => l.svc === 'launcher' && /^first model prediction [\d.]+ s after start — timeline: /.test(l.msg ?? '')) ? true : undefined,
      );
    }
    const timeline = announced.timeline!;
    // every phase of a start with the simulator is on it (polled, exact or the launcher's own), each once, in time order
    expect(Object.keys(timeline).sort()).toEqual([...PHASES].filter((p) => announced.firstModelPredictionS !== null || p !== 'first model prediction').sort());
    const times = Object.values(timeline);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // and in causal order: nothing happens before what it needs
    for (const [before, after] of CAUSES) if (timeline[after] !== undefined) expect(timeline[before], `${before} ≤ ${after}`).toBeLessThanOrEqual(timeline[after]);
    const ticks = await until('three predictions', 60_000, async () => {
      const t = (await history(0)).map((p) => p.tickMs);
      return t.length >= 3 ? t : undefined;
    });
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(2_000); // tick times, not arrival times: none skipped
  }, 240_000);

  it('the live page shows predictions, the chart and every service healthy (screenshot in .reports/)', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      // phone width; bypassCSP: waitForFunction polls with eval, which the page's CSP forbids (apps/inference/test/page.test.ts checks the CSP)
      const page = await browser.newPage({ viewport: { width: 390, height: 1100 }, bypassCSP: true });
      await page.goto(`http://127.0.0.1:${inferencePort}/`);
      // (browser-side expressions as strings: this file is compiled without the DOM library)
      // three predictions in the latest table (under its header row), the chart drawn (lightweight-charts: a canvas)
      await page.waitForFunction("document.querySelectorAll('#latest tr').length >= 4", undefined, { timeout: 30_000 });
      await page.waitForFunction("document.querySelector('#conn').textContent === 'live'", undefined, { timeout: 10_000 });
      await page.waitForFunction("document.querySelector('#health').textContent.includes('aggregator')", undefined, { timeout: 10_000 });
      // the stage budget, merged from every service's pipeline_stage_latency_seconds
      await page.waitForFunction("[...document.querySelectorAll('#lat tr.stage')].filter((r) => /[0-9]/.test(r.lastChild.textContent)).length >= 5", undefined, { timeout: 15_000 });
      const mid = Number(await page.textContent('#mid'));
      expect(mid).toBeGreaterThan(1000); // a real price from the simulator, not a placeholder
      const health = await page.textContent('#health');
      for (const svc of ['exchange-sim', 'ingestor', 'aggregator', 'inference']) expect(health).toContain(svc);
      expect(await page.locator('#health .bad').count()).toBe(0);
      expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
      mkdirSync(`${root}/.reports`, { recursive: true });
      await page.screenshot({ path: `${root}/.reports/live-page.png`, fullPage: true });
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('any one child killed is restarted and predictions resume', async () => {
    for (const name of ['inference', 'aggregator', 'ingestor', 'exchange-sim']) {
      const before = pids().get(name)!;
      expect(alive(before)).toBe(true);
      process.kill(before, 'SIGKILL');
      const killedAt = Date.now();
      await until(`${name} restarted`, 20_000, async () => (pids().get(name) !== before ? true : undefined));
      // resumed: model predictions (live features) for ticks after the kill
      await until(`predictions after killing ${name}`, 45_000, async () => ((await history(killedAt)).filter((p) => !p.fallback).length >= 2 ? true : undefined));
    }
  }, 300_000);

  it('Ctrl-C stops everything, in order, and leaves no process behind', async () => {
    const all = [...pids().values()];
    expect(all).toHaveLength(5); // redis-server and the four services (last pid of each)
    const exited = new Promise<number | null>((r) => launcher.once('exit', (code) => r(code)));
    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
    await vi.waitFor(() => expect(all.filter(alive)).toEqual([]), { timeout: 30_000, interval: 100 });
    expect(lines.some((l) => l.svc === 'launcher' && l.msg === 'stopped')).toBe(true);
  }, 60_000);
});
