/**
 * bench:scale's services and the figures read from them: each service started as the launcher starts it (its own
 * process, its env only, output to a log file), stopped, waited for, scraped; the Redis PING floor; small statistics.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Samples, scrape } from './metrics.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const round = (x: number, d = 3): number => (Number.isFinite(x) ? Number(x.toFixed(d)) : Number.NaN);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const exact = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
/** p99 of the ticks' whole times and of their Redis reads (the [total, read] pairs inference reports). */
export const tickQuantiles = (tickTimes: readonly [number, number][]): { tickP99: number; readP99: number } => ({
  tickP99: exact(
    tickTimes.map((t) => t[0]),
    0.99,
  ),
  readP99: exact(
    tickTimes.map((t) => t[1]),
    0.99,
  ),
});

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Service {
  name: string;
  proc: ChildProcess;
  port: number;
  log: string;
}

/** The services' logs: kept when a step fails or saturates (the bench removes it otherwise). */
export const logDir = mkdtempSync(join(tmpdir(), 'bench-scale-'));

/** One service as the launcher runs it: `node --import tsx <entry>`, its env only (no inherited secrets), output to a file. */
export function startService(name: string, entry: string, port: number, env: Record<string, string>, ipc = false): Service {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const base = Object.fromEntries(['PATH', 'HOME', 'TMPDIR', 'LANG'].flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]!]])));
  const proc = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...base, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', fd, fd, ...(ipc ? ['ipc' as const] : [])],
  });
  closeSync(fd);
  return { name, proc, port, log };
}

/** A process's CPU seconds so far (user + system, every thread) from /proc: also for a process whose /metrics does not answer. */
export function procCpuSeconds(pid: number | undefined): number {
  try {
    // fields after the command's closing parenthesis: utime and stime are the 12th and 13th
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ: 100 on Linux
  } catch {
    return Number.NaN;
  }
}

export async function stopService(s: Service): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => s.proc.once('exit', () => r()));
  s.proc.kill('SIGTERM');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function waitFor(what: string, deadlineMs: number, ok: () => Promise<boolean>, services: Service[]): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await ok().catch(() => false))) {
    for (const s of services) if (s.proc.exitCode !== null) throw new Error(`${s.name} exited (${s.proc.exitCode}) while waiting for ${what}: ${readFileSync(s.log, 'utf8').slice(-2000)}`);
    if (Date.now() > end) throw new Error(`${what}: not within ${deadlineMs} ms (logs in ${logDir})`);
    await sleep(250);
  }
}

export const metricsOf = (s: Service): Promise<Samples> => scrape(`http://127.0.0.1:${s.port}/metrics`);

/** PING round trips to the redis-server on `port` from another process (aggregate-redis-ping.ts): the floor. */
export function startPinger(port: number): ChildProcess {
  return fork(fileURLToPath(new URL('../aggregate-redis-ping.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, PING_PORT: String(port) } });
}

/** Stops the pinger and returns its p99. */
export function pingerFloor(pinger: ChildProcess): Promise<{ p99: number }> {
  return new Promise<{ p99: number }>((resolve) => {
    pinger.once('message', (m) => resolve(m as { p99: number }));
    pinger.send('stop');
  });
}

/** The largest batch observed, as its bucket's upper bound (0: none, the unbatched path). */
export function batchMax(buckets: [number, number][]): number {
  let max = 0;
  let prev = 0;
  for (const [le, count] of buckets) {
    if (count > prev && Number.isFinite(le)) max = le;
    prev = count;
  }
  return max;
}

/** The exact tick times inference kept since the last ask (bench/scale/inference.ts), and forgets them. */
export function ticksOf(inference: Service): Promise<[number, number][]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('inference did not answer {cmd: ticks} within 10 s')), 10_000);
    inference.proc.once('message', (m) => {
      clearTimeout(timer);
      resolve((m as { ticks: [number, number][] }).ticks);
    });
    inference.proc.send({ cmd: 'ticks' });
  });
}
