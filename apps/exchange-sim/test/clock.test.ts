/** The ManualClock the simulator's tests drive time with: timers fire in due order, each seeing its own due time. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/index.ts';

describe('ManualClock', () => {
  it('runs what falls due on the way, in due order, with the clock reading each due time', () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`tie-first@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`tie-second@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push('late'), 31);
    clock.advance(29);
    expect(fired).toEqual(['a@1010', 'tie-first@1020', 'tie-second@1020']);
    expect(clock.now()).toBe(1_029);
    clock.advance(1);
    expect(fired.at(-1)).toBe('b@1030');
    expect(clock.pendingTimers).toBe(1);
  });

  it('fires an interval once per period passed until cancelled, and runs timers set by timers in the same advance', () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const interval = clock.setInterval(() => ticks.push(clock.monotonicMs()), 2);
    let nested: number | undefined;
    clock.setTimeout(() => clock.setTimeout(() => (nested = clock.now()), 3), 4);
    clock.advance(9);
    expect(ticks).toEqual([2, 4, 6, 8]);
    expect(nested).toBe(7);
    interval.cancel();
    clock.advance(10);
    expect(ticks).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a cancelled timeout never fires, and time does not go backwards', () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock.setTimeout(() => (fired = true), 5).cancel();
    clock.advance(10);
    expect(fired).toBe(false);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});
