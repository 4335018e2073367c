/** Emits enums, sets and composite flyweights (types.ts of a generated schema). */
import { PRIMITIVE_SIZE, type CompositeType, type EnumType, type Primitive, type Schema, type SetType } from './ir.ts';
import { pascal } from './names.ts';
import { defaultNull, intRange, is64, readExpr, writeStmt } from './primitives.ts';
import type { CodeWriter } from './writer.ts';

const COMPOSITE_RESERVED = new Set(['wrap', 'buffer', 'base', 'toObject', 'constructor']);

export function compositeMemberName(name: string): string {
  return COMPOSITE_RESERVED.has(name) ? `${name}Field` : name;
}

export function enumTypeName(t: EnumType): string {
  return pascal(t.name);
}

export function enumNullValue(t: EnumType): string {
  return defaultNull(t.encoding);
}

/** The JS expression that tests whether `v` is a listed value of the enum. */
export function enumValidTest(t: EnumType, v: string, allowNull: boolean): string {
  const values = t.values.map((x) => String(x.value));
  if (allowNull) values.push(enumNullValue(t));
  return values.length === 0 ? 'false' : values.map((x) => `${v} === ${x}`).join(' || ');
}

function emitEnum(w: CodeWriter, t: EnumType): void {
  const name = enumTypeName(t);
  w.block(
    `export const ${name} =`,
    () => {
      for (const v of t.values) w.line(`${v.name}: ${v.value},`);
    },
    '} as const;',
  );
  w.line(`export type ${name} = (typeof ${name})[keyof typeof ${name}];`);
  w.line(`export const ${name}_NULL_VALUE = ${enumNullValue(t)};`);
  w.line();
}

function emitSet(w: CodeWriter, t: SetType): void {
  const name = pascal(t.name);
  w.doc(`Bit positions of the ${t.name} choice set; test a decoded value with hasChoice(value, ${name}.X).`);
  w.block(
    `export const ${name} =`,
    () => {
      for (const c of t.choices) w.line(`${c.name}: ${c.bit},`);
    },
    '} as const;',
  );
  w.line();
}

export function compositeDecoderName(t: CompositeType): string {
  return `${pascal(t.name)}Decoder`;
}

export function compositeEncoderName(t: CompositeType): string {
  return `${pascal(t.name)}Encoder`;
}

/** Fields, nested flyweights and wrap() shared by composite decoders and encoders. */
function emitCompositePreamble(w: CodeWriter, t: CompositeType, nested: (c: CompositeType) => string): void {
  w.line(`static readonly SIZE = ${t.size};`);
  w.line('buffer: Uint8Array = EMPTY_BUFFER;');
  w.line('base = 0;');
  for (const m of t.members) {
    if (m.type.kind === 'composite') w.line(`private readonly m_${m.name} = new ${nested(m.type)}();`);
  }
  w.line();
  w.block('wrap(buffer: Uint8Array, offset: number): this', () => {
    w.line('this.buffer = buffer;');
    w.line('this.base = offset;');
    w.line('return this;');
  });
}

function emitCompositeDecoder(w: CodeWriter, t: CompositeType): void {
  const cls = compositeDecoderName(t);
  w.doc(`Flyweight over the ${t.name} composite (${t.size} bytes).`);
  w.block(`export class ${cls}`, () => {
    emitCompositePreamble(w, t, compositeDecoderName);
    for (const m of t.members) {
      const name = compositeMemberName(m.name);
      const at = `this.base + ${m.offset}`;
      const mt = m.type;
      if (mt.kind === 'composite') {
        w.block(`get ${name}(): ${compositeDecoderName(mt)}`, () => w.line(`return this.m_${m.name}.wrap(this.buffer, ${at});`));
      } else if (mt.kind === 'enum') {
        w.block(`get ${name}(): ${enumTypeName(mt)}`, () => w.line(`return ${readExpr(mt.encoding, 'this.buffer', at)} as ${enumTypeName(mt)};`));
      } else if (mt.kind === 'set') {
        w.block(`get ${name}(): number`, () => w.line(`return ${readExpr(mt.encoding, 'this.buffer', at)};`));
      } else if (mt.presence === 'constant') {
        const v = mt.primitive === 'char' ? JSON.stringify(mt.constValue ?? '') : String(Number(mt.constValue));
        w.block(`get ${name}(): ${mt.primitive === 'char' ? 'string' : 'number'}`, () => w.line(`return ${v};`));
      } else if (mt.length === 0) {
        w.block(`get ${name}Offset(): number`, () => w.line(`return ${at};`));
      } else if (mt.length > 1 && mt.primitive === 'char') {
        w.block(`get ${name}(): string`, () => w.line(`return readFixedString(this.buffer, ${at}, ${mt.length});`));
      } else if (mt.length > 1) {
        const size = PRIMITIVE_SIZE[mt.primitive];
        w.block(`${name}At(i: number): number`, () => {
          w.line(`if (!(i >= 0 && i < ${mt.length})) throw new RangeError(\`${t.name}.${m.name} index \${i} out of range\`);`);
          w.line(`return ${readExpr(mt.primitive, 'this.buffer', `${at} + i * ${size}`)};`);
        });
      } else {
        w.block(`get ${name}(): number`, () => w.line(`return ${readExpr(mt.primitive, 'this.buffer', at)};`));
        if (is64(mt.primitive)) {
          const fn = mt.primitive === 'int64' ? 'readI64BigInt' : 'readU64BigInt';
          w.block(`${name}BigInt(): bigint`, () => w.line(`return ${fn}(this.buffer, ${at});`));
        }
      }
    }
    w.block('toObject(): Record<string, unknown>', () => {
      w.line('return {');
      for (const m of t.members) {
        const name = compositeMemberName(m.name);
        if (m.type.kind === 'composite') w.line(`  ${m.name}: this.${name}.toObject(),`);
        else if (m.type.kind === 'type' && m.type.length === 0) continue;
        else if (m.type.kind === 'type' && m.type.length > 1 && m.type.primitive !== 'char') {
          w.line(`  ${m.name}: Array.from({ length: ${m.type.length} }, (_, i) => this.${name}At(i)),`);
        } else w.line(`  ${m.name}: this.${name},`);
      }
      w.line('};');
    });
  });
  w.line();
}

