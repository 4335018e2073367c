/**
 * The live page's latency budget over the last 5 minutes: cumulative histogram buckets from
 * several sources, windowed by snapshots (StageWindow). Counts worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { mergeSources, StageWindow } from '../src/stage-window.ts';

/** One source's buckets: stage → [le, cumulative count][]. */
const source = (stages: Record<string, [number, number][]>) => new Map(Object.entries(stages).map(([stage, counts]) => [stage, new Map(counts)]));
const counts = (b: Map<string, Map<number, number>>) => Object.fromEntries([...b].map(([stage, c]) => [stage, [...c]]));

describe('StageWindow', () => {
  it('counts only what happened since a snapshot inside the window, per source, merged', () => {
    const w = new StageWindow(300_000, 10_000);
    // first sight of both sources: nothing is known about when their counts were made
    expect(
      w.window(
        new Map([
          [
            'self',
            source({
              a: [
                [0.1, 5],
                [Infinity, 6],
              ],
            }),
          ],
          [
            'peer',
            source({
              a: [
                [0.1, 1],
                [Infinity, 1],
              ],
            }),
          ],
        ]),
        0,
      ),
    ).toEqual({ buckets: new Map(), spanMs: 0 });
    // a minute later: self +2 fast +1 slow, the peer +3 fast; a new stage on the peer is counted whole
    const later = new Map([
      [
        'self',
        source({
          a: [
            [0.1, 7],
            [Infinity, 9],
          ],
        }),
      ],
      [
        'peer',
        source({
          a: [
            [0.1, 4],
            [Infinity, 4],
          ],
          b: [[Infinity, 2]],
        }),
      ],
    ]);
    const r = w.window(later, 60_000);
    expect(r.spanMs).toBe(60_000);
    expect(counts(r.buckets)).toEqual({
      a: [
        [0.1, 5],
        [Infinity, 6],
      ],
      b: [[Infinity, 2]],
    });
    // the since-start budget is the plain sum
    expect(counts(mergeSources(later))).toEqual({
      a: [
        [0.1, 11],
        [Infinity, 13],
      ],
      b: [[Infinity, 2]],
    });
  });

  it('a source that restarted counts from its restart; one first seen later adds nothing yet; old snapshots leave the window', () => {
    const w = new StageWindow(300_000, 10_000);
    w.window(new Map([['self', source({ a: [[Infinity, 100]] })]]), 0);
    // restarted (its count fell): all of its 3 are recent; the peer answers for the first time
    const r = w.window(
      new Map([
        ['self', source({ a: [[Infinity, 3]] })],
        ['peer', source({ a: [[Infinity, 50]] })],
      ]),
      20_000,
    );
    expect(counts(r.buckets)).toEqual({ a: [[Infinity, 3]] });
    // snapshots at 0 and 20 s; at 310 s the one at 0 is out of the window, the base is the one at 20 s (self 3, peer 50)
    const late = w.window(
      new Map([
        ['self', source({ a: [[Infinity, 10]] })],
        ['peer', source({ a: [[Infinity, 55]] })],
      ]),
      310_000,
    );
    expect(late.spanMs).toBe(290_000);
    expect(counts(late.buckets)).toEqual({ a: [[Infinity, 12]] });
  });

  it('keeps at most one snapshot per step, so memory is bounded by window / step however often it is asked', () => {
    const w = new StageWindow(300_000, 10_000);
    const now = new Map([['self', source({ a: [[Infinity, 1]] })]]);
    for (let t = 0; t <= 600_000; t += 100) w.window(now, t);
    const snapshots = (w as unknown as { snapshots: unknown[] }).snapshots.length;
    expect(snapshots).toBeLessThanOrEqual(300_000 / 10_000 + 1);
  });
});
