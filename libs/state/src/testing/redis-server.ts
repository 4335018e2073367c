/**
 * A private redis-server for tests: a free port, its own data directory
 * with an append-only file (so a restart keeps the data, as a real
 * deployment's would), and kill/restart to play crashes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from '../ping.ts';
import { freePort } from '@hotpath/service';

export { freePort };

export class RedisServer {
  private proc: ChildProcess | undefined;
  /** appendfsync policy: 'always' (every acknowledged write survives kill -9) or 'everysec'. */
  constructor(private readonly fsync: 'always' | 'everysec' = 'always') {}
  readonly dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  port = 0;

  /** The running server's pid (undefined once it has exited): a caller that must not leave it behind can kill it by pid. */
  get pid(): number | undefined {
    const p = this.proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null ? p.pid : undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', this.fsync, '--save', '', '--logfile', ''], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    while (!(await redisAnswers(this.url, 1_000))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** kill -9: no shutdown, no final save (the AOF has everything acknowledged). */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL'); // (also ends a paused server)
    await exited;
  }

  /** SIGSTOP: the server keeps its connections open and answers nothing (a hung host, a GC pause). */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async restart(downMs = 0): Promise<void> {
    await this.kill();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
