/**
 * pnpm train:watch — continuous training (docs/trainer.md, "Model lifecycle"):
 * every WATCH_EVERY_HOURS, the last WATCH_SPAN_HOURS of the ingestor's
 * captures → a candidate in the registry (WATCH_REGISTRY_DIR), which
 * inference runs in shadow as its challenger. One JSON line per cycle on
 * stdout; a refused cycle says why and is counted in watch-status.json and
 * in /metrics (WATCH_PORT, 9096; 0 = no ops server), whose /health is 503
 * when the job stops producing candidates (src/watch-job.ts).
 * `--once`: one cycle, no ops server, exit 0 (candidate written) or 1 (refused).
 */
import { parseArgs } from 'node:util';
import { configOrExit } from '@hotpath/config';
import { watchConfigFromEnv } from '../src/watch-config.ts';
import { WatchJob } from '../src/watch-job.ts';

const argv = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'));
const { values } = parseArgs({ args: argv, options: { once: { type: 'boolean' } }, allowPositionals: false });
const c = configOrExit(() => watchConfigFromEnv(process.env, values));
const line = (o: object) => console.log(JSON.stringify({ time: new Date().toISOString(), service: 'train-watch', ...o }));

if (c.once) {
  const job = new WatchJob({ ...c, port: 0 }, { log: line });
  process.exit((await job.cycle()).ok ? 0 : 1);
}
const job = new WatchJob(c, { log: line });
try {
  await job.start();
} catch (err) {
  // the ops port taken or not bindable: say which and stop (a job nobody can watch is not started silently)
  line({ level: 'error', msg: 'train:watch could not start', port: c.port, host: c.host, err: { message: (err as Error).message } });
  process.exit(1);
}
line({ level: 'info', msg: 'train:watch started', everyHours: c.everyHours, spanHours: c.spanHours, captureDir: c.captureDir, registryDir: c.registryDir, port: c.port || null });
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    void job.stop().finally(() => process.exit(0));
  });
}
