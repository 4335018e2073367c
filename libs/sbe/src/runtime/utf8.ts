/**
 * UTF-8 var-string decoding. Market data repeats a handful of symbols, so
 * short strings go through a small direct-mapped cache: a hit returns the
 * same string object with no allocation; memory stays bounded by the slot
 * count whatever the input.
 */

// ignoreBOM: a field's bytes are its value; by default TextDecoder drops a leading U+FEFF, and the round trip breaks.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export function decodeUtf8(b: Uint8Array, offset: number, length: number): string {
  if (length === 0) return '';
  return decoder.decode(b.subarray(offset, offset + length));
}

const SLOTS = 1024;
const MAX_CACHED_LENGTH = 32;
const slotBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(SLOTS).fill(undefined);
const slotStrings: string[] = new Array<string>(SLOTS).fill('');

export function decodeUtf8Cached(b: Uint8Array, offset: number, length: number): string {
  if (length > MAX_CACHED_LENGTH) return decodeUtf8(b, offset, length);
  let h = 0x811c9dc5 ^ length;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ b[offset + i]!, 0x01000193);
  const slot = (h >>> 0) & (SLOTS - 1);
  const cached = slotBytes[slot];
  if (cached !== undefined && cached.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (cached[i] !== b[offset + i]) {
        same = false;
        break;
      }
    }
    if (same) return slotStrings[slot]!;
  }
  const text = decodeUtf8(b, offset, length);
  // A copy, never a view: Buffer#slice aliases the caller's (reused) frame buffer.
  const copy = new Uint8Array(length);
  copy.set(b.subarray(offset, offset + length));
  slotBytes[slot] = copy;
  slotStrings[slot] = text;
  return text;
}

const encoder = new TextEncoder();

/** Encodes into `b` at `offset`; returns bytes written, or -1 when it would exceed `maxLength`. */
export function encodeUtf8Into(b: Uint8Array, offset: number, text: string, maxLength: number): number {
  if (text.length > maxLength) {
    // Fast reject only when even pure ASCII would not fit; multi-byte text is measured below.
    return -1;
  }
  const { read, written } = encoder.encodeInto(text, b.subarray(offset, offset + maxLength));
  return read === text.length ? written : -1;
}

export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** A fixed-length char array: the text up to the first NUL (SBE pads short values with NULs). */
export function readFixedString(b: Uint8Array, offset: number, length: number): string {
  let end = offset;
  const stop = offset + length;
  while (end < stop && b[end] !== 0) end++;
  return decodeUtf8(b, offset, end - offset);
}

/** Writes `text` into a fixed-length char array, NUL-padded; returns false when it does not fit. */
export function writeFixedString(b: Uint8Array, offset: number, length: number, text: string): boolean {
  b.fill(0, offset, offset + length);
  if (text.length === 0) return true;
  return encodeUtf8Into(b, offset, text, length) >= 0;
}
