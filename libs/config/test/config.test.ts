import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { CONFIG_ERROR_CODES, type ConfigError, configOrExit, loadConfig, type ConfigInput, type ConfigSpec } from '@hotpath/config';
import { configRefusal } from '../../../test/support/config.ts';

const Schema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(9000),
  name: z.string().min(1),
  token: z.string().min(16).optional(),
  mode: z.enum(['fast', 'slow']).default('fast'),
  list: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.string().regex(/^[A-Z]+$/, 'capitals only')))
    .optional(),
});
const SPEC: ConfigSpec<typeof Schema> = {
  name: 'app',
  schema: Schema,
  env: { APP_PORT: 'port', APP_NAME: 'name', APP_TOKEN: 'token', APP_MODE: 'mode', APP_LIST: 'list' },
  flags: { port: 'port', mode: 'mode' },
  secrets: ['token'],
};

/** The ConfigError loadConfig throws for `input` (fails the test when it returns). */
function refusal(input: ConfigInput, spec: ConfigSpec = SPEC): ConfigError {
  const err = configRefusal(() => loadConfig(spec, input));
  if (err === undefined) throw new Error('loadConfig accepted it');
  return err;
}

describe('loadConfig', () => {
  it('reads the mapped variables over the schema defaults, and nothing else', () => {
    expect(loadConfig(SPEC, { env: { APP_NAME: 'a', APP_PORT: '80', OTHER: 'x', PORT: '1' } })).toEqual({ port: 80, name: 'a', mode: 'fast' });
  });

  it('counts an empty variable as unset: the default applies, and a required one is missing', () => {
    expect(loadConfig(SPEC, { env: { APP_NAME: 'a', APP_PORT: '' } }).port).toBe(9000);
    const err = refusal({ env: { APP_NAME: '' } });
    expect(err.message).toBe('invalid app configuration:\n  APP_NAME: Required');
  });

  it('names each wrong setting by its environment variable, one line each, with the value given', () => {
    const err = refusal({ env: { APP_PORT: 'abc', APP_MODE: 'quick' } });
    expect(err.code).toBe('invalid_config');
    expect(CONFIG_ERROR_CODES).toContain(err.code);
    expect(err.variables).toEqual(['APP_PORT', 'APP_NAME', 'APP_MODE']);
    expect(err.message.split('\n')).toEqual([
      'invalid app configuration:',
      '  APP_PORT: Expected number, received nan (got "abc")',
      '  APP_NAME: Required',
      // (zod quotes an enum's value itself: not twice)
      "  APP_MODE: Invalid enum value. Expected 'fast' | 'slow', received 'quick'",
    ]);
    // (a value that is only a piece of the message's words is still quoted)
    expect(refusal({ env: { APP_NAME: 'a', APP_PORT: 'x' } }).message).toBe('invalid app configuration:\n  APP_PORT: Expected number, received nan (got "x")');
  });

  it('names a place inside a structured value after its variable', () => {
    const err = refusal({ env: { APP_NAME: 'a', APP_LIST: 'AB,cd' } });
    expect(err.issues).toEqual([{ variable: 'APP_LIST', at: '[1]', message: 'capitals only' }]);
    expect(err.message).toContain('\n  APP_LIST[1]: capitals only');
  });

  it('names a flag as --flag when the value came from it; flags win over the environment, overrides over both', () => {
    expect(loadConfig(SPEC, { env: { APP_NAME: 'a', APP_PORT: '80' }, flags: { port: '81', mode: undefined } }).port).toBe(81);
    expect(loadConfig(SPEC, { env: { APP_NAME: 'a' }, flags: { port: '81' }, overrides: { port: 82 } }).port).toBe(82);
    expect(loadConfig(SPEC, { env: {}, defaults: { name: 'd', port: 1 } })).toMatchObject({ name: 'd', port: 1 });
    expect(loadConfig(SPEC, { env: { APP_NAME: 'e' }, defaults: { name: 'd' } }).name).toBe('e');
    expect(refusal({ env: { APP_NAME: 'a', APP_PORT: '80' }, flags: { port: '-1' } }).message).toBe('invalid app configuration:\n  --port: Number must be greater than or equal to 0 (got "-1")');
    // a setting given in code is named as the setting (no operator set it)
    expect(refusal({ env: { APP_NAME: 'a' }, overrides: { port: -1 } }).variables).toEqual(['port']);
    // a setting with a flag only, not given: named by its flag
    const FlagsOnly = z.object({ from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) });
    expect(refusal({ flags: {} }, { name: 'pnpm x', schema: FlagsOnly, flags: { from: 'from' } }).message).toBe('invalid pnpm x configuration:\n  --from: Required');
  });

  it('never shows a secret: not quoted, and cut out of any message that carries it', () => {
    const secret = 'hunter2-hunter2-';
    const Leaky = Schema.superRefine((c, ctx) => {
      if (c.token !== undefined && c.name !== 'ok') ctx.addIssue({ code: 'custom', path: ['name'], message: `not ok for ${c.token}` });
    });
    const err = refusal({ env: { APP_NAME: 'x', APP_TOKEN: secret } }, { ...SPEC, schema: Leaky });
    expect(err.message).toBe('invalid app configuration:\n  APP_NAME: not ok for [redacted] (got "x")');
    const short = refusal({ env: { APP_NAME: 'a', APP_TOKEN: 'short-secret' } });
    expect(short.message).toBe('invalid app configuration:\n  APP_TOKEN: String must contain at least 16 character(s)');
    // a zod message that quotes the value (an enum's) still shows no secret
    const Enum = z.object({ token: z.enum(['a', 'b']) });
    const quoted = refusal({ env: { APP_TOKEN: secret } }, { name: 'app', schema: Enum, env: { APP_TOKEN: 'token' }, secrets: ['token'] });
    expect(quoted.message).toContain("received '[redacted]'");
    expect(quoted.message).not.toContain(secret);
  });

  it('keeps each line one line, however long or broken the value, and says a message naming the variable once', () => {
    const err = refusal({ env: { APP_NAME: 'a', APP_PORT: `12\n${'9'.repeat(100)}` } });
    expect(err.message.split('\n')).toHaveLength(2);
    expect(err.message).toContain('(got "12\\n999');
    expect(err.message).toContain('…")');
    const Named = z.object({ url: z.string().refine(() => false, 'APP_URL: already has a password') });
    expect(refusal({ env: { APP_URL: 'x' } }, { name: 'app', schema: Named, env: { APP_URL: 'url' }, secrets: ['url'] }).message).toBe('invalid app configuration:\n  APP_URL: already has a password');
  });

  it('a rule over the whole configuration gives a line of its own, blaming no variable', () => {
    const Whole = z.object({ a: z.string().optional(), b: z.string().optional() }).refine((c) => c.a !== undefined || c.b !== undefined, 'set A or B');
    const err = refusal({ env: {} }, { name: 'app', schema: Whole, env: { A: 'a', B: 'b' } });
    expect(err.message).toBe('invalid app configuration:\n  set A or B');
    expect(err.variables).toEqual([]);
  });
});

