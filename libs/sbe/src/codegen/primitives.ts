/** Per-primitive code fragments: how to read, write, range-check and null-test each wire type. */
import type { Primitive } from './ir.ts';

export function readExpr(p: Primitive, buf: string, at: string): string {
  switch (p) {
    case 'char':
    case 'uint8':
      return `readU8(${buf}, ${at})`;
    case 'int8':
      return `readI8(${buf}, ${at})`;
    case 'uint16':
      return `readU16(${buf}, ${at})`;
    case 'int16':
      return `readI16(${buf}, ${at})`;
    case 'uint32':
      return `readU32(${buf}, ${at})`;
    case 'int32':
      return `readI32(${buf}, ${at})`;
    case 'uint64':
      return `readU64(${buf}, ${at})`;
    case 'int64':
      return `readI64(${buf}, ${at})`;
    case 'float':
      return `readF32(${buf}, ${at})`;
    case 'double':
      return `readF64(${buf}, ${at})`;
  }
}

export function writeStmt(p: Primitive, buf: string, at: string, v: string): string {
  switch (p) {
    case 'char':
    case 'uint8':
    case 'int8':
      return `writeU8(${buf}, ${at}, ${v});`;
    case 'uint16':
    case 'int16':
      return `writeU16(${buf}, ${at}, ${v});`;
    case 'uint32':
    case 'int32':
      return `writeU32(${buf}, ${at}, ${v});`;
    case 'uint64':
    case 'int64':
      return `writeI64(${buf}, ${at}, ${v});`;
    case 'float':
      return `writeF32(${buf}, ${at}, ${v});`;
    case 'double':
      return `writeF64(${buf}, ${at}, ${v});`;
  }
}

/** Inclusive integer range accepted by the encoder's setter (64-bit: safe integers). */
export function intRange(p: Primitive): [string, string] | undefined {
  switch (p) {
    case 'char':
    case 'uint8':
      return ['0', '0xff'];
    case 'int8':
      return ['-0x80', '0x7f'];
    case 'uint16':
      return ['0', '0xffff'];
    case 'int16':
      return ['-0x8000', '0x7fff'];
    case 'uint32':
      return ['0', '0xffffffff'];
    case 'int32':
      return ['-0x80000000', '0x7fffffff'];
    case 'uint64':
      return ['0', 'Number.MAX_SAFE_INTEGER'];
    case 'int64':
      return ['Number.MIN_SAFE_INTEGER', 'Number.MAX_SAFE_INTEGER'];
    default:
      return undefined;
  }
}

/** SBE default null value of a primitive, as a JS number literal (64-bit nulls are tested by helper instead). */
export function defaultNull(p: Primitive): string {
  switch (p) {
    case 'char':
      return '0';
    case 'int8':
      return '-128';
    case 'uint8':
      return '255';
    case 'int16':
      return '-32768';
    case 'uint16':
      return '65535';
    case 'int32':
      return '-2147483648';
    case 'uint32':
      return '4294967295';
    case 'float':
    case 'double':
      return 'NaN';
    case 'int64':
      return '-9223372036854775808';
    case 'uint64':
      return '18446744073709551615';
  }
}

export function is64(p: Primitive): boolean {
  return p === 'int64' || p === 'uint64';
}

/**
 * The read as one self-contained expression over locals `b` and `o`. Getters
 * use these instead of helper calls: V8 inlines a getter into its caller only
 * while a small cumulative bytecode budget lasts, and nested helper calls
 * (readI64 → readI32) exhaust it after a few fields.
 */
export function inlineReadExpr(p: Primitive, b: string, o: string, off = 0): string {
  const at = (k: number): string => (off + k === 0 ? `${b}[${o}]!` : `${b}[${o} + ${off + k}]!`);
  const i32 = (k: number): string => `(${at(k)} | (${at(k + 1)} << 8) | (${at(k + 2)} << 16) | (${at(k + 3)} << 24))`;
  switch (p) {
    case 'char':
    case 'uint8':
      return at(0);
    case 'int8':
      return `((${at(0)} << 24) >> 24)`;
    case 'uint16':
      return `(${at(0)} | (${at(1)} << 8))`;
    case 'int16':
      return `(((${at(0)} | (${at(1)} << 8)) << 16) >> 16)`;
    case 'int32':
      return i32(0);
    case 'uint32':
      return `(${i32(0)} >>> 0)`;
    case 'int64':
      return `${i32(4)} * 4294967296 + (${i32(0)} >>> 0)`;
    case 'uint64':
      return `(${i32(4)} >>> 0) * 4294967296 + (${i32(0)} >>> 0)`;
    case 'float':
      return `readF32(${b}, ${off === 0 ? o : `${o} + ${off}`})`;
    case 'double':
      return `readF64(${b}, ${off === 0 ? o : `${o} + ${off}`})`;
  }
}

/**
 * An int64/uint64 already validated to fit 2^53: its high word fits 22 bits,
 * so bytes 4..6 (sign-extended for int64) carry it and byte 7 need not be read.
 */
export function inlineSafeInt64Expr(p: 'int64' | 'uint64', b: string, o: string, off = 0): string {
  const at = (k: number): string => (off + k === 0 ? `${b}[${o}]!` : `${b}[${o} + ${off + k}]!`);
  const hi24 = `(${at(4)} | (${at(5)} << 8) | (${at(6)} << 16))`;
  const hi = p === 'int64' ? `((${hi24} << 8) >> 8)` : hi24;
  return `${hi} * 4294967296 + ((${at(0)} | (${at(1)} << 8) | (${at(2)} << 16) | (${at(3)} << 24)) >>> 0)`;
}

/** The read through a DataView `v` at absolute index `x + off` (little-endian). */
export function viewReadExpr(p: Primitive, v: string, x: string, off = 0): string {
  const at = (k: number): string => (off + k === 0 ? x : `${x} + ${off + k}`);
  switch (p) {
    case 'char':
    case 'uint8':
      return `${v}.getUint8(${at(0)})`;
    case 'int8':
      return `${v}.getInt8(${at(0)})`;
    case 'uint16':
      return `${v}.getUint16(${at(0)}, true)`;
    case 'int16':
      return `${v}.getInt16(${at(0)}, true)`;
    case 'uint32':
      return `${v}.getUint32(${at(0)}, true)`;
    case 'int32':
      return `${v}.getInt32(${at(0)}, true)`;
    case 'int64':
      return `${v}.getInt32(${at(4)}, true) * 4294967296 + ${v}.getUint32(${at(0)}, true)`;
    case 'uint64':
      return `${v}.getUint32(${at(4)}, true) * 4294967296 + ${v}.getUint32(${at(0)}, true)`;
    case 'float':
      return `${v}.getFloat32(${at(0)}, true)`;
    case 'double':
      return `${v}.getFloat64(${at(0)}, true)`;
  }
}
