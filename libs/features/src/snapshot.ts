/**
 * Compact binary state of a FeatureEngine (book, buffered diffs, windows,
 * scalars) for checkpoints: restore(serialize(e)) continues exactly where e
 * was — every double is stored as is, so running sums resume bit for bit.
 * Layout: "HPFS", format version, then float64 fields in a fixed order.
 */
import type { FeaturesErrorCode } from './errors.ts';

/** Bytes that are not a feature-engine state this code can restore (they come from Redis: untrusted). */
export class StateFormatError extends Error {
  override readonly name = 'StateFormatError';
  readonly code: FeaturesErrorCode = 'malformed_feature_state';
}

const MAGIC = 0x53465048; // "HPFS" little-endian
export const STATE_FORMAT_VERSION = 1;

export class StateWriter {
  private buf = Buffer.alloc(64 * 1024);
  private p = 0;

  private ensure(n: number): void {
    if (this.p + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.p + n));
    this.buf.copy(next, 0, 0, this.p);
    this.buf = next;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.p);
    this.p += 4;
    return this;
  }

  f64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.p);
    this.p += 8;
    return this;
  }

  f64s(values: ArrayLike<number>): this {
    this.u32(values.length);
    for (let i = 0; i < values.length; i++) this.f64(values[i]!);
    return this;
  }

  header(): this {
    return this.u32(MAGIC).u32(STATE_FORMAT_VERSION);
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.p));
  }
}

export class StateReader {
  private p = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.p + n > this.buf.length) throw new StateFormatError(`state truncated at byte ${this.p}`);
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.p);
    this.p += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.p);
    this.p += 8;
    return v;
  }

  /**
   * A u32 count of items of `itemBytes` bytes each. Stored state is untrusted:
   * the count is refused when it exceeds `max` or the bytes left, before the
   * caller allocates anything for it.
   */
  count(itemBytes: number, max: number, what: string): number {
    const at = this.p;
    const n = this.u32();
    if (n > max) throw new StateFormatError(`${what} of ${n} at byte ${at} exceeds ${max}`);
    const left = this.buf.length - this.p;
    if (n * itemBytes > left) throw new StateFormatError(`state truncated: ${what} of ${n} at byte ${at} needs ${n * itemBytes} bytes, ${left} left`);
    return n;
  }

  f64s(max = 50_000_000): number[] {
    const n = this.count(8, max, 'array');
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.f64();
    return out;
  }

  header(): void {
    if (this.u32() !== MAGIC) throw new StateFormatError('not a feature-engine state (bad magic)');
    const v = this.u32();
    if (v !== STATE_FORMAT_VERSION) throw new StateFormatError(`state format ${v}, expected ${STATE_FORMAT_VERSION}`);
  }

  get done(): boolean {
    return this.p === this.buf.length;
  }
}
