/**
 * Little-endian primitive reads and writes over a plain Uint8Array (a Buffer
 * is one). Indexed byte access keeps the hot path free of DataView
 * allocations and works on any view the caller hands us. Callers guarantee
 * bounds: decoders validate the whole frame once in `wrap()`, encoders check
 * capacity before writing a block.
 *
 * The generator copies this file into every generated module (imports
 * across ES modules are not inlined by V8 and cost 2-3x per read), so it
 * must stay self-contained: no imports.
 */

const TWO_32 = 4294967296;

export function readU8(b: Uint8Array, o: number): number {
  return b[o]!;
}

export function readI8(b: Uint8Array, o: number): number {
  return (b[o]! << 24) >> 24;
}

export function readU16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function readI16(b: Uint8Array, o: number): number {
  return ((b[o]! | (b[o + 1]! << 8)) << 16) >> 16;
}

export function readU32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

export function readI32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/** int64 as a number; exact because decoders reject frames whose value would round (see isSafeI64). */
export function readI64(b: Uint8Array, o: number): number {
  return readI32(b, o + 4) * TWO_32 + (readI32(b, o) >>> 0);
}

/** uint64 as a number; exact under the same validation as readI64. */
export function readU64(b: Uint8Array, o: number): number {
  return (readI32(b, o + 4) >>> 0) * TWO_32 + (readI32(b, o) >>> 0);
}

/**
 * True when the int64 at `o` lies in [-2^53, 2^53 - 1], i.e. converts to a
 * number without rounding: the top 16 bits, sign-extended, are in [-32, 31].
 */
export function isSafeI64(b: Uint8Array, o: number): boolean {
  const top = ((b[o + 6]! | (b[o + 7]! << 8)) << 16) >> 16;
  return top >= -32 && top <= 31;
}

/** True when the uint64 at `o` is below 2^53. */
export function isSafeU64(b: Uint8Array, o: number): boolean {
  return b[o + 7] === 0 && b[o + 6]! <= 0x1f;
}

/** True when the int64 at `o` is the SBE null value -2^63. */
export function isI64Null(b: Uint8Array, o: number): boolean {
  return readI32(b, o + 4) === -0x80000000 && readU32(b, o) === 0;
}

/** True when the uint64 at `o` is the SBE null value 2^64 - 1. */
export function isU64Null(b: Uint8Array, o: number): boolean {
  return readU32(b, o + 4) === 0xffffffff && readU32(b, o) === 0xffffffff;
}

export function readI64BigInt(b: Uint8Array, o: number): bigint {
  return (BigInt(readI32(b, o + 4)) << 32n) | BigInt(readU32(b, o));
}

export function readU64BigInt(b: Uint8Array, o: number): bigint {
  return (BigInt(readU32(b, o + 4)) << 32n) | BigInt(readU32(b, o));
}

// One shared scratch pair so float reads and writes never allocate.
const scratch = new ArrayBuffer(8);
const scratchBytes = new Uint8Array(scratch);
const scratchF32 = new Float32Array(scratch);
const scratchF64 = new Float64Array(scratch);
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function loadScratch(b: Uint8Array, o: number, n: number): void {
  for (let i = 0; i < n; i++) scratchBytes[littleEndianHost ? i : n - 1 - i] = b[o + i]!;
}

function storeScratch(b: Uint8Array, o: number, n: number): void {
  for (let i = 0; i < n; i++) b[o + i] = scratchBytes[littleEndianHost ? i : n - 1 - i]!;
}

export function readF32(b: Uint8Array, o: number): number {
  loadScratch(b, o, 4);
  return scratchF32[0]!;
}

export function readF64(b: Uint8Array, o: number): number {
  loadScratch(b, o, 8);
  return scratchF64[0]!;
}

export function writeU8(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** Writes an int64 or uint64 given as a safe integer number (two's complement for negatives). */
export function writeI64(b: Uint8Array, o: number, v: number): void {
  const lo = v >>> 0;
  const hi = Math.floor(v / TWO_32);
  writeU32(b, o, lo);
  writeU32(b, o + 4, hi >>> 0);
}

export function writeI64BigInt(b: Uint8Array, o: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  writeU32(b, o, Number(u & 0xffffffffn));
  writeU32(b, o + 4, Number(u >> 32n));
}

export function writeF32(b: Uint8Array, o: number, v: number): void {
  scratchF32[0] = v;
  storeScratch(b, o, 4);
}

export function writeF64(b: Uint8Array, o: number, v: number): void {
  scratchF64[0] = v;
  storeScratch(b, o, 8);
}

let viewedBuffer: ArrayBufferLike | undefined;
let cachedView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * A DataView over the whole ArrayBuffer behind b (index it at b.byteOffset +
 * offset). Cached for consecutive frames that share a buffer (Node's pooled
 * Buffers, several frames per socket read), so it allocates only when the
 * underlying memory changes. A DataView read is one bounds check and one load
 * where byte assembly takes four to eight.
 */
export function viewOf(b: Uint8Array): DataView<ArrayBufferLike> {
  const ab = b.buffer;
  if (ab !== viewedBuffer) {
    viewedBuffer = ab;
    cachedView = new DataView(ab);
  }
  return cachedView;
}

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The decimal as the nearest double. For |exponent| ≤ 22 both operands are
 * exact doubles, so one IEEE division/multiplication gives the correctly
 * rounded result (the same number parseFloat gives for the decimal string).
 */
export function decimalToNumber(mantissa: number, exponent: number): number {
  return exponent <= 0 && exponent >= -22 ? mantissa / POW10[-exponent]! : decimalToNumberWide(mantissa, exponent);
}

/**
 * A decimal is read as mantissa * decimalMultiplier(e) / decimalDivisor(e).
 * One factor is 1 and the other 10^|e|, an exact double for |e| <= 22, so the
 * single rounding operation gives the correctly rounded value (beyond 22 the
 * power itself is rounded: within an ulp, and Binance uses about -8).
 */
export function decimalMultiplier(exponent: number): number {
  return exponent <= 0 ? 1 : exponent <= 22 ? POW10[exponent]! : 10 ** exponent;
}

export function decimalDivisor(exponent: number): number {
  return exponent >= 0 ? 1 : exponent >= -22 ? POW10[-exponent]! : 10 ** -exponent;
}

export function decimalToNumberWide(mantissa: number, exponent: number): number {
  if (exponent > 0 && exponent <= 22) return mantissa * POW10[exponent]!;
  return Number(`${mantissa}e${exponent}`);
}
