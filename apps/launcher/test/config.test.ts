/**
 * The launcher's configuration names what the operator sets — INFERENCE_PORT,
 * not the setting inferencePort — and `pnpm start` with a wrong one prints
 * that and exits with code 2 before starting anything.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@hotpath/config';
import { LAUNCHER_ENV, launcherConfigFromEnv } from '../src/index.ts';
import { configRefusal } from '../../../test/support/config.ts';

describe('launcherConfigFromEnv', () => {
  it('reads every variable of LAUNCHER_ENV, an empty one as unset', () => {
    const c = launcherConfigFromEnv({ INFERENCE_PORT: '19092', SIM_PORT: '', HOTPATH_SYMBOLS: 'ETHUSDT', KINESIS_SHARDS: '3' });
    expect(c).toMatchObject({ inferencePort: 19092, simPort: 9443, symbols: 'ETHUSDT', kinesisShards: 3 });
    expect(Object.keys(LAUNCHER_ENV)).toContain('INFERENCE_PORT');
  });

  it('log form: LOG_FORMAT, LAUNCHER_LOG_FORMAT over it; NO_COLOR (not empty) turns colour off; --monitoring from the flag', () => {
    expect(launcherConfigFromEnv({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(launcherConfigFromEnv({ LOG_FORMAT: 'json', LAUNCHER_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(launcherConfigFromEnv({ NO_COLOR: '1' }).noColor).toBe(true);
    expect(launcherConfigFromEnv({ NO_COLOR: '' }).noColor).toBe(false);
    expect(launcherConfigFromEnv({}).monitoring).toBe(false);
    expect(launcherConfigFromEnv({}, {}, { monitoring: true }).monitoring).toBe(true);
    expect(configRefusal(() => launcherConfigFromEnv({ LOG_FORMAT: 'xml' }))?.variables).toEqual(['LOG_FORMAT']);
  });

  it('names each wrong setting by its environment variable and never shows the Binance key or the Redis URL', () => {
    const key = 'binance-key-never-printed';
    const err = configRefusal(() =>
      launcherConfigFromEnv({ INFERENCE_PORT: 'abc', KINESIS_SHARDS: '99', BINANCE_API_KEY: key, BINANCE_STREAM_URL: 'not a url', REDIS_URL: 'redis://:redis-password@h:1' }),
    );
    expect(err).toBeInstanceOf(ConfigError);
    const { variables, message, code } = err!;
    expect(code).toBe('invalid_config');
    expect(variables).toEqual(['KINESIS_SHARDS', 'BINANCE_STREAM_URL', 'INFERENCE_PORT']);
    expect(message).toContain('\n  INFERENCE_PORT: Expected number, received nan (got "abc")');
    expect(message).not.toMatch(/inferencePort|kinesisShards|binanceStreamUrl/);
    expect(message).not.toMatch(/binance-key-never-printed|redis-password/);
  });
});

describe('pnpm start with a wrong setting', () => {
  it('prints the variable and exits with code 2, starting nothing', () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'apps/launcher/bin/start.ts'], {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', INFERENCE_PORT: 'abc', BINANCE_API_KEY: 'binance-key-never-printed' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('invalid launcher configuration:\n  INFERENCE_PORT: Expected number, received nan (got "abc")\n');
    expect(r.stdout).toBe('');
  });
});

describe('pnpm start --help and a flag it does not take', () => {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const run = (...args: string[]) => spawnSync('pnpm', ['--silent', 'start', ...args], { cwd: root, env: { ...process.env, INFERENCE_PORT: 'abc' }, encoding: 'utf8', timeout: 60_000 });

  it('--help: the usage on stdout, exit 0, before any setting is read', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: pnpm start \[options\]\n/);
    expect(r.stdout).toContain('--monitoring');
    expect(r.stderr).toBe('');
  });

  it('an unknown flag: the reason and the usage on stderr, exit 2, no stack trace', () => {
    const r = run('--monitor');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^pnpm start: Unknown option '--monitor'\n\nusage: pnpm start \[options\]\n/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});
