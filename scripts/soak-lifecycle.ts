/**
 * pnpm soak:lifecycle — the regime-change scenario in full
 * (scripts/lifecycle-scenario.ts, FULL_SCENARIO: 30 simulated minutes of
 * regime A, then 150 of regime B with the informed flow reversed and
 * strengthened): prints one JSON line — time to detect the decay, time to
 * promote, accuracy before / during / after. Exit 1 when no challenger was
 * promoted or accuracy did not recover.
 */
import { parseCli } from '@hotpath/config';

parseCli({
  name: 'pnpm soak:lifecycle',
  usage: `

The model-lifecycle regime-change scenario in full (scripts/lifecycle-scenario.ts): 30 simulated minutes of
regime A, then 150 of regime B with the informed flow reversed and strengthened, against a redis-server of
its own. Prints one JSON line: time to detect the decay, time to promote, accuracy before / during / after.
Exit 1 when no challenger was promoted or accuracy did not recover. Takes no flags.`,
  env: { SOAK_SEED: 'the scenario seed (default the scenario’s own)' },
  examples: ['SOAK_SEED=11 pnpm soak:lifecycle'],
});
// (loaded after the arguments: --help answers without loading the scenario)
const { Redis } = await import('ioredis');
const { RedisServer } = await import('@hotpath/state/testing');
const { FULL_SCENARIO, runLifecycleScenario } = await import('./lifecycle-scenario.ts');

const server = new RedisServer('everysec');
await server.start();
const redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
redis.on('error', () => undefined);
try {
  const seed = Number(process.env.SOAK_SEED ?? FULL_SCENARIO.seed);
  const r = await runLifecycleScenario({ ...FULL_SCENARIO, seed, logLevel: 'warn' }, redis);
  console.log(JSON.stringify(r));
  process.exitCode = r.promote_s !== null && (r.accuracy_after ?? 0) > (r.accuracy_during ?? 1) ? 0 : 1;
} finally {
  redis.disconnect();
  await server.stop();
}
