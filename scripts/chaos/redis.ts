/**
 * The soak's private redis-server (what @hotpath/state/testing's RedisServer
 * does, plus what a soak needs): same port across restarts, an append-only
 * file fsynced on every write (a kill -9 loses nothing acknowledged, so a lost
 * prediction is the services' doing, not Redis's), pause/resume (SIGSTOP), and
 * a small sh guard that stops the server if the harness itself dies.
 */
import { redisAnswers } from '@hotpath/state';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@hotpath/service';
import { isAlive, signalGroup, sleep, type Instance, type ProcessLedger, type Shutdown } from './processes.ts';

const GUARD = `redis-server "$@" >/dev/null 2>&1 &
r=$!
echo $r
trap 'kill -CONT $r 2>/dev/null; kill -TERM $r 2>/dev/null; wait $r; exit 0' TERM INT
while kill -0 "$HARNESS_PID" 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.5; done
kill -CONT $r 2>/dev/null
kill -TERM $r 2>/dev/null
wait $r`;

export class ChaosRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'chaos-redis-'));
  port = 0;
  readonly instances: Instance[] = [];
  /** Each server's sh guard: its process group holds the guard and the server. */
  private readonly guards = new Map<Instance, ChildProcess>();
  paused = false;

  constructor(private readonly ledger: ProcessLedger) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get current(): Instance | undefined {
    const last = this.instances.at(-1);
    return last !== undefined && last.exitedAtMs === undefined ? last : undefined;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''];
    const guard = spawn('sh', ['-c', GUARD, 'chaos-redis-guard', ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HARNESS_PID: String(process.pid), CHAOS_RUN_ID: this.ledger.runId },
    });
    if (guard.pid !== undefined) this.ledger.pids.add(guard.pid);
    const pid = await Promise.race([
      new Promise<number>((resolve, reject) => {
        guard.stdout!.once('data', (d: Buffer) => resolve(Number.parseInt(d.toString(), 10)));
        guard.once('exit', () => reject(new Error('redis guard exited before redis-server started')));
      }),
      sleep(10_000).then(() => Promise.reject(new Error('redis-server was not spawned within 10 s'))),
    ]);
    guard.stdout!.resume();
    this.ledger.pids.add(pid);
    const inst: Instance = { pid, spawnedAtMs: Date.now() };
    this.instances.push(inst);
    this.guards.set(inst, guard);
    this.paused = false;
    const deadline = Date.now() + 15_000;
    while (!(await redisAnswers(`redis://127.0.0.1:${this.port}`, 500))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${this.port} within 15 s`);
      await sleep(50);
    }
    inst.readyAtMs = Date.now();
  }

  /** kill -9 (also ends a paused server); waits until the process is gone. */
  async kill(): Promise<void> {
    const inst = this.current;
    if (inst === undefined) return;
    inst.stoppingAtMs ??= Date.now();
    const guard = this.guards.get(inst);
    if (guard?.pid !== undefined) signalGroup(guard.pid, 'SIGKILL');
    signalGroup(inst.pid, 'SIGKILL');
    await this.waitGone(inst, 5_000);
  }

  pause(): void {
    const inst = this.current;
    if (inst === undefined) return;
    process.kill(inst.pid, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    const inst = this.current;
    if (inst === undefined) return;
    process.kill(inst.pid, 'SIGCONT');
    this.paused = false;
  }

  async terminate(hardMs: number): Promise<Shutdown | undefined> {
    const inst = this.current;
    if (inst === undefined) return undefined;
    if (this.paused) this.resume();
    const t0 = Date.now();
    inst.stoppingAtMs ??= t0;
    process.kill(inst.pid, 'SIGTERM');
    const ended = await this.waitGone(inst, hardMs);
    // the guard (and the server, if it outlived its deadline)
    const guard = this.guards.get(inst);
    if (guard?.pid !== undefined) signalGroup(guard.pid, 'SIGKILL');
    if (!ended) {
      signalGroup(inst.pid, 'SIGKILL');
      await this.waitGone(inst, 5_000);
    }
    const s: Shutdown = { service: 'redis', ms: Date.now() - t0, killed: !ended };
    this.ledger.shutdowns.push(s);
    return s;
  }

  private async waitGone(inst: Instance, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (isAlive(inst.pid)) {
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
    inst.exitedAtMs = Date.now();
    return true;
  }

  /** Stops the server and its guard, and removes the data directory. */
  async stop(hardMs: number): Promise<Shutdown | undefined> {
    const s = await this.terminate(hardMs);
    rmSync(this.dir, { recursive: true, force: true });
    return s;
  }
}
