/**
 * The launcher (bin/start.ts turns on the compile cache first) — the whole stack on this machine: Redis, Kinesis (embedded),
 * exchange-sim or live Binance (BINANCE_API_KEY / BINANCE_API_KEY_FILE),
 * ingestor, aggregator, inference with the shipped model; with --monitoring Prometheus and Alertmanager.
 * Ctrl-C stops it all and exits 0.
 *
 * Ctrl-C in a terminal: the terminal sends SIGINT to the whole foreground process group — pnpm as well as
 * this process — and pnpm answers its own SIGINT by exiting 130 with "ELIFECYCLE Command failed" at once,
 * whatever its script then does (and gives the prompt back while the stack is still stopping). So when
 * stdin is a terminal the launcher takes Ctrl-C as a key instead (raw mode: the terminal sends no signal,
 * pnpm sees nothing), stops everything and exits 0; pnpm then exits 0 too. SIGINT and SIGTERM from
 * elsewhere (kill, CI, a supervisor) stop it the same way.
 */
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { inForeground, Launcher, launcherConfigFromEnv, redactCredentials, RedisUnavailableError } from '../src/index.ts';
import { configOrExit, parseCli } from '@hotpath/config';
import { RedisConnectionError } from '@hotpath/state';

// --help: usage, exit 0; an unknown flag: the reason and usage on stderr, exit 2 (never a stack trace)
const cli = parseCli({
  name: 'pnpm start',
  usage: `[options]

The whole stack on this machine as supervised processes: Redis (yours if REDIS_URL answers, else a private
redis-server), an embedded Kinesis emulator, the exchange simulator (or live Binance with BINANCE_API_KEY_FILE),
the ingestor, the aggregator and inference with the shipped model. Live page on http://127.0.0.1:9092/.
Once up, the endpoints are written to .hotpath/state.json (pnpm read:vector and the other tools read it) and
each service's log to .hotpath/logs/<service>.log. Ctrl-C stops everything in order and exits 0.
Every setting: docs/configuration.md (launcher).`,
  options: {
    monitoring: {
      type: 'boolean',
      description: "also run Prometheus and Alertmanager (binaries on PATH) with the project's rules and routing",
    },
  },
  env: {
    HOTPATH_SYMBOLS: 'symbols (default BTCUSDT)',
    BINANCE_API_KEY_FILE: 'live Binance instead of the simulator',
    REDIS_URL: 'a Redis of yours instead of a private redis-server',
    INFERENCE_PORT: 'the live page and API (default 9092)',
    LOG_FORMAT: 'pretty (a terminal) or json (otherwise)',
  },
  examples: ['pnpm start', 'pnpm start --monitoring', 'BINANCE_API_KEY_FILE=~/binance.key pnpm start'],
});

// a wrong setting: its variable named on stderr (INFERENCE_PORT, never a key), exit code 2
const config = configOrExit(() => launcherConfigFromEnv(process.env, {}, { monitoring: cli.values.monitoring }));
const launcher = new Launcher(config, fileURLToPath(new URL('../../..', import.meta.url)));
const stdin = process.stdin;
// (not when started in the background, `pnpm start &`: changing the terminal's mode from there stops the process, SIGTTOU)
const keys = stdin.isTTY && typeof stdin.setRawMode === 'function' && inForeground();
let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await launcher.stop();
  if (keys) stdin.setRawMode(false);
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
if (keys) {
  stdin.setRawMode(true);
  stdin.on('data', (d: Buffer) => {
    // Ctrl-C (ETX) as a key; Ctrl-\ too (its signal would have killed everything without a stop)
    if (d.includes(0x03) || d.includes(0x1c)) void shutdown();
  });
  // the terminal is given back as it was on any exit, a crash's included
  process.on('exit', () => stdin.setRawMode(false));
}
try {
  await launcher.start();
} catch (err) {
  // (a Redis the operator set that refuses the connection: the message names the setting, never a secret)
  console.error(redactCredentials(err instanceof RedisUnavailableError || err instanceof RedisConnectionError ? err.message : `could not start: ${inspect(err)}`));
  await launcher.stop();
  process.exit(2);
}
