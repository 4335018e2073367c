/**
 * One supervised service process: spawned with an allowlisted env, its log
 * lines prefixed (pretty or JSON), restarted with exponential backoff when it
 * dies unexpectedly, stopped with SIGTERM (then SIGKILL after a grace period).
 */
import { backoffDelay } from '@hotpath/service';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { childEnv } from './child-env.ts';

/**
 * How long a child may take to stop after SIGTERM before it is killed: well under
 * compose's 10 s grace. The orphan guard gives an orphaned child the same time.
 */
export const STOP_GRACE_MS = 5_000;

export interface ChildSpec {
  name: string;
  /** Node entry point, relative to the repository root. */
  entry: string;
  /** What the launcher sets for this child; `undefined` withholds a variable of the launcher's env. */
  env: Record<string, string | undefined>;
  /** The launcher's variables this child inherits (`NAME` or `PREFIX_*`), beyond the base every process gets (`child-env.ts`). */
  inherits: readonly string[];
  /** Set on the first start only, over `env`: what holds when the stack is new (a restart sees what its predecessor left). */
  firstEnv?: Record<string, string | undefined>;
  /** Where /health answers (status line, readiness). */
  healthUrl?: string;
  colour: number;
}

const GUARD = new URL('./orphan-guard.ts', import.meta.url).href;

/**
 * Children run their TypeScript on Node's own transform, not tsx: tsx's loader hooks run for every module,
 * node_modules included, and made a child's module loading (most of its start) ~2.5x the CPU; Node's transform
 * and V8's code with it are kept in the compile cache (NODE_COMPILE_CACHE), so a second start loads from disk.
 * (transform-types, not strip-only: the code has parameter properties. The flag is experimental: its warning is
 * not news to an operator, other warnings still print.)
 */
export const TYPESCRIPT_FLAGS = ['--experimental-transform-types', '--disable-warning=ExperimentalWarning'] as const;

/** Where the children's compile cache lives: in the checkout, beside pnpm's own caches (ignored by git). */
export const compileCacheDir = (root: string): string => join(root, 'node_modules', '.cache', 'hotpath-compile');
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export class Child {
  private proc: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private startedAt = 0;
  private starts = 0;
  private timer: NodeJS.Timeout | undefined;
  onLine: (line: string) => void = (l) => process.stdout.write(`${l}\n`);
  onRestart: (name: string, code: number | null, signal: string | null, delayMs: number) => void = () => undefined;
  onStart: (name: string, pid: number) => void = () => undefined;

  constructor(
    readonly spec: ChildSpec,
    private readonly root: string,
    private readonly format: 'pretty' | 'json',
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get restartCount(): number {
    return this.restarts;
  }

  start(): void {
    this.stopping = false;
    this.startedAt = Date.now();
    const env = this.starts++ === 0 && this.spec.firstEnv ? { ...this.spec.env, ...this.spec.firstEnv } : this.spec.env;
    const proc = spawn(process.execPath, [...TYPESCRIPT_FLAGS, '--import', GUARD, this.spec.entry], {
      cwd: this.root,
      // own process group: Ctrl-C in the terminal reaches the launcher only, which stops children in order
      detached: true,
      // the orphan guard watches this pid rather than whatever parent the child finds when it starts
      env: childEnv(process.env, this.spec.inherits, { ...env, HOTPATH_LAUNCHER_PID: String(process.pid), NODE_COMPILE_CACHE: compileCacheDir(this.root) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    if (proc.pid !== undefined) this.onStart(this.spec.name, proc.pid);
    for (const stream of [proc.stdout!, proc.stderr!]) createInterface({ input: stream }).on('line', (l) => this.onLine(this.render(l)));
    proc.once('exit', (code, signal) => {
      if (this.proc === proc) this.proc = undefined;
      if (this.stopping) return;
      // a child that ran a minute before dying starts its backoff afresh
      if (Date.now() - this.startedAt > 60_000) this.restarts = 0;
      // the one backoff policy (full jitter): children restarted together do not come back in lockstep
      const delay = backoffDelay(this.restarts, { baseMs: 500, maxMs: 30_000 });
      this.restarts++;
      this.onRestart(this.spec.name, code, signal, delay);
      this.timer = setTimeout(() => this.start(), delay);
    });
  }

  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killer);
  }

  private render(line: string): string {
    let o: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed && typeof parsed === 'object') o = parsed as Record<string, unknown>;
    } catch {
      // not JSON: printed as is
    }
    if (this.format === 'json') return JSON.stringify(o ? { svc: this.spec.name, ...o } : { svc: this.spec.name, msg: line });
    const tag = `\x1b[${this.spec.colour}m${this.spec.name.padEnd(12)}\x1b[0m`;
    if (!o) return `${tag} ${line}`;
    const { level, msg, time: _t, service: _s, name: _n, pid: _p, hostname: _h, ...rest } = o;
    const lv = LEVELS[Number(level)] ?? String(level ?? '');
    const lvText = lv === 'error' || lv === 'fatal' ? `\x1b[31m${lv}\x1b[0m` : lv === 'warn' ? `\x1b[33m${lv}\x1b[0m` : lv;
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${tag} ${lvText.padEnd(5)} ${String(msg ?? '')}${extra ? ` \x1b[2m${extra}\x1b[0m` : ''}`;
  }
}
