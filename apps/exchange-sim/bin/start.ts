/**
 * exchange-sim CLI: pnpm --filter exchange-sim start -- --seed 1 --speed 1 --port 9443
 * Flags override SIM_* environment variables. Ctrl-C stops cleanly (main(): one deadline, exit codes).
 */
import { parseArgs } from 'node:util';
import { configOrExit } from '@hotpath/config';
import { Lifecycle, main } from '@hotpath/service';
import { ExchangeSimulator, SIM_FLAGS, simConfigFromEnv } from '../src/index.ts';

// pnpm passes a literal `--` through; parseArgs would stop at it.
const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: Object.fromEntries(Object.keys(SIM_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
  allowPositionals: true,
});

// a wrong setting: its flag or variable named on stderr, exit code 2
const config = configOrExit(() => simConfigFromEnv(process.env, {}, values));
await main(() => {
  const sim = new ExchangeSimulator(config);
  return { log: sim.log, lifecycle: new Lifecycle().add({ name: 'exchange-sim', start: () => sim.start(), stop: () => sim.stop() }) };
});
