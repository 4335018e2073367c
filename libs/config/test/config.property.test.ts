/**
 * Environment values and secret files are untrusted input (issue 15, item 2):
 * whatever an operator (or a broken deploy file) puts there, the shared
 * config code answers with settings or with an error that names the
 * variable — never another exception, and never the secret or a URL that may
 * hold one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, readSecretFile, SecretFileError, type ConfigSpec } from '@hotpath/config';
import { configRefusal } from '../../../test/support/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'config-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MAP = { APP_PORT: 'port', APP_NAME: 'name', APP_URL: 'url', APP_LIST: 'list' } as const;
const Schema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(1),
  name: z.string().min(1).max(20).default('x'),
  url: z.string().url().optional(),
  list: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.string().regex(/^[A-Z]+$/)))
    .optional(),
});

/** Env values as a shell can hold them: any text without NUL, sometimes empty, sometimes unset. */
const envValue = fc.option(
  fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replaceAll('\0', '')),
    fc.constant(''),
    fc.integer().map(String),
  ),
  { nil: undefined },
);
const envArb = fc.record(Object.fromEntries([...Object.keys(MAP), 'UNRELATED'].map((k) => [k, envValue])), { requiredKeys: [] }) as fc.Arbitrary<Record<string, string | undefined>>;

describe('env values from anywhere', () => {
  it('loadConfig takes the mapped, non-empty variables and nothing else', () => {
    const everything: ConfigSpec = { name: 'app', schema: z.record(z.string()), env: MAP };
    fc.assert(
      fc.property(envArb, (env) => {
        const got = loadConfig(everything, { env }) as Record<string, string>;
        for (const [variable, setting] of Object.entries(MAP)) {
          const v = env[variable];
          if (v === undefined || v === '') expect(got).not.toHaveProperty(setting);
          else expect(got[setting]).toBe(v);
        }
        expect(Object.keys(got).every((k) => Object.values(MAP).includes(k as never))).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('loadConfig over any env values gives settings, or a ConfigError whose every line names a variable that was set', () => {
    fc.assert(
      fc.property(envArb, (env) => {
        const err = configRefusal(() => loadConfig({ name: 'app', schema: Schema, env: MAP }, { env }));
        for (const { variable } of err?.issues ?? []) {
          expect(Object.keys(MAP)).toContain(variable);
          expect(env[variable!], `${variable} was blamed but not set`).toBeTruthy();
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('secret files and URLs from anywhere', () => {
  it('readSecretFile: a file of any bytes is one line of text, or a SecretFileError naming the variable and never the content', () => {
    let n = 0;
    const content = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.string({ unit: 'binary', maxLength: 100 }).map((s) => Buffer.from(s)),
      fc.tuple(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom('', '\n', '\r\n', '\n\n', '\nsecond')).map(([s, end]) => Buffer.from(s + end)),
    );
    fc.assert(
      fc.property(content, (bytes) => {
        const path = join(dir, `secret-${n++}`);
        writeFileSync(path, bytes);
        try {
          const value = readSecretFile(path, 'SOME_SECRET_FILE');
          expect(value.length).toBeGreaterThan(0);
          expect(/[\r\n]/.test(value)).toBe(false);
          expect(
            bytes
              .toString('utf8')
              .replace(/^\uFEFF/, '')
              .startsWith(value),
          ).toBe(true); // (a BOM is not part of the value)
        } catch (err) {
          expect(err, `${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(SecretFileError);
          const e = err as SecretFileError;
          expect(e.variable).toBe('SOME_SECRET_FILE');
          expect(e.message.startsWith(`SOME_SECRET_FILE=${path}: `)).toBe(true);
          const text = bytes.toString('utf8').trim();
          if (text.length >= 8 && !path.includes(text)) expect(e.message).not.toContain(text);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('readSecretFile: any path string is read or refused with a SecretFileError', () => {
    const path = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('/', '.', '/dev/null', '/proc/self/mem', dir, '\0', '/nonexistent/x'));
    fc.assert(
      fc.property(path, (p) => {
        try {
          readSecretFile(p, 'X_FILE');
        } catch (err) {
          expect(err, `${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(SecretFileError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
