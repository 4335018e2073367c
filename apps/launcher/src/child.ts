/**
 * One supervised service process: spawned with an allowlisted env, its log
 * lines prefixed (pretty or JSON, logs.ts), restarted with exponential backoff when it
 * dies unexpectedly, stopped with SIGTERM (then SIGKILL after a grace period).
 * A Node service runs with the orphan guard preloaded; a binary (Prometheus,
 * Alertmanager) behind a small sh guard that does the same for it.
 */
import { backoffDelay } from '@hotpath/service';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { childEnv } from './child-env.ts';
import { lineFormatter, type LineFormatter } from './logs.ts';

/**
 * How long a child may take to stop after SIGTERM before it is killed: well under
 * compose's 10 s grace. The orphan guard gives an orphaned child the same time.
 */
export const STOP_GRACE_MS = 5_000;

export interface ChildSpec {
  name: string;
  /** Node entry point, relative to the repository root. */
  entry: string;
  /** A binary and its arguments instead of a Node entry (`entry` then only names it): run behind BINARY_GUARD. */
  command?: readonly string[];
  /** What the launcher sets for this child; `undefined` withholds a variable of the launcher's env. */
  env: Record<string, string | undefined>;
  /** The launcher's variables this child inherits (`NAME` or `PREFIX_*`), beyond the base every process gets (`child-env.ts`). */
  inherits: readonly string[];
  /** Set on the first start only, over `env`: what holds when the stack is new (a restart sees what its predecessor left). */
  firstEnv?: Record<string, string | undefined>;
  /** Where /health answers (status line, readiness): any HTTP answer counts as answering. */
  healthUrl?: string;
  colour: number;
}

const GUARD = new URL('./orphan-guard.ts', import.meta.url).href;

/**
 * A binary has no orphan guard to preload: this sh runs it, stops it (SIGTERM) when the launcher's pid
 * disappears, and passes its own SIGTERM on (its wait's "Terminated" notice kept off the binary's stderr).
 * Child.stop's SIGKILL goes to the whole group (sh + binary).
 */
const BINARY_GUARD = `"$@" &
b=$!
trap 'kill -TERM $b 2>/dev/null; wait $b 2>/dev/null; exit 0' TERM INT
while kill -0 "$LAUNCHER_PID" 2>/dev/null && kill -0 $b 2>/dev/null; do sleep 0.5; done
kill -TERM $b 2>/dev/null
wait $b`;

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

/** What the status line says of a child: `starting` until its first answer, `down` once it stopped answering or exited. */
export type HealthWord = 'ok' | 'starting' | 'down' | `${number}`;

/** The status word from what is known: the process running, whether it ever answered, this probe's HTTP status (undefined: no answer). */
export function healthWord(running: boolean, answered: boolean, status: number | undefined): HealthWord {
  if (!running) return 'down';
  if (status === undefined) return answered ? 'down' : 'starting';
  return status < 300 ? 'ok' : `${status}`;
}

export class Child {
  private proc: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private startedAt = 0;
  private starts = 0;
  private timer: NodeJS.Timeout | undefined;
  onLine: (line: string) => void = (l) => process.stdout.write(`${l}\n`);
  /** Every line the child writes, as it wrote it (the launcher keeps it in the service's log file). */
  onRaw: (line: string) => void = () => undefined;
  onRestart: (name: string, code: number | null, signal: string | null, delayMs: number) => void = () => undefined;
  onStart: (name: string, pid: number) => void = () => undefined;

  /** Whether this process (the latest start) has answered its health check yet: set by whoever probes it. */
  answered = false;
  private readonly formatter: LineFormatter;

  constructor(
    readonly spec: ChildSpec,
    private readonly root: string,
    format: 'pretty' | 'json' | LineFormatter,
  ) {
    this.formatter = typeof format === 'string' ? lineFormatter(format, true) : format;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** A process of this child is running (false between an exit and its restart). */
  get running(): boolean {
    return this.proc !== undefined;
  }

  get restartCount(): number {
    return this.restarts;
  }

  start(): void {
    this.stopping = false;
    this.answered = false;
    this.startedAt = Date.now();
    const env = this.starts++ === 0 && this.spec.firstEnv ? { ...this.spec.env, ...this.spec.firstEnv } : this.spec.env;
    // the orphan guard watches this pid rather than whatever parent the child finds when it starts
    const own = { HOTPATH_LAUNCHER_PID: String(process.pid), NODE_COMPILE_CACHE: compileCacheDir(this.root) };
    const binary = this.spec.command;
    const [file, args] = binary === undefined ? [process.execPath, [...TYPESCRIPT_FLAGS, '--import', GUARD, this.spec.entry]] : ['sh', ['-c', BINARY_GUARD, `${this.spec.name}-guard`, ...binary]];
    const proc = spawn(file, args, {
      cwd: this.root,
      // own process group: Ctrl-C in the terminal reaches the launcher only, which stops children in order
      detached: true,
      env: childEnv(process.env, this.spec.inherits, binary === undefined ? { ...env, ...own } : { ...env, LAUNCHER_PID: String(process.pid) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    if (proc.pid !== undefined) this.onStart(this.spec.name, proc.pid);
    for (const stream of [proc.stdout!, proc.stderr!])
      createInterface({ input: stream }).on('line', (l) => {
        this.onRaw(l);
        this.onLine(this.formatter.service(this.spec.name, this.spec.colour, l));
      });
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
    // (a binary's sh guard and the binary are one group: both go)
    const killer = setTimeout(() => killGroup(proc), graceMs);
    await exited;
    clearTimeout(killer);
  }
}

/** SIGKILL to the child's process group (it leads one: detached), or to the child alone should the group be gone. */
function killGroup(proc: ChildProcess): void {
  try {
    process.kill(-proc.pid!, 'SIGKILL');
  } catch {
    proc.kill('SIGKILL');
  }
}
