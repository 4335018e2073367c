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
import { configOrExit, parseCli } from '@hotpath/config';
import { serializeError } from '@hotpath/telemetry';
import { WATCH_ENV, watchConfigFromEnv } from '../src/watch-config.ts';

const { values } = parseCli({
  name: 'pnpm train:watch',
  usage: `[--once]

Continuous training (docs/trainer.md, "Model lifecycle"): every WATCH_EVERY_HOURS, the last
WATCH_SPAN_HOURS of the ingestor's captures become a candidate model in the registry, which inference runs
in shadow as its challenger. One JSON line per cycle on stdout; /metrics and /health on WATCH_PORT (0: no
ops server). Settings from the environment (defaults: docs/configuration.md); Ctrl-C stops it.`,
  options: { once: { type: 'boolean', description: 'one cycle, no ops server; exit 0 (candidate written) or 1 (refused)' } },
  env: WATCH_ENV,
  examples: ['pnpm train:watch -- --once', 'WATCH_EVERY_HOURS=6 WATCH_CAPTURE_DIR=data/captures pnpm train:watch'],
});
// (loaded after the arguments: --help answers without loading the trainer)
const { WatchJob } = await import('../src/watch-job.ts');
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
  line({ level: 'error', msg: 'train:watch could not start', port: c.port, host: c.host, err: serializeError(err) });
  process.exit(1);
}
line({ level: 'info', msg: 'train:watch started', everyHours: c.everyHours, spanHours: c.spanHours, captureDir: c.captureDir, registryDir: c.registryDir, port: c.port || null });
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    void job.stop().finally(() => process.exit(0));
  });
}
