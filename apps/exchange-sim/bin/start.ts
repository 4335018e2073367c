/**
 * exchange-sim CLI: pnpm --filter exchange-sim start -- --seed 1 --speed 1 --port 9443
 * Flags override SIM_* environment variables. Ctrl-C stops cleanly (main(): one deadline, exit codes).
 */
import { configOrExit, parseCli } from '@hotpath/config';
import { SIM_ENV, SIM_FLAGS, simConfigFromEnv } from '../src/config.ts';

const variableOf = new Map(Object.entries(SIM_ENV).map(([variable, setting]) => [setting, variable]));
const { values } = parseCli({
  name: 'exchange-sim',
  usage: `[options]

A simulated Binance spot exchange: SBE market-data streams over WebSocket and the REST depth snapshot,
with seeded prices, faults (SIM_FAULTS) and Binance's limits, for the ingestor to read. Settings from the
environment, a flag over its variable (defaults: docs/configuration.md); Ctrl-C stops it.`,
  options: Object.fromEntries(
    Object.entries(SIM_FLAGS).map(([flag, setting]) => [flag, { type: 'string' as const, description: `${setting}${variableOf.has(setting) ? ` (over ${variableOf.get(setting)})` : ''}` }]),
  ),
  env: SIM_ENV,
  examples: ['pnpm --filter exchange-sim start -- --seed 1 --speed 1 --port 9443', 'SIM_SYMBOLS=BTCUSDT,ETHUSDT pnpm --filter exchange-sim start'],
});

// a wrong setting: its flag or variable named on stderr, exit code 2
const config = configOrExit(() => simConfigFromEnv(process.env, {}, values));
// (loaded after the arguments: --help answers without loading the simulator)
const { Lifecycle, main } = await import('@hotpath/service');
const { ExchangeSimulator } = await import('../src/index.ts');
await main(() => {
  const sim = new ExchangeSimulator(config);
  return { log: sim.log, lifecycle: new Lifecycle().add({ name: 'exchange-sim', start: () => sim.start(), stop: () => sim.stop() }) };
});
