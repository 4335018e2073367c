/** Runs `pnpm <script>` from the repository root with `env` added, within `timeoutMs` (killed and rejected after it). */
import { spawn } from 'node:child_process';

const root = new URL('../..', import.meta.url).pathname;

export function runPnpmScript(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['--silent', script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // (a deadline: a bench that hangs fails its test instead of holding the suite)
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pnpm ${script} did not end within ${timeoutMs / 1000} s\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
