/**
 * Running the docker and docker-compose CLIs from tests: every call has a deadline, and a failure is
 * a DockerCommandError that names the command, its exit and the last lines it printed.
 */
import { spawn, type SpawnOptions } from 'node:child_process';

export class DockerCommandError extends Error {
  override readonly name = 'DockerCommandError';
  constructor(
    readonly command: string,
    readonly outcome: string,
    readonly output: string,
  ) {
    super(`${command}: ${outcome}${output ? `\n${lastLines(output, 30)}` : ''}`);
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Bytes for stdin, or a stream's worth piped in by `pipeFrom`. */
  readonly input?: string;
  /** Resolve with the result instead of rejecting on a non-zero exit. */
  readonly allowFailure?: boolean;
  /** Each output line as it comes (long builds: progress in the test log). */
  readonly onLine?: (line: string) => void;
}

/** The last n lines of a command's output. */
export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** Runs a command to its end or its deadline (then SIGKILL, and a DockerCommandError). */
export function run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const label = [file, ...args].join(' ').slice(0, 300);
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(file, args, spawnOptions);
    let stdout = '';
    let stderr = '';
    let partial = '';
    const onData = (chunk: Buffer, into: 'out' | 'err'): void => {
      const text = chunk.toString('utf8');
      if (into === 'out') stdout += text;
      else stderr += text;
      if (options.onLine) {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) options.onLine(line);
      }
    };
    child.stdout!.on('data', (c: Buffer) => onData(c, 'out'));
    child.stderr!.on('data', (c: Buffer) => onData(c, 'err'));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DockerCommandError(label, `no end within ${options.timeoutMs} ms (killed)`, stdout + stderr));
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new DockerCommandError(label, `could not start (${(err as NodeJS.ErrnoException).code ?? err.message})`, ''));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout, stderr };
      if (code === 0 || options.allowFailure) resolve(result);
      else reject(new DockerCommandError(label, signal ? `killed by ${signal}` : `exit ${code}`, stdout + stderr));
    });
    child.stdin!.on('error', () => undefined); // a command that exits before reading its input
    child.stdin!.end(options.input ?? '');
  });
}

/** `producer | consumer`, both with the deadline; the consumer's result. */
export function pipe(producer: readonly [string, readonly string[]], consumer: readonly [string, readonly string[]], timeoutMs: number): Promise<RunResult> {
  const label = `${[producer[0], ...producer[1]].join(' ')} | ${[consumer[0], ...consumer[1]].join(' ')}`.slice(0, 300);
  return new Promise((resolve, reject) => {
    const left = spawn(producer[0], producer[1], { stdio: ['ignore', 'pipe', 'pipe'] });
    const right = spawn(consumer[0], consumer[1], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    left.stderr.on('data', (c: Buffer) => (err += c.toString()));
    right.stderr.on('data', (c: Buffer) => (err += c.toString()));
    right.stdout.on('data', (c: Buffer) => (out += c.toString()));
    left.stdout.pipe(right.stdin);
    right.stdin.on('error', () => undefined);
    const timer = setTimeout(() => {
      left.kill('SIGKILL');
      right.kill('SIGKILL');
      reject(new DockerCommandError(label, `no end within ${timeoutMs} ms (killed)`, err));
    }, timeoutMs);
    let leftCode: number | null = null;
    left.on('error', (e) => reject(new DockerCommandError(label, `could not start ${producer[0]} (${e.message})`, '')));
    right.on('error', (e) => reject(new DockerCommandError(label, `could not start ${consumer[0]} (${e.message})`, '')));
    left.on('close', (code) => (leftCode = code));
    right.on('close', (code) => {
      clearTimeout(timer);
      const finish = (): void => {
        if (code === 0 && leftCode === 0) resolve({ code: 0, stdout: out, stderr: err });
        else reject(new DockerCommandError(label, `exit ${leftCode} | ${code}`, err));
      };
      if (leftCode === null) left.once('close', finish);
      else finish();
    });
  });
}
