/**
 * pnpm soak:chaos — the whole local stack (exchange-sim, ingestor, two
 * aggregators, two inference replicas, Redis, Kinesis) under seeded faults,
 * with the invariants of issue 14 checked continuously and at the end. See
 * docs/runbooks/chaos-soak.md.
 * SOAK_MINUTES (default 30: minutes of faults, after the warm-up), SOAK_SEED
 * (default 1), SOAK_INTERVAL_MS (inference tick, default 2000), SOAK_LOG_LEVEL
 * (the services' LOG_LEVEL, default warn; info shows every lease and shard event).
 * Progress on stderr; the last line on stdout is one JSON object. Exit code 1
 * when an invariant failed.
 */
import { parseCli } from '@hotpath/config';

parseCli({
  name: 'pnpm soak:chaos',
  usage: `

The whole local stack (exchange-sim, ingestor, two aggregators, two inference replicas, Redis, Kinesis)
under seeded faults, with the invariants of issue 14 checked continuously and at the end
(docs/runbooks/chaos-soak.md). Progress on stderr; the last line on stdout is one JSON object. Exit 1 when
an invariant failed, 2 for a wrong setting. Ctrl-C ends the faults early (the end checks still run).
Takes no flags.`,
  env: {
    SOAK_MINUTES: 'minutes of faults after the warm-up (default 30)',
    SOAK_SEED: 'the fault schedule seed (default 1)',
    SOAK_INTERVAL_MS: 'the inference tick (default 2000)',
    SOAK_LOG_LEVEL: "the services' LOG_LEVEL (default warn; info shows every lease and shard event)",
  },
  examples: ['SOAK_MINUTES=5 SOAK_SEED=3 pnpm soak:chaos'],
});
// (loaded after the arguments: --help answers without loading the stack)
const { runChaosSoak } = await import('./chaos/soak.ts');

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} must be a positive number (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return n;
}

const controller = new AbortController();
// Ctrl-C ends the faults early; the end checks and the clean stop still run (a second one is not waited for)
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`${signal}: ending the faults, stopping the stack`);
    controller.abort();
  });
}

const report = await runChaosSoak({
  minutes: positive('SOAK_MINUTES', 30),
  seed: Math.floor(positive('SOAK_SEED', 1)),
  intervalMs: Math.floor(positive('SOAK_INTERVAL_MS', 2_000)),
  ...(process.env['SOAK_LOG_LEVEL'] ? { logLevel: process.env['SOAK_LOG_LEVEL'] } : {}),
  signal: controller.signal,
  log: (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
});
console.log(JSON.stringify(report.line));
process.exit(report.ok ? 0 : 1);
