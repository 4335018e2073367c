import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_SECRET_BYTES, SecretFileError, readSecretFile } from '@hotpath/config';

const dir = mkdtempSync(join(tmpdir(), 'secrets-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
/** What readSecretFile threw, as the SecretFileError it must be. */
function refusal(path: string): SecretFileError {
  try {
    readSecretFile(path, 'X_FILE');
  } catch (err) {
    expect(err).toBeInstanceOf(SecretFileError);
    return err as SecretFileError;
  }
  throw new Error(`${path} was accepted`);
}

describe('readSecretFile', () => {
  it('reads the value, without the newline an editor or echo adds', () => {
    expect(readSecretFile(file('a', 's3cret-value\n'), 'X_FILE')).toBe('s3cret-value');
    expect(readSecretFile(file('b', 'p@ss:w/rd% \r\n\n'), 'X_FILE')).toBe('p@ss:w/rd% ');
    expect(readSecretFile(file('c', 'no-newline'), 'X_FILE')).toBe('no-newline');
  });

  it('refuses what is not one secret, naming the variable and the path, never the content', () => {
    const cases: [string, RegExp, string][] = [
      [join(dir, 'missing'), /cannot open \(ENOENT\)/, 'secret_unreadable'],
      [file('empty', '\n'), /empty/, 'secret_empty'],
      [file('two-lines', 'first-secret\nsecond-secret\n'), /more than one line/, 'secret_multiline'],
      [file('big', Buffer.alloc(MAX_SECRET_BYTES + 1, 0x61)), /larger than/, 'secret_too_large'],
      [file('binary', Buffer.from([0xff, 0xfe, 0x00, 0xc3])), /not UTF-8/, 'secret_not_utf8'],
      ['/dev/zero', /not a regular file/, 'secret_not_a_file'],
      [dir, /not a regular file/, 'secret_not_a_file'],
    ];
    for (const [path, reason, code] of cases) {
      const e = refusal(path);
      expect(e.message).toMatch(reason);
      expect(e.code).toBe(code);
      expect(e.message.startsWith(`X_FILE=${path}: `)).toBe(true);
      expect(e.variable).toBe('X_FILE');
      expect(e.message).not.toMatch(/first-secret|second-secret|aaaa/);
    }
  });

  it('does not block on a FIFO where the file should be', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(refusal(fifo).message).toMatch(/not a regular file/);
  });

  it('follows a symlink to a regular file (how Kubernetes mounts secrets)', () => {
    mkdirSync(join(dir, '..data'));
    writeFileSync(join(dir, '..data', 'pw'), 'linked-secret\n');
    symlinkSync(join(dir, '..data', 'pw'), join(dir, 'pw-link'));
    expect(readSecretFile(join(dir, 'pw-link'), 'X_FILE')).toBe('linked-secret');
  });
});
