/**
 * What the armed stream faults do to a feed frame on its way to the
 * subscribers: a stall swallows it, a drop loses it, a reorder holds it back
 * one frame, a duplicate sends it twice, and malformed, truncated and
 * oversized faults send a damaged copy after it. The hub only fans out what
 * comes out of here; what each fault means lives with the others in faults/.
 */
import type { Frame } from '@hotpath/market';
import type { FaultState } from './faults.ts';

/** Sends these bytes to the frame's subscribers: the frame's own, or what a fault made of them. */
export type DeliverFrame = (frame: Frame, bytes: Buffer) => void;

export class FrameFaults {
  /** The first frame of a reordered pair, until the second has gone out. */
  private held: Frame | undefined;
  /** This simulator's noise for malformed-frame faults: from its seed, never shared with another simulator. */
  private garbageSeed: number;

  constructor(
    private readonly faults: FaultState,
    seed: number,
    private readonly now: () => number,
  ) {
    this.garbageSeed = (seed ^ 0x2545f491) >>> 0 || 0x2545f491; // xorshift needs a non-zero state
  }

  /** One frame through the armed faults; `deliver` gets every copy that goes out, in order. */
  pass(frame: Frame, deliver: DeliverFrame): void {
    const f = this.faults;
    if (f.stallUntilMs > 0) {
      if (this.now() < f.stallUntilMs) return;
      f.stallUntilMs = 0;
    }
    if ((frame.kind === 'depth' || frame.kind === 'trade') && f.takeDrop(frame.kind, frame.symbol)) return;
    if (f.reorder > 0) {
      if (this.held === undefined) {
        this.held = frame;
        return;
      }
      const first = this.held;
      this.held = undefined;
      f.reorder--;
      f.count('reorder');
      deliver(frame, frame.bytes);
      deliver(first, first.bytes);
      return;
    }
    deliver(frame, frame.bytes);
    if (f.duplicate > 0) {
      f.duplicate--;
      f.count('duplicate');
      deliver(frame, frame.bytes);
    }
    if (f.malformed > 0) {
      f.malformed--;
      f.count('malformed');
      deliver(frame, this.garbage(frame.bytes.length));
    }
    if (f.truncated > 0) {
      f.truncated--;
      f.count('truncated');
      deliver(frame, frame.bytes.subarray(0, Math.max(1, frame.bytes.length >> 1)));
    }
    if (f.oversized > 0) {
      f.oversized--;
      f.count('oversized');
      const big = Buffer.alloc(Math.max(f.oversizedBytes, frame.bytes.length));
      frame.bytes.copy(big);
      deliver(frame, big);
    }
  }

  /** Deterministic noise for malformed-frame faults (xorshift32 on this simulator's own state). */
  private garbage(n: number): Buffer {
    const b = Buffer.allocUnsafe(Math.max(1, n));
    let x = this.garbageSeed;
    for (let i = 0; i < b.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    this.garbageSeed = x;
    return b;
  }
}
