/**
 * Secrets given as files (`*_FILE` variables: Docker/compose secrets, mounted
 * volumes) instead of values in the environment, where `docker inspect`, `ps e`
 * and every child process would see them. Errors name the variable and the
 * path, never the content.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { RefinementCtx } from 'zod';

/** A secret is a short line; anything bigger is the wrong file (or /dev/zero), refused before it is read. */
export const MAX_SECRET_BYTES = 64 * 1024;

/**
 * Every `code` a SecretFileError carries (docs/errors.md: what each means and
 * what an operator does; test/errors.test.ts keeps the two in step).
 */
export const SECRET_FILE_ERROR_CODES = ['secret_unreadable', 'secret_not_a_file', 'secret_too_large', 'secret_not_utf8', 'secret_empty', 'secret_multiline'] as const;

export type SecretFileErrorCode = (typeof SECRET_FILE_ERROR_CODES)[number];

/** A `*_FILE` variable whose file is not one secret. The message is `VARIABLE=path: reason`: never the content. */
export class SecretFileError extends Error {
  override readonly name = 'SecretFileError';
  constructor(
    readonly code: SecretFileErrorCode,
    /** The variable that named the file, e.g. REDIS_PASSWORD_FILE. */
    readonly variable: string,
    readonly path: string,
    reason: string,
  ) {
    super(`${variable}=${path}: ${reason}`);
  }
}

/**
 * The secret in `path`: a regular file of at most MAX_SECRET_BYTES, UTF-8, one
 * value with the trailing newline(s) an editor or `echo` adds removed. Throws
 * SecretFileError (naming `variable`) when it cannot be read or is empty.
 */
export function readSecretFile(path: string, variable: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO where the file should be must not block the start (fstat refuses it next)
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new SecretFileError('secret_unreadable', variable, path, `cannot open (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SecretFileError('secret_not_a_file', variable, path, 'not a regular file');
    if (st.size > MAX_SECRET_BYTES) throw new SecretFileError('secret_too_large', variable, path, `larger than ${MAX_SECRET_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf.subarray(0, n));
    const value = text.replace(/[\r\n]+$/, '');
    if (value === '') throw new SecretFileError('secret_empty', variable, path, 'empty');
    if (/[\r\n]/.test(value)) throw new SecretFileError('secret_multiline', variable, path, 'more than one line');
    return value;
  } catch (err) {
    if (err instanceof SecretFileError) throw err;
    if (err instanceof TypeError) throw new SecretFileError('secret_not_utf8', variable, path, 'not UTF-8 text');
    throw new SecretFileError('secret_unreadable', variable, path, `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    closeSync(fd);
  }
}

/** A setting as the operator sets it: the config key, its env variable, its value. */
export interface SettingValue<V> {
  setting: string;
  variable: string;
  value: V;
}

/**
 * For an object schema's `.transform`: `url` with its password read from
 * `passwordFile` when one is given (REDIS_URL + REDIS_PASSWORD_FILE), else
 * `url` unchanged. Refusals become zod issues naming the variable; neither the
 * secret nor the URL (which may hold one) is ever part of a message.
 */
export function urlWithPasswordFile(ctx: RefinementCtx, url: SettingValue<string>, passwordFile: SettingValue<string | undefined>): string {
  if (passwordFile.value === undefined) return url.value;
  try {
    return urlWithPassword(url.value, readSecretFile(passwordFile.value, passwordFile.variable), url.variable);
  } catch (err) {
    const setting = err instanceof SecretFileError ? passwordFile.setting : url.setting;
    // the text becomes the config error the operator reads: both errors thrown above name the variable (and path), never the secret or the URL
    ctx.addIssue({ code: 'custom', path: [setting], message: (err as Error).message });
    return url.value;
  }
}

/**
 * `url` with `password` set (for clients configured by one URL, e.g.
 * `redis://aggregator@redis:6379`). Throws an Error naming only `variable`
 * when the URL cannot take one: the URL is never echoed (it may hold a secret).
 */
export function urlWithPassword(url: string, password: string, variable: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${variable}: not a URL`);
  }
  if (u.host === '') throw new Error(`${variable}: has no host`);
  if (u.password !== '') throw new Error(`${variable}: already has a password; give it in the URL or in the file, not both`);
  u.password = encodeURIComponent(password); // WHATWG leaves `%` as is; ioredis decodes the whole
  return u.href;
}
