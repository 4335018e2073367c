/** Waiting on a condition in tests and their harnesses: polled, with a deadline, never a fixed sleep. */

/** Thrown by a probe when waiting longer cannot help (the process it waits for exited): waitUntil rethrows it at once. */
export class WaitAborted extends Error {
  override readonly name = 'WaitAborted';
}

/**
 * Polls `probe` until it returns a value. A probe error counts as "not yet"
 * (a node still starting) unless it is a WaitAborted; past `timeoutMs`, an
 * error naming `what` and the last probe error.
 */
export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof WaitAborted) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (last: ${(last as Error).message})`}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The last `max` bytes a stream wrote (a child's stderr), for an error that says why it stopped. */
export function tailOf(stream: NodeJS.ReadableStream | null, max = 2_048): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-max);
  });
  return () => text.trim().split('\n').slice(-3).join(' | ');
}
