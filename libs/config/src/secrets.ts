/**
 * Secrets given as files (`*_FILE` variables: Docker/compose secrets, mounted
 * volumes) instead of values in the environment, where `docker inspect`, `ps e`
 * and every child process would see them. Errors name the variable and the
 * path, never the content.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

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
