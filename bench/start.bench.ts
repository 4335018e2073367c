/**
 * pnpm bench:start — `pnpm start` to the first prediction, phase by phase.
 * Runs `pnpm start` BENCH_START_RUNS times (default 5) one after the other, each on its own free ports and
 * capture directory, reads the launcher's own timeline (its `first prediction … — timeline:` JSON line:
 * seconds since the launcher's process started, apps/launcher/src/timeline.ts), stops it with Ctrl-C
 * (SIGINT) and waits for it to exit. `--cold` empties the compile cache before every run: a fresh clone's
 * first start. Prints one line per run, then one JSON line: the median of each phase, of the first
 * prediction and first model prediction, and of the time from spawning `pnpm start` (pnpm's own start
 * included). The machine's load average is in the line: these are wall times, a busy machine's are longer.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseCli } from '@hotpath/config';

const { values } = parseCli({
  name: 'pnpm bench:start',
  usage: `[--cold]

\`pnpm start\` to the first prediction, phase by phase: runs it BENCH_START_RUNS times one after the other
(each on free ports, with its own capture directory), reads the launcher's timeline, stops it with Ctrl-C.
One line per run, then one JSON line: the median of each phase and of the first (model) prediction, and
the machine's load average (wall times: a busy machine's are longer).`,
  options: { cold: { type: 'boolean', description: "empty the compile cache before every run (a fresh clone's first start)" } },
  env: { BENCH_START_RUNS: 'how many starts (default 5)' },
  examples: ['BENCH_START_RUNS=3 pnpm bench:start -- --cold'],
});
// (loaded after the arguments: --help answers without loading the launcher)
const { freePort } = await import('@hotpath/service');
const { compileCacheDir, PHASES } = await import('launcher');

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env['BENCH_START_RUNS'] ?? 5);
const COLD = values.cold === true;
/** A run that has no model prediction by then fails the bench (a deadline, not a measurement). */
const RUN_DEADLINE_MS = 120_000;

interface Announcement {
  msg: string;
  firstPredictionS: number;
  firstModelPredictionS: number | null;
  fallback: boolean;
  processStartMs: number;
  timeline: Record<string, number>;
}
interface Run {
  timeline: Record<string, number>;
  firstPredictionS: number;
  firstModelPredictionS: number;
  fallback: boolean;
  /** From spawning `pnpm start` to the first prediction: pnpm's and Node's own start included. */
  fromPnpmS: number;
}

async function once(i: number): Promise<Run> {
  if (COLD) rmSync(compileCacheDir(root), { recursive: true, force: true });
  const ports = { SIM_PORT: await freePort(), INGESTOR_PORT: await freePort(), AGGREGATOR_PORT: await freePort(), INFERENCE_PORT: await freePort(), KINESIS_EMULATOR_PORT: await freePort() };
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    LAUNCHER_LOG_FORMAT: 'json',
    LOG_LEVEL: 'warn',
    HOTPATH_CAPTURE_DIR: join(tmpdir(), `hotpath-bench-start-${process.pid}-${i}`),
  };
  delete env['REDIS_URL'];
  delete env['REDIS_CLUSTER_NODES'];
  const spawnedAt = Date.now();
  // (detached: its own process group, so that the SIGINT reaches pnpm and the launcher as Ctrl-C would)
  const proc = spawn('pnpm', ['start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    const first = await new Promise<Announcement>((resolve, reject) => {
      let seen: Announcement | undefined;
      const timer = setTimeout(() => reject(new Error(`run ${i}: no model prediction within ${RUN_DEADLINE_MS / 1000} s`)), RUN_DEADLINE_MS);
      proc.once('exit', (code) => reject(new Error(`run ${i}: pnpm start exited (code ${code}) before a model prediction`)));
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        let o: { svc?: string } & Partial<Announcement>;
        try {
          o = JSON.parse(line) as typeof o;
        } catch {
          return; // pnpm's own banner
        }
        if (o.svc !== 'launcher' || o.timeline === undefined) return;
        seen ??= o as Announcement;
        if (o.firstModelPredictionS !== null && o.firstModelPredictionS !== undefined) {
          clearTimeout(timer);
          resolve({ ...(o as Announcement), firstPredictionS: seen.firstPredictionS, fallback: seen.fallback });
        }
      });
    });
    return {
      timeline: first.timeline,
      firstPredictionS: first.firstPredictionS,
      firstModelPredictionS: first.firstModelPredictionS!,
      fallback: first.fallback,
      fromPnpmS: (first.processStartMs - spawnedAt) / 1000 + first.firstPredictionS,
    };
  } finally {
    if (proc.pid !== undefined && proc.exitCode === null) process.kill(-proc.pid, 'SIGINT');
    const killer = setTimeout(() => proc.pid !== undefined && process.kill(-proc.pid, 'SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
    rmSync(env['HOTPATH_CAPTURE_DIR']!, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return Number((s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2).toFixed(3));
};

const load = loadavg()[0]!;
const runs: Run[] = [];
for (let i = 1; i <= RUNS; i++) {
  const r = await once(i);
  runs.push(r);
  console.log(
    `run ${i}/${RUNS}${COLD ? ' (cold)' : ''}: first prediction ${r.firstPredictionS.toFixed(2)} s after the launcher started (${r.fallback ? 'fallback' : 'model'}), ${r.fromPnpmS.toFixed(2)} s after \`pnpm start\`; model ${r.firstModelPredictionS.toFixed(2)} s`,
  );
}
const phases: Record<string, number> = {};
for (const p of PHASES) {
  const xs = runs.map((r) => r.timeline[p]).filter((x): x is number => x !== undefined);
  if (xs.length > 0) phases[p] = median(xs);
}
console.log(
  JSON.stringify({
    bench: 'start',
    runs: RUNS,
    cold: COLD,
    load_avg_1m_before: Number(load.toFixed(2)),
    load_avg_1m_after: Number(loadavg()[0]!.toFixed(2)),
    first_prediction_s: median(runs.map((r) => r.firstPredictionS)),
    first_model_prediction_s: median(runs.map((r) => r.firstModelPredictionS)),
    from_pnpm_start_s: median(runs.map((r) => r.fromPnpmS)),
    fallback_first: runs.filter((r) => r.fallback).length,
    phases_median_s: phases,
  }),
);
