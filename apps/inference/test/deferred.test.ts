/** DeferredQueue: what a tick leaves for later is handled after the current turn, together, in reused holders. */
import { describe, expect, it } from 'vitest';
import { DeferredQueue } from '../src/deferred.ts';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DeferredQueue', () => {
  it('handles what was queued after the current turn, in order, once however often a flush was asked; reuses its holders', async () => {
    const handled: number[] = [];
    const made: { v: number }[] = [];
    const q = new DeferredQueue(
      () => {
        const h = { v: 0 };
        made.push(h);
        return h;
      },
      (h) => handled.push(h.v),
    );
    q.flushSoon(); // nothing queued: nothing scheduled
    for (const v of [1, 2, 3]) {
      q.next().v = v;
      q.flushSoon();
    }
    expect(q.size).toBe(3);
    expect(handled).toEqual([]);
    await turn();
    expect(handled).toEqual([1, 2, 3]);
    expect(q.size).toBe(0);
    // the next items fill the same holders
    q.next().v = 4;
    q.next().v = 5;
    q.flushSoon();
    await turn();
    expect(handled).toEqual([1, 2, 3, 4, 5]);
    expect(made.length).toBe(3);
  });
});
