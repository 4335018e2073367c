/**
 * pnpm train:watch — continuous training (docs/trainer.md, "Model lifecycle"):
 * every WATCH_EVERY_HOURS, the last WATCH_SPAN_HOURS of the ingestor's
 * captures → a candidate in the registry (WATCH_REGISTRY_DIR), which
 * inference runs in shadow as its challenger. One JSON line per cycle on
 * stdout; a refused cycle says why and is counted in watch-status.json.
 * `--once`: one cycle, exit 0 (candidate written) or 1 (refused).
 */
import { parseArgs } from 'node:util';
import { configOrExit } from '@hotpath/config';
import { ModelRegistry } from '@hotpath/model';
import { watchConfigFromEnv } from '../src/watch-config.ts';
import { captureDataset, captureFiles, readCaptureSpan, trainCandidate, WatchError, writeStatus, type WatchStatus } from '../src/watch.ts';

const argv = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'));
const { values } = parseArgs({ args: argv, options: { once: { type: 'boolean' } }, allowPositionals: false });
const c = configOrExit(() => watchConfigFromEnv(process.env, values));
const registry = new ModelRegistry(c.registryDir);
const status: WatchStatus = { cycles: 0, candidates: 0, refused: {}, lastCycleAt: null, lastOutcome: null };
const line = (o: object) => console.log(JSON.stringify({ time: new Date().toISOString(), service: 'train-watch', ...o }));

async function cycle(): Promise<boolean> {
  const now = Date.now();
  const fromMs = now - c.spanHours * 3_600_000;
  status.cycles++;
  status.lastCycleAt = new Date(now).toISOString();
  try {
    const span = readCaptureSpan(captureFiles(c.captureDir, fromMs, now), fromMs * 1000, now * 1000, c.maxGapSeconds * 1e6);
    const d = captureDataset(span, c.symbol);
    const entry = await trainCandidate(d, { registry, name: c.name, seed: c.seed, minSamples: c.minSamples, dataSource: d.source });
    status.candidates++;
    status.lastOutcome = `candidate ${entry.id}`;
    line({ level: 'info', msg: 'candidate written', id: entry.id, samples: entry.lineage.samples, evaluation: entry.evaluation, parent: entry.lineage.parent });
    return true;
  } catch (err) {
    // anything else (a full disk, a bug) fails this cycle, counted, and the next one runs: the job never dies of one
    const code = err instanceof WatchError ? err.code : 'failed';
    status.refused[code] = (status.refused[code] ?? 0) + 1;
    status.lastOutcome = `refused (${code}): ${(err as Error).message}`;
    line({
      level: err instanceof WatchError ? 'warn' : 'error',
      msg: 'training cycle refused',
      code,
      reason: (err as Error).message,
      ...(err instanceof WatchError ? {} : { err: { stack: (err as Error).stack } }),
    });
    return false;
  } finally {
    await writeStatus(c.registryDir, status);
  }
}

if (c.once) process.exit((await cycle()) ? 0 : 1);
line({ level: 'info', msg: 'train:watch started', everyHours: c.everyHours, spanHours: c.spanHours, captureDir: c.captureDir, registryDir: c.registryDir });
let running: Promise<unknown> = cycle();
const timer = setInterval(() => {
  running = running.then(cycle);
}, c.everyHours * 3_600_000);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    clearInterval(timer);
    // a cycle in flight finishes (it writes the registry atomically either way); then exit
    void running.finally(() => process.exit(0));
  });
}
