/**
 * exchange-sim CLI: pnpm --filter exchange-sim start -- --seed 1 --speed 1 --port 9443
 * Flags override SIM_* environment variables. Ctrl-C stops cleanly (main(): one deadline, exit codes).
 */
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { describeIssues, variablesOf } from '@hotpath/config';
import { ConfigurationError, Lifecycle, main } from '@hotpath/service';
import { ExchangeSimulator, SIM_ENV, configFromEnv } from '../src/index.ts';

// pnpm passes a literal `--` through; parseArgs would stop at it.
const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    seed: { type: 'string' },
    speed: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    symbols: { type: 'string' },
    'api-keys': { type: 'string' },
    'start-time-us': { type: 'string' },
    replay: { type: 'string' },
  },
  allowPositionals: true,
});
const overrides: Record<string, unknown> = {};
if (values.seed !== undefined) overrides['seed'] = values.seed;
if (values.speed !== undefined) overrides['speed'] = values.speed;
if (values.port !== undefined) overrides['port'] = values.port;
if (values.host !== undefined) overrides['host'] = values.host;
if (values.symbols !== undefined) overrides['symbols'] = values.symbols;
if (values['api-keys'] !== undefined) overrides['apiKeys'] = values['api-keys'];
if (values['start-time-us'] !== undefined) overrides['startTimeUs'] = values['start-time-us'];
if (values.replay !== undefined) overrides['replay'] = values.replay;

await main(() => {
  let config;
  try {
    config = configFromEnv(process.env, overrides);
  } catch (err) {
    if (err instanceof ZodError) throw new ConfigurationError(`invalid exchange-sim configuration:\n  ${describeIssues(err, variablesOf(SIM_ENV))}`);
    throw err;
  }
  const sim = new ExchangeSimulator(config);
  return { log: sim.log, lifecycle: new Lifecycle().add({ name: 'exchange-sim', start: () => sim.start(), stop: () => sim.stop() }) };
});