function emitCompositeEncoder(w: CodeWriter, t: CompositeType): void {
  const cls = compositeEncoderName(t);
  w.doc(`Writes the ${t.name} composite (${t.size} bytes); the caller guarantees capacity.`);
  w.block(`export class ${cls}`, () => {
    emitCompositePreamble(w, t, compositeEncoderName);
    for (const m of t.members) {
      const name = compositeMemberName(m.name);
      const at = `this.base + ${m.offset}`;
      const mt = m.type;
      const what = `${t.name}.${m.name}`;
      if (mt.kind === 'composite') {
        w.block(`get ${name}(): ${compositeEncoderName(mt)}`, () => w.line(`return this.m_${m.name}.wrap(this.buffer, ${at});`));
        continue;
      }
      const prim = mt.kind === 'type' ? mt.primitive : mt.encoding;
      if (mt.kind === 'type' && (mt.presence === 'constant' || mt.length === 0)) continue;
      if (mt.kind === 'type' && mt.length > 1 && prim === 'char') {
        w.block(`${name}(v: string): this`, () => {
          w.line(`if (!writeFixedString(this.buffer, ${at}, ${mt.length}, v)) throw new EncodeError('ValueOutOfRange', '${what}', 'text longer than ${mt.length} bytes');`);
          w.line('return this;');
        });
        continue;
      }
      if (mt.kind === 'type' && mt.length > 1) {
        const size = PRIMITIVE_SIZE[prim];
        w.block(`${name}At(i: number, v: number): this`, () => {
          w.line(`if (!(i >= 0 && i < ${mt.length})) throw new RangeError(\`${what} index \${i} out of range\`);`);
          emitRangeCheck(w, prim, 'v', what);
          w.line(writeStmt(prim, 'this.buffer', `${at} + i * ${size}`, 'v'));
          w.line('return this;');
        });
        continue;
      }
      w.block(`${name}(v: number): this`, () => {
        emitRangeCheck(w, prim, 'v', what);
        w.line(writeStmt(prim, 'this.buffer', at, 'v'));
        w.line('return this;');
      });
    }
  });
  w.line();
}

export function emitRangeCheck(w: CodeWriter, p: Primitive, v: string, what: string): void {
  const range = intRange(p);
  if (range === undefined) return;
  if (is64(p)) {
    w.line(`checkSafeInteger(${v}, '${what}');`);
    if (p === 'uint64') w.line(`checkRange(${v}, 0, Number.MAX_SAFE_INTEGER, '${what}');`);
  } else {
    w.line(`checkRange(${v}, ${range[0]}, ${range[1]}, '${what}');`);
  }
}

export function emitTypesFile(w: CodeWriter, schema: Schema): void {
  const sorted = [...schema.types.values()];
  for (const t of sorted) if (t.kind === 'enum') emitEnum(w, t);
  for (const t of sorted) if (t.kind === 'set') emitSet(w, t);
  const seen = new Set<string>();
  const emitComposite = (t: CompositeType): void => {
    if (seen.has(t.name)) return;
    seen.add(t.name);
    for (const m of t.members) if (m.type.kind === 'composite') emitComposite(m.type);
    emitCompositeDecoder(w, t);
    emitCompositeEncoder(w, t);
  };
  for (const t of sorted) if (t.kind === 'composite') emitComposite(t);
}