describe('configOrExit', () => {
  const run = (env: Record<string, string>): { status: number | null; stdout: string; stderr: string } => {
    const load = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const code = `import { configOrExit, loadConfig } from ${JSON.stringify(load)}; import { z } from 'zod';
      const c = configOrExit(() => loadConfig({ name: 'app', schema: z.object({ port: z.coerce.number().int().max(65535) }), env: { APP_PORT: 'port' } }));
      console.log(JSON.stringify(c));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('in process: a ConfigError is printed alone and exits 2; any other error is not its to handle', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const spec = { name: 'app', schema: z.object({ port: z.coerce.number().int().max(65535) }), env: { APP_PORT: 'port' } } as const;
      expect(configOrExit(() => loadConfig(spec, { env: { APP_PORT: '8080' } }))).toEqual({ port: 8080 });
      expect(exit).not.toHaveBeenCalled();
      configOrExit(() => loadConfig(spec, { env: { APP_PORT: 'x' } }));
      expect(exit).toHaveBeenCalledWith(2);
      expect(printed.mock.calls).toEqual([[expect.stringMatching(/^invalid app configuration:\n {2}APP_PORT: /)]]);
      const bug = new TypeError('a bug, not a setting');
      expect(() =>
        configOrExit(() => {
          throw bug;
        }),
      ).toThrow(bug);
      expect(exit).toHaveBeenCalledTimes(1);
    } finally {
      exit.mockRestore();
      printed.mockRestore();
    }
  });

  it('gives the configuration, or prints the ConfigError message alone and exits with code 2', () => {
    expect(run({ APP_PORT: '80' })).toMatchObject({ status: 0, stdout: '{"port":80}\n' });
    expect(run({ APP_PORT: '99999' })).toEqual({ status: 2, stdout: '', stderr: 'invalid app configuration:\n  APP_PORT: Number must be less than or equal to 65535 (got "99999")\n' });
  });
});
