/**
 * Reading a model file that someone else named (a Redis pointer, an admin
 * request): only a regular file, only inside the model directory when one is
 * given, never more than `maxBytes`, abandoned when the signal fires. The
 * checks are made on the opened descriptor (fstat), so a path swapped for a
 * device or a FIFO between a check and the open cannot slip through, and the
 * open itself never blocks (O_NONBLOCK: a FIFO without a writer would).
 * Refusals are ModelErrors whose messages name no file system path: they
 * reach API answers and /health.
 */
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ModelError } from './metadata.ts';

export interface ModelFileOptions {
  /** When set, the path is resolved against it and its real path (symlinks followed) must stay inside it. */
  dir?: string;
  /** Refuse larger files; the shipped model is ~4 KB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export const DEFAULT_MODEL_MAX_BYTES = 64 * 1024 * 1024;
const CHUNK = 1 << 20;

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ModelError('aborted', signal.reason instanceof Error && signal.reason.name === 'TimeoutError' ? 'model load timed out' : 'model load aborted');
}

/** The path the model directory allows for `path` (absolute, symlinks resolved); throws ModelError otherwise. */
export async function resolveModelPath(path: string, dir: string | undefined): Promise<string> {
  if (path.length === 0 || path.length > 4096 || path.includes('\0')) throw new ModelError('outside_model_dir', 'model path is empty, too long or not text');
  if (dir === undefined) {
    try {
      return await realpath(resolve(path));
    } catch (err) {
      throw new ModelError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'unreadable', 'model file not found or not readable');
    }
  }
  let root: string;
  try {
    root = await realpath(dir);
  } catch {
    throw new ModelError('not_found', 'the model directory does not exist');
  }
  let real: string;
  try {
    real = await realpath(resolve(root, path));
  } catch (err) {
    // outside paths are reported as outside, even when they do not exist: no probing the file system through the API
    if (!inside(root, resolve(root, path))) throw new ModelError('outside_model_dir', 'model path is outside the model directory');
    throw new ModelError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'unreadable', 'model file not found or not readable');
  }
  if (!inside(root, real)) throw new ModelError('outside_model_dir', 'model path is outside the model directory');
  return real;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The bytes of a model file, under the rules above. */
export async function readModelFile(path: string, options: ModelFileOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MODEL_MAX_BYTES;
  throwIfAborted(options.signal);
  const real = await resolveModelPath(path, options.dir);
  let fh: FileHandle;
  try {
    // O_NOFOLLOW: the last component was resolved above; a symlink planted there since is refused
    fh = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(code === 'ENOENT' ? 'not_found' : 'unreadable', 'model file not found or not readable');
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) throw new ModelError('not_a_file', 'model path is not a regular file');
    if (stat.size > maxBytes) throw new ModelError('too_large', `model file is ${stat.size} bytes, the limit is ${maxBytes}`);
    // read until EOF, not to stat.size: a file still growing must not get past the cap
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      throwIfAborted(options.signal);
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new ModelError('too_large', `model file is over the limit of ${maxBytes} bytes`);
      chunks.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError('unreadable', 'model file not readable');
  } finally {
    await fh.close();
  }
}
