/**
 * The soak's supervisor: every service is an OS process of its own (own
 * process group, so a kill reaches everything it started), restarted after a
 * seeded delay when the harness killed it, and stopped SIGTERM → SIGKILL with
 * the time to exit measured. Every pid ever spawned is remembered, and every
 * process carries the run's marker in its environment, so the end can prove
 * that nothing was left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Preloaded into every node service: a child whose harness died (even by SIGKILL) stops itself (the launcher's guard). */
const ORPHAN_GUARD = fileURLToPath(new URL('../../apps/launcher/src/orphan-guard.ts', import.meta.url));

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Instance {
  pid: number;
  spawnedAtMs: number;
  /** First /health answer (any status): the process serves. */
  readyAtMs?: number;
  /** SIGTERM or SIGKILL sent by the harness. */
  stoppingAtMs?: number;
  exitedAtMs?: number;
  exit?: { code: number | null; signal: string | null };
  /** The harness did not ask for this exit. */
  unexpected?: boolean;
}

export interface Shutdown {
  service: string;
  ms: number;
  /** Still running at the deadline: SIGKILLed. */
  killed: boolean;
}

/** Every pid the harness spawned, and the marker its processes carry. */
export class ProcessLedger {
  readonly pids = new Set<number>();
  readonly shutdowns: Shutdown[] = [];
  constructor(readonly runId: string) {}

  /** Processes of this run still alive: every pid spawned, and anything carrying the run's marker (their children). */
  survivors(): { pid: number; cmd: string }[] {
    const alive = new Map<number, string>();
    for (const pid of this.pids) if (isAlive(pid)) alive.set(pid, cmdline(pid));
    const marker = `CHAOS_RUN_ID=${this.runId}`;
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid || alive.has(pid)) continue;
      try {
        if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker) && isAlive(pid)) alive.set(pid, cmdline(pid));
      } catch {
        // not ours to read, or gone meanwhile
      }
    }
    return [...alive].map(([pid, cmd]) => ({ pid, cmd }));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie is dead, only not reaped yet
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim().slice(0, 200);
  } catch {
    return '?';
  }
}

/** Resident memory in MB (VmRSS), undefined when the process is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}

export interface ServiceSpec {
  /** Unique name in the stack (aggregator-a). */
  name: string;
  /** The service it runs (aggregator): shutdown and RSS figures are per service. */
  service: string;
  /** Node entry point (run as `node --import tsx --import <orphan guard> entry`), or a raw command. */
  entry?: string;
  command?: { file: string; args: string[] };
  env: Record<string, string>;
  port?: number;
  logFile: string;
}

/** One supervised service. */
export class ServiceProcess {
  readonly instances: Instance[] = [];
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  /** When the process should be up again (a scheduled restart), for timelines. */
  restartAtMs: number | undefined;

  constructor(
    readonly spec: ServiceSpec,
    private readonly ledger: ProcessLedger,
    private readonly root: string,
    private readonly onUnexpectedExit: (s: ServiceProcess, inst: Instance) => void = () => undefined,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }

  get current(): Instance | undefined {
    const last = this.instances.at(-1);
    return last !== undefined && last.exitedAtMs === undefined ? last : undefined;
  }

  get up(): boolean {
    return this.current !== undefined && this.current.stoppingAtMs === undefined;
  }

  start(): Instance {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.restartAtMs = undefined;
    if (this.current !== undefined) return this.current;
    const fd = openSync(this.spec.logFile, 'a');
    const [file, args] = this.spec.command !== undefined ? [this.spec.command.file, this.spec.command.args] : [process.execPath, ['--import', 'tsx', '--import', ORPHAN_GUARD, this.spec.entry!]];
    const proc = spawn(file, args, {
      cwd: this.root,
      detached: true,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...this.spec.env, CHAOS_RUN_ID: this.ledger.runId, HOTPATH_LAUNCHER_PID: String(process.pid) },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const inst: Instance = { pid: proc.pid ?? -1, spawnedAtMs: Date.now() };
    if (proc.pid !== undefined) this.ledger.pids.add(proc.pid);
    this.instances.push(inst);
    this.proc = proc;
    this.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        inst.exitedAtMs = Date.now();
        inst.exit = { code, signal };
        if (inst.stoppingAtMs === undefined) {
          inst.unexpected = true;
          this.onUnexpectedExit(this, inst);
        }
        if (this.proc === proc) this.proc = undefined;
        resolve();
      });
      proc.once('error', () => resolve());
    });
    return inst;
  }

  /** kill -9 of the whole process group, and the exit awaited (bounded). */
  async kill(): Promise<void> {
    const inst = this.current;
    if (inst === undefined) return;
    inst.stoppingAtMs ??= Date.now();
    signalGroup(inst.pid, 'SIGKILL');
    await Promise.race([this.exited, sleep(5_000)]);
  }

  /**
   * SIGTERM, then SIGKILL of the group at `hardMs`: the time to exit is
   * recorded against the service (over `deadlineMs` is a failed invariant).
   */
  async terminate(hardMs: number): Promise<Shutdown | undefined> {
    const inst = this.current;
    if (inst === undefined) return undefined;
    const t0 = Date.now();
    inst.stoppingAtMs ??= t0;
    try {
      process.kill(inst.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const ended = await Promise.race([this.exited.then(() => true), sleep(hardMs).then(() => false)]);
    if (!ended) {
      signalGroup(inst.pid, 'SIGKILL');
      await Promise.race([this.exited, sleep(5_000)]);
    }
    const s: Shutdown = { service: this.spec.service, ms: Date.now() - t0, killed: !ended };
    this.ledger.shutdowns.push(s);
    return s;
  }

  /** The supervisor's restart, `delayMs` from now. */
  restartIn(delayMs: number): void {
    clearTimeout(this.restartTimer);
    this.restartAtMs = Date.now() + delayMs;
    this.restartTimer = setTimeout(() => this.start(), delayMs);
  }

  cancelRestart(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.restartAtMs = undefined;
  }

  /** Last resort (the harness's own error path): SIGKILL to the group, no waiting for a graceful stop. */
  async forceKill(): Promise<void> {
    this.cancelRestart();
    await this.kill();
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}
