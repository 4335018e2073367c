import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  LAUNCHER_STATE_FILE,
  type LauncherState,
  describeLauncherState,
  inspectLauncherState,
  launcherStateForTool,
  pidAlive,
  readLauncherState,
  removeLauncherState,
  withoutPassword,
  writeLauncherState,
} from '@hotpath/config';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'launcher-state-'));
  dirs.push(d);
  return d;
}
const STATE: LauncherState = {
  version: 1,
  pid: process.pid,
  startedAt: '2026-11-30T11:00:00.000Z',
  redisUrl: 'redis://127.0.0.1:16379',
  kinesisEndpoint: 'http://127.0.0.1:14567',
  kinesisStream: 'market-events',
  logDir: '/tmp/hotpath-logs',
  services: { inference: { url: 'http://127.0.0.1:8080' }, aggregator: { url: 'http://127.0.0.1:9102' } },
  page: 'http://127.0.0.1:8080/',
};
/** A pid that is certainly not alive: a child that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  if (child.pid === undefined) throw new Error('no pid');
  return child.pid;
}

describe('launcher state file', () => {
  it('written atomically and read back; the directory ignores itself; a missing file is undefined', () => {
    const r = root();
    expect(readLauncherState(r)).toBeUndefined();
    expect(inspectLauncherState(r)).toEqual({ reason: 'missing' });
    writeLauncherState(r, { ...STATE, prometheus: 'http://127.0.0.1:9090', alertmanager: 'http://127.0.0.1:9093' });
    expect(readLauncherState(r)).toEqual({ ...STATE, prometheus: 'http://127.0.0.1:9090', alertmanager: 'http://127.0.0.1:9093' });
    expect(readFileSync(join(r, '.hotpath/.gitignore'), 'utf8')).toBe('*\n');
    // no temp file left beside it
    expect(readdirSync(join(r, '.hotpath')).sort()).toEqual(['.gitignore', 'state.json']);
    writeLauncherState(r, { ...STATE, kinesisStream: 'other' });
    expect(readLauncherState(r)?.kinesisStream).toBe('other');
    expect(readLauncherState(r)?.prometheus).toBeUndefined();
    expect(describeLauncherState(STATE)).toBe(`${LAUNCHER_STATE_FILE} (pnpm start, pid ${process.pid}, since 2026-11-30T11:00:00.000Z)`);
  });

  it('never writes a password: a URL with one is written without it', () => {
    const r = root();
    writeLauncherState(r, {
      ...STATE,
      redisUrl: 'redis://default:s3cret-pw@127.0.0.1:16379/0',
      kinesisEndpoint: 'http://:kpw@127.0.0.1:14567',
      page: 'http://u:pagepw@127.0.0.1:8080/',
      services: { inference: { url: 'http://u:svcpw@127.0.0.1:8080' } },
      prometheus: 'http://u:prompw@127.0.0.1:9090',
    });
    const text = readFileSync(join(r, LAUNCHER_STATE_FILE), 'utf8');
    for (const pw of ['s3cret-pw', 'kpw', 'pagepw', 'svcpw', 'prompw']) expect(text).not.toContain(pw);
    expect(readLauncherState(r)?.redisUrl).toBe('redis://default@127.0.0.1:16379/0');
    expect(withoutPassword('redis://:pw@h:1')).toBe('redis://h:1');
    expect(withoutPassword('redis://h:1')).toBe('redis://h:1');
    expect(withoutPassword('not a url')).toBe('not a url');
  });

  it('a state the schema refuses is not written', () => {
    const r = root();
    expect(() => writeLauncherState(r, { ...STATE, pid: -1 })).toThrow();
    expect(readLauncherState(r)).toBeUndefined();
  });

  it('a stale file (its launcher gone) is ignored', async () => {
    const r = root();
    const pid = await deadPid();
    writeLauncherState(r, { ...STATE, pid });
    expect(pidAlive(pid)).toBe(false);
    expect(readLauncherState(r)).toBeUndefined();
    expect(inspectLauncherState(r)).toEqual({ reason: 'stale', pid });
    expect(readLauncherState(r, { isAlive: () => true })?.pid).toBe(pid);
    expect(pidAlive(process.pid)).toBe(true);
    // pid 1 runs as another user or as us: alive either way (EPERM is not "gone")
    expect(pidAlive(1)).toBe(true);
  });

  it('a malformed file is ignored, with what is wrong', () => {
    const r = root();
    mkdirSync(join(r, '.hotpath'));
    const file = join(r, LAUNCHER_STATE_FILE);
    const cases: [string, RegExp][] = [
      ['{"version":1,', /JSON/],
      ['null', /\(file\): Expected object, received null/],
      [JSON.stringify({ ...STATE, version: 2 }), /^version: Invalid literal value/],
      [JSON.stringify({ ...STATE, redisUrl: 42 }), /^redisUrl: Expected string/],
      [JSON.stringify({ ...STATE, services: { a: {} } }), /^services\.a\.url: Required/],
      [JSON.stringify({ ...STATE, startedAt: 'yesterday' }), /^startedAt: Invalid datetime/],
    ];
    for (const [text, detail] of cases) {
      writeFileSync(file, text);
      const found = inspectLauncherState(r);
      expect(found, text).toMatchObject({ reason: 'malformed' });
      expect((found as { detail: string }).detail).toMatch(detail);
      expect(readLauncherState(r)).toBeUndefined();
    }
    // a directory where the file should be: unreadable, not a crash
    rmSync(file);
    mkdirSync(file);
    expect(inspectLauncherState(r)).toMatchObject({ reason: 'malformed', detail: expect.stringMatching(/EISDIR/) });
  });

  it('removed only by the launcher that wrote it', () => {
    const r = root();
    expect(removeLauncherState(r, process.pid)).toBe(false);
    writeLauncherState(r, STATE);
    expect(removeLauncherState(r, process.pid + 1)).toBe(false);
    expect(readLauncherState(r)).toBeDefined();
    expect(removeLauncherState(r, process.pid)).toBe(true);
    expect(readLauncherState(r)).toBeUndefined();
    writeFileSync(join(r, LAUNCHER_STATE_FILE), 'null');
    expect(removeLauncherState(r, process.pid)).toBe(false);
  });

  it('a failed write leaves no temp file', () => {
    const r = root();
    // the target is a non-empty directory: the rename fails
    mkdirSync(join(r, LAUNCHER_STATE_FILE, 'x'), { recursive: true });
    expect(() => writeLauncherState(r, STATE)).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(join(r, '.hotpath')).sort()).toEqual(['.gitignore', 'state.json']);
  });
});

describe('launcherStateForTool', () => {
  it('the state when a pnpm start runs; a malformed file named on stderr; a missing or stale one unsaid', async () => {
    const r = root();
    const lines: string[] = [];
    const stderr = (line: string) => lines.push(line);
    expect(launcherStateForTool('pnpm x', r, { stderr })).toBeUndefined();
    writeLauncherState(r, { ...STATE, pid: await deadPid() });
    expect(launcherStateForTool('pnpm x', r, { stderr })).toBeUndefined();
    expect(lines).toEqual([]);
    writeLauncherState(r, STATE);
    expect(launcherStateForTool('pnpm x', r, { stderr })).toEqual(STATE);
    writeFileSync(join(r, LAUNCHER_STATE_FILE), '{');
    expect(launcherStateForTool('pnpm x', r, { stderr })).toBeUndefined();
    expect(lines).toEqual([expect.stringMatching(/^pnpm x: ignoring \.hotpath\/state\.json: .*JSON/)]);
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      launcherStateForTool('pnpm y', r);
      expect(write).toHaveBeenCalledWith(expect.stringMatching(/^pnpm y: ignoring .*\n$/));
    } finally {
      write.mockRestore();
    }
  });
});
