/**
 * Every command a user runs answers `--help` with its usage on stdout and exit 0, and a flag it does not
 * know with the reason and the usage on stderr and exit 2 — never a stack trace (issue 22). Each runs as
 * pnpm runs it: the command of its package.json script (tsx, or node with the TypeScript flags), from the
 * package's directory. The list is the root's scripts, so a new one is checked without being added here.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Root scripts that are not a command of this issue's: the checks and builds (`pnpm test` and the rest take
 * their tool's own flags), the generators and the benches (their settings are BENCH_* variables; bench:ab and
 * bench:start, which take flags, are checked).
 */
const NOT_COMMANDS = /^(test|test:.*|lint|typecheck|format|generate|generate:.*|bench:(?!ab$|start$).*)$/;
/** The services' own start scripts, each run by the name its usage gives. */
const SERVICES = ['exchange-sim', 'ingestor', 'aggregator', 'inference'];
/** At most this many commands at once: each is a node (and a tsx) process loading TypeScript, on a 2-core machine shared with the suite. */
const CONCURRENCY = 3;

interface Command {
  /** What the usage's first line names: `pnpm read:vector`, `inference`. */
  readonly name: string;
  readonly cwd: string;
  readonly argv: readonly string[];
}

/**
 * `tsx x.ts` or `node --flags x.ts`, as pnpm would run it. tsx as node with its loader (`node --import tsx`):
 * the same transform as the tsx command, without its supervising parent process (half the processes).
 */
function command(name: string, cwd: string, script: string): Command {
  const [bin = '', ...args] = script.split(/\s+/);
  if (bin !== 'tsx' && bin !== 'node') throw new Error(`${name}: "${script}" is neither tsx nor node: say here how to run it`);
  return { name, cwd, argv: [process.execPath, ...(bin === 'tsx' ? ['--import', 'tsx'] : []), ...args] };
}

const scripts = (dir: string): Record<string, string> => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const COMMANDS: Command[] = [
  ...Object.entries(scripts(ROOT))
    .filter(([name]) => !NOT_COMMANDS.test(name))
    .map(([name, script]) => command(`pnpm ${name}`, ROOT, script)),
  ...SERVICES.map((app) => {
    const dir = join(ROOT, 'apps', app);
    return command(app, dir, scripts(dir)['start'] ?? '');
  }),
];

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `c` with `extra` arguments, niced (the suite's other files run beside it), stdin closed. */
function run(c: Command, extra: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [file = '', ...args] = c.argv;
    // no REDIS_URL and the like from the caller's shell: the answer must not depend on a setting
    const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(process.env['TMPDIR'] ? { TMPDIR: process.env['TMPDIR'] } : {}) };
    const child = spawn('nice', ['-n', '10', file, ...args, extra], { cwd: c.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every (command, argument) run, at most CONCURRENCY at a time, in list order. */
async function runAll(extras: readonly string[]): Promise<Map<string, Run>> {
  const jobs = COMMANDS.flatMap((c) => extras.map((extra) => ({ c, extra })));
  const out = new Map<string, Run>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) out.set(`${job.c.name} ${job.extra}`, await run(job.c, job.extra));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out;
}

/** A line of a Node stack trace. */
const STACK = /^\s+at /m;

describe('every CLI', () => {
  it('is listed: the root scripts a user runs and the services', () => {
    const names = COMMANDS.map((c) => c.name);
    for (const name of [
      'pnpm start',
      'pnpm read:vector',
      'pnpm leases',
      'pnpm train',
      'pnpm train:fetch',
      'pnpm train:watch',
      'pnpm demo:sbe',
      'pnpm docs:config',
      'pnpm soak:chaos',
      'pnpm bench:ab',
      'pnpm fuzz:sbe',
      'inference',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('--help: usage on stdout naming the command, exit 0; an unknown flag: the reason and the usage on stderr, exit 2, no stack trace', async () => {
    const runs = await runAll(['--help', '--no-such-flag']);
    const wrong: string[] = [];
    for (const c of COMMANDS) {
      const help = runs.get(`${c.name} --help`)!;
      const bad = runs.get(`${c.name} --no-such-flag`)!;
      const usage = `usage: ${c.name}`;
      if (help.code !== 0 || !help.stdout.startsWith(usage) || STACK.test(help.stderr)) {
        wrong.push(`${c.name} --help: exit ${help.code}, stdout ${JSON.stringify(help.stdout.slice(0, 200))}, stderr ${JSON.stringify(help.stderr.slice(0, 400))}`);
      }
      if (bad.code !== 2 || bad.stdout !== '' || !bad.stderr.includes("'--no-such-flag'") || !bad.stderr.includes(usage) || STACK.test(bad.stderr)) {
        wrong.push(`${c.name} --no-such-flag: exit ${bad.code}, stdout ${JSON.stringify(bad.stdout.slice(0, 200))}, stderr ${JSON.stringify(bad.stderr.slice(0, 400))}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
