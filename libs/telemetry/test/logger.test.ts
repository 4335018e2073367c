/** Log lines stay bounded and free of command payloads, whatever an error carries. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.ts';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('an error carrying a Redis command keeps its name, not its 100 kB of arguments; long messages are cut', async () => {
    const { lines, stream } = capture();
    const log = createLogger({ service: 'test', destination: stream });
    const replyError = Object.assign(new Error("READONLY You can't write against a read only replica."), {
      name: 'ReplyError',
      command: { name: 'evalsha', args: ['sha', '3', 'feat:{BTCUSDT}', Buffer.alloc(100_000, 7)] },
    });
    log.warn({ err: replyError }, 'state commit failed');
    log.warn({ err: new Error('x'.repeat(50_000)) }, 'peer said');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as { err: { type: string; message: string; command: unknown } };
    expect(first.err.message).toContain('READONLY');
    expect(first.err.command).toEqual({ name: 'evalsha' });
    expect(lines[0]!.length).toBeLessThan(4_000);
    expect(lines[1]!.length).toBeLessThan(12_000);
  });

  it('a fetch timeout (a DOMException) is logged with its name and message, without the 25 legacy code constants', async () => {
    const { lines, stream } = capture();
    const log = createLogger({ service: 'test', destination: stream });
    // what fetch rejects with when AbortSignal.timeout fires
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    log.warn({ err: timeout }, 'REST call failed');
    await new Promise((r) => setImmediate(r));
    const { err } = JSON.parse(lines[0]!) as { err: Record<string, unknown> };
    expect(err).toMatchObject({ type: 'DOMException', name: 'TimeoutError', code: 23 });
    expect(Object.keys(err).filter((k) => k.endsWith('_ERR'))).toEqual([]);
  });
});
