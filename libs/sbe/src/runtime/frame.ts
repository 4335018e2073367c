import { EncodeError } from './status.ts';

export const EMPTY_BUFFER: Uint8Array = new Uint8Array(0);

/**
 * A failed decoder is re-pointed here: all zeros, large enough for any root
 * block (uint16 blockLength) plus header, so accessors called after a failure
 * read zeros and empty groups instead of bytes outside the caller's frame.
 */
export const NULL_FRAME: Uint8Array = new Uint8Array(8 + 0xffff + 8);

export function checkSafeInteger(v: number, field: string): void {
  if (!Number.isSafeInteger(v)) throw new EncodeError('ValueOutOfRange', field, `${v} is not a safe integer`);
}

export function checkRange(v: number, min: number, max: number, field: string): void {
  if (!(v >= min && v <= max) || !Number.isInteger(v)) {
    throw new EncodeError('ValueOutOfRange', field, `${v} outside [${min}, ${max}]`);
  }
}

export function checkBigIntRange(v: bigint, signed: boolean, field: string): void {
  const ok = signed ? v >= -(1n << 63n) && v < 1n << 63n : v >= 0n && v < 1n << 64n;
  if (!ok) throw new EncodeError('ValueOutOfRange', field, `${v} outside ${signed ? 'int64' : 'uint64'}`);
}

export function checkCapacity(end: number, capacity: number, field: string): void {
  if (end > capacity) throw new EncodeError('BufferTooSmall', field, `needs ${end} bytes, capacity ${capacity}`);
}

/** Signed little-endian 128-bit integer (Binance mantissa128) as a BigInt. */
export function readI128BigInt(b: Uint8Array, o: number): bigint {
  let v = 0n;
  for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(b[o + i]!);
  return BigInt.asIntN(128, v);
}

/** True when bit `bit` of a set (choice) value is on. */
export function hasChoice(mask: number, bit: number): boolean {
  return bit < 32 ? ((mask >>> bit) & 1) === 1 : Math.floor(mask / 2 ** bit) % 2 === 1;
}
