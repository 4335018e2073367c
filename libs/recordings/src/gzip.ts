import { gunzipSync } from 'node:zlib';

/**
 * A file's bytes gunzipped. Files are untrusted: bytes that are not gzip, a
 * cut stream or one too large to inflate are the reader's own typed error,
 * naming the file, with zlib's error as its cause.
 */
export function gunzipFile(raw: Buffer, path: string, FormatError: new (message: string, options?: ErrorOptions) => Error): Buffer {
  try {
    return gunzipSync(raw);
  } catch (err) {
    // zlib's text in the message too: CLIs (train, read) print only the message; the file's bytes are data, not secrets
    throw new FormatError(`${path}: not a readable gzip file (${raw.length} bytes): ${(err as Error).message}`, { cause: err });
  }
}
