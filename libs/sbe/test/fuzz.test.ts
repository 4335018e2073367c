/**
 * The bar: 1,000,000 random and mutated frames, zero crashes, zero reads
 * outside the frame window (every read goes through a bounds-checking proxy).
 * SBE_FUZZ_FRAMES overrides the count; `pnpm fuzz:sbe` runs the same harness.
 */
import { describe, expect, it } from 'vitest';
import { spot } from '../src/index.ts';
import { Window, guardedView, runFuzz } from './support/fuzz-harness.ts';

const FRAMES = Number(process.env['SBE_FUZZ_FRAMES'] ?? 1_000_000);

describe('fuzzing the generated decoders', () => {
  it('the bounds guard itself notices a read outside the window (negative control)', () => {
    const win = new Window();
    win.lo = 10;
    win.hi = 20;
    const view = guardedView(new Uint8Array(64), win);
    void view[15];
    expect(win.violations).toBe(0);
    void view[20];
    void view[9];
    expect(win.violations).toBe(2);
    // A decoder told the frame is longer than the window reads past it, and the guard sees that.
    const frame = Buffer.from('120010270100000040420f000000000041420f0000000000fef81900010000000100000000000000401640000000000000e1f50500000000010742544355534454', 'hex');
    const arena = new Uint8Array(200);
    arena.set(frame, 10);
    win.lo = 10;
    win.hi = 10 + frame.length - 8; // pretend the last 8 bytes (the symbol) are not ours
    const lying = guardedView(arena, win);
    const d = new spot.TradesStreamEventDecoder();
    d.wrap(lying, 10, frame.length);
    d.symbol();
    expect(win.violations).toBeGreaterThan(2);
  });

  it(`${FRAMES.toLocaleString('en')} fuzzed frames: no crash, no out-of-bounds read, no read after a failed wrap, no dependence on bytes outside the frame`, () => {
    const report = runFuzz(FRAMES, 20261122);
    expect(report.firstCrash).toBeUndefined();
    expect(report.crashes).toBe(0);
    expect(report.outOfBoundsReads).toBe(0);
    expect(report.readsAfterFailure).toBe(0);
    expect(report.windowLeaks).toBe(0);
    expect(report.guarded).toBe(FRAMES);
    // The corpus must reach deep: plenty of frames decode fully, and each rejection class occurs.
    expect(report.ok).toBeGreaterThan(FRAMES * 0.3);
    for (const status of ['Truncated', 'SchemaIdMismatch', 'UnknownTemplate', 'Int64OutOfRange', 'InvalidEnumValue', 'VarDataTooLong', 'BlockLengthTooSmall']) {
      expect(report.rejected[status] ?? 0, status).toBeGreaterThan(0);
    }
  });
});
