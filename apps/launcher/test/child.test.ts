/**
 * A supervised child is stopped within a deadline whatever it does: `stop()` kills one that
 * ignores SIGTERM before compose's 10 s grace, and a child whose launcher is SIGKILLed (so that
 * nobody calls `stop()`) is gone too — also when its own graceful stop never finishes, as the
 * ingestor's does once the launcher's in-process Kinesis has died with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Child, compileCacheDir, STOP_GRACE_MS, type ChildSpec } from '../src/child.ts';
import { alive, groupAlive } from './support/alive.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const stubborn: ChildSpec = { name: 'stubborn', entry: 'apps/launcher/test/support/stubborn-service.ts', env: {}, inherits: [], colour: 0 };
const leftovers: number[] = [];
const launchers: ChildProcess[] = [];

/** The real Child machinery in a process of its own (which a test kills), printing `{ pid }` when the child starts. */
function standInLauncher(spec: ChildSpec): ChildProcess {
  const childModule = fileURLToPath(new URL('../src/child.ts', import.meta.url));
  const code = `import(${JSON.stringify(childModule)}).then((m) => {
    const c = new m.Child(${JSON.stringify(spec)}, ${JSON.stringify(root)}, 'json');
    c.onStart = (_name, pid) => console.log(JSON.stringify({ pid }));
    c.start();
    setInterval(() => undefined, 60_000);
  });`;
  const launcher = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  launchers.push(launcher);
  return launcher;
}

afterEach(() => {
  for (const l of launchers.splice(0)) if (l.exitCode === null) l.kill('SIGKILL');
  for (const pid of leftovers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('Child', () => {
  it('firstEnv is set on the first start only (a restart sees what its predecessor left); TypeScript runs on Node with the compile cache', async () => {
    const spec: ChildSpec = { name: 'echo', entry: 'apps/launcher/test/support/env-echo.ts', env: { HOTPATH_TEST_START: 'later' }, firstEnv: { HOTPATH_TEST_START: 'first' }, inherits: [], colour: 0 };
    const child = new Child(spec, root, 'json');
    const seen: { start: string | null; compileCache: string | null }[] = [];
    child.onLine = (line) => {
      const o = JSON.parse(line) as { msg?: string; start: string | null; compileCache: string | null };
      if (o.msg === 'env') seen.push(o);
    };
    child.start();
    try {
      await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 50 });
    } finally {
      await child.stop();
    }
    expect(seen[0]!.start).toBe('first');
    expect(seen.slice(1).map((e) => e.start)).toEqual(seen.slice(1).map(() => 'later'));
    expect(seen[0]!.compileCache).toBe(compileCacheDir(root));
  }, 30_000);

  it('stop() kills a child that ignores SIGTERM, with a grace shorter than compose gives (10 s)', async () => {
    const child = new Child(stubborn, root, 'json');
    const ready = new Promise<void>((resolve) => {
      child.onLine = (line) => {
        if ((JSON.parse(line) as { msg?: string }).msg === 'ready') resolve();
      };
    });
    child.start();
    const pid = child.pid!;
    leftovers.push(pid);
    // (private: how the process ended is what this is about, not an API)
    const ended = new Promise<string | null>((r) => (child as unknown as { proc: ChildProcess }).proc.once('exit', (_code, signal) => r(signal)));
    await ready;
    await child.stop();
    expect(await ended).toBe('SIGKILL'); // SIGTERM was ignored: stop() escalated instead of waiting for it
    expect(STOP_GRACE_MS).toBeLessThan(10_000); // the grace before that, under compose's own
    expect(alive(pid)).toBe(false);
    expect(child.pid).toBeUndefined();
  }, 30_000);

  it('a child whose launcher was SIGKILLed exits, even when its graceful stop never ends', async () => {
    // a stand-in launcher: the real Child machinery in a process of its own, which the test kills
    const launcher = standInLauncher(stubborn);
    let pid = 0;
    await new Promise<void>((resolve) =>
      createInterface({ input: launcher.stdout! }).on('line', (line) => {
        const o = JSON.parse(line) as { pid?: number; msg?: string };
        if (o.pid !== undefined) leftovers.push((pid = o.pid));
        if (o.msg === 'ready') resolve();
      }),
    );
    expect(alive(pid)).toBe(true);
    launcher.kill('SIGKILL');
    // the guard notices within a poll, SIGTERM is ignored, the deadline (5 s) kills it
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 20_000, interval: 100 });
  }, 40_000);

  it("a binary (Prometheus' kind) runs behind its sh guard: stop() ends it, and so does its launcher's SIGKILL", async () => {
    const sleeper: ChildSpec = { name: 'sleeper', entry: 'sleep', command: ['sleep', '600'], env: {}, inherits: [], colour: 0 };
    const child = new Child(sleeper, root, 'json');
    child.start();
    const group = child.pid!;
    leftovers.push(group);
    await child.stop();
    expect(groupAlive(group)).toBe(false); // sh and sleep both
    // a stand-in launcher, killed: the guard sees its pid gone and stops the binary
    const launcher = standInLauncher(sleeper);
    const pid = await new Promise<number>((resolve) => createInterface({ input: launcher.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { pid: number }).pid)));
    leftovers.push(pid);
    await vi.waitFor(() => expect(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()).not.toBe(''), { timeout: 10_000, interval: 50 });
    launcher.kill('SIGKILL');
    await vi.waitFor(() => expect(groupAlive(pid)).toBe(false), { timeout: 20_000, interval: 100 });
  }, 40_000);
});
