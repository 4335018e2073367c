/**
 * The tools find the stack `pnpm start` runs: flag > environment > the launcher's state file > default,
 * and say on stderr when they took an endpoint from the state file (scripts/stack-endpoints.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type LauncherState, writeLauncherState } from '@hotpath/config';
import { stackEndpoints } from '../scripts/stack-endpoints.ts';

const root = mkdtempSync(join(tmpdir(), 'stack-endpoints-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const STATE: LauncherState = {
  version: 1,
  pid: process.pid,
  startedAt: '2026-11-30T11:00:00.000Z',
  redisUrl: 'redis://127.0.0.1:16390',
  kinesisEndpoint: 'http://127.0.0.1:14590',
  kinesisStream: 'stack-stream',
  logDir: '/tmp/logs',
  services: {},
  page: 'http://127.0.0.1:8080/',
};

/** stackEndpoints' answer and what it said on stderr. */
function endpoints(given: Parameters<typeof stackEndpoints>[1], env: NodeJS.ProcessEnv = {}): { out: ReturnType<typeof stackEndpoints>; said: string } {
  let said = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    said += String(chunk);
    return true;
  });
  const out = stackEndpoints('pnpm tool', given, env, root);
  vi.restoreAllMocks();
  return { out, said };
}

describe('stackEndpoints', () => {
  it('without a running pnpm start: the flags, else undefined (the variables or the default decide), nothing said', () => {
    expect(endpoints({ redisUrl: undefined, stream: undefined })).toEqual({ out: { redisUrl: undefined, stream: undefined }, said: '' });
    expect(endpoints({ redisUrl: 'redis://flag:1' })).toEqual({ out: { redisUrl: 'redis://flag:1', stream: undefined }, said: '' });
  });

  it('with one: what no flag and no variable sets comes from its state file, said on stderr', async () => {
    writeLauncherState(root, STATE);
    const both = endpoints({ redisUrl: undefined, stream: undefined });
    expect(both.out).toEqual({ redisUrl: 'redis://127.0.0.1:16390', stream: 'stack-stream' });
    expect(both.said).toBe(`pnpm tool: Redis redis://127.0.0.1:16390, stream stack-stream from .hotpath/state.json (pnpm start, pid ${process.pid}, since 2026-11-30T11:00:00.000Z)\n`);
    // a tool that names no stream takes none
    expect(endpoints({ redisUrl: undefined }).out).toEqual({ redisUrl: 'redis://127.0.0.1:16390', stream: undefined });
    // a flag wins, and is not announced
    expect(endpoints({ redisUrl: 'redis://flag:1', stream: 'flag-stream' })).toEqual({ out: { redisUrl: 'redis://flag:1', stream: 'flag-stream' }, said: '' });
    // a variable wins over the state file: left to loadConfig, which reads it
    expect(endpoints({ redisUrl: undefined, stream: undefined }, { REDIS_URL: 'redis://env:1', KINESIS_STREAM: 'env-stream' })).toEqual({ out: { redisUrl: undefined, stream: undefined }, said: '' });
    expect(endpoints({ redisUrl: undefined }, { REDIS_CLUSTER_NODES: 'a:1' }).out.redisUrl).toBeUndefined();
    const some = endpoints({ redisUrl: undefined, stream: undefined }, { REDIS_URL: 'redis://env:1' });
    expect(some.out).toEqual({ redisUrl: undefined, stream: 'stack-stream' });
    expect(some.said).toMatch(/^pnpm tool: stream stack-stream from /);
    // its launcher gone: not used
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.once('exit', resolve));
    writeLauncherState(root, { ...STATE, pid: child.pid! });
    expect(endpoints({ redisUrl: undefined, stream: undefined })).toEqual({ out: { redisUrl: undefined, stream: undefined }, said: '' });
  });
});
