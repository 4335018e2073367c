import { gunzipSync } from 'node:zlib';

/**
 * A file's bytes gunzipped. Files are untrusted: bytes that are not gzip, a
 * cut stream or one too large to inflate are the reader's own typed error,
 * naming the file, with zlib's error as its cause.
 */
/** What one file may inflate to: far above an hour of captures (they rotate hourly) or any recording here, far below what fills memory. */
export const MAX_INFLATED_BYTES = 1 << 30;

export function gunzipFile(raw: Buffer, path: string, FormatError: new (message: string, options?: ErrorOptions) => Error, maxBytes = MAX_INFLATED_BYTES): Buffer {
  try {
    // bounded: a small file that inflates without end (a gzip bomb) is refused at maxBytes, not inflated into memory
    return gunzipSync(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    // zlib's text in the message too: CLIs (train, read) print only the message; the file's bytes are data, not secrets
    throw new FormatError(`${path}: not a readable gzip file (${raw.length} bytes): ${(err as Error).message}`, { cause: err });
  }
}
