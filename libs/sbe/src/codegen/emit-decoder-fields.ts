/**
 * Emits the members of a decoder that read fields: the eager slots and the
 * _load/_loadView that fill them, the getters, the indexed DataView getters
 * of large groups, the var-data getters and toObject(). Separate from the
 * decoder classes (emit-decoder.ts), which decide where a block is; this
 * module decides how each field of it is read.
 */
import { PRIMITIVE_SIZE, type DataField, type Field, type Message, type Primitive, type Schema } from './ir.ts';
import { accessorName } from './names.ts';
import { defaultNull, inlineReadExpr, inlineSafeInt64Expr, is64, readExpr, viewReadExpr } from './primitives.ts';
import { compositeDecoderName, enumTypeName } from './emit-types.ts';
import type { CodeWriter } from './writer.ts';
import { validatorUsesView } from './emit-validator.ts';
import { eagerPrimitive, findExponent, groupContext, isDecimal, isEager, statusLiteral, versionOf, viewable, type BlockContext } from './block-context.ts';

/**
 * Expression for the exponent of decimal field `f`. An exponent of an
 * enclosing block is constant while a group is iterated, so group decoders
 * cache it at reset() instead of re-reading it for every entry.
 */
function exponentExpr(ctx: BlockContext, f: Field): string {
  const { depth, field } = findExponent(ctx, f);
  return depth !== 0 ? `this._exp_${field.name}` : `readI8(this.buffer, this.base + ${field.offset})`;
}

function constantValue(f: Field, schema: Schema): string {
  if (f.valueRef !== undefined) {
    const [typeName, valueName] = f.valueRef.split('.');
    const t = schema.types.get(typeName ?? '');
    if (t?.kind !== 'enum' || !t.values.some((v) => v.name === valueName)) {
      throw new Error(`${f.name}: bad valueRef ${f.valueRef}`);
    }
    return `${enumTypeName(t)}.${valueName}`;
  }
  const t = f.type;
  if (t.kind === 'type' && t.primitive === 'char') return JSON.stringify(t.constValue ?? '');
  return String(Number(t.kind === 'type' ? t.constValue : 0));
}

function nullTest(p: Primitive, nullValue: string | undefined, buf: string, at: string, v: string): string {
  if (p === 'int64') return `isI64Null(${buf}, ${at})`;
  if (p === 'uint64') return `isU64Null(${buf}, ${at})`;
  if (p === 'float' || p === 'double') return `Number.isNaN(${v})`;
  return `${v} === ${nullValue ?? defaultNull(p)}`;
}

export function emitFieldGetters(w: CodeWriter, ctx: BlockContext, f: Field, schema: Schema): void {
  const name = accessorName(f.name);
  const at = `this.base + ${f.offset}`;
  const t = f.type;
  const sinceGuard = f.sinceVersion > 0 ? `if (${versionOf(ctx)} < ${f.sinceVersion}) return null;` : undefined;
  const optional = f.presence === 'optional';
  const nullable = optional || f.sinceVersion > 0;
  const orNull = nullable ? ' | null' : '';

  if (f.presence === 'constant') {
    const tsType = t.kind === 'enum' ? enumTypeName(t) : t.kind === 'type' && t.primitive === 'char' ? 'string' : 'number';
    w.block(`get ${name}(): ${tsType}`, () => w.line(`return ${constantValue(f, schema)};`));
    return;
  }
  if (t.kind === 'composite') {
    w.block(`get ${name}(): ${compositeDecoderName(t)}`, () => w.line(`return this._c_${f.name}.wrap(this.buffer, ${at});`));
    return;
  }
  if (t.kind === 'set') {
    w.block(`get ${name}(): number${orNull}`, () => w.line(`return this._f_${f.name};`));
    return;
  }
  if (t.kind === 'enum') {
    const et = enumTypeName(t);
    w.block(`get ${name}(): ${et}${orNull}`, () => w.line(`return this._f_${f.name} as ${et}${orNull};`));
    return;
  }
  // Encoded primitive type.
  const p = t.primitive;
  if (t.length > 1 && p === 'char') {
    w.block(`get ${name}(): string${orNull}`, () => {
      if (sinceGuard) w.line(sinceGuard);
      w.line(`return readFixedString(this.buffer, ${at}, ${t.length});`);
    });
    return;
  }
  if (t.length > 1) {
    const size = PRIMITIVE_SIZE[p];
    w.line(`static readonly ${name.toUpperCase()}_LENGTH = ${t.length};`);
    w.block(`${name}At(i: number): number`, () => {
      w.line(`if (!(i >= 0 && i < ${t.length})) throw new RangeError(\`${ctx.path}.${f.name} index \${i} out of range\`);`);
      w.line(`return ${readExpr(p, 'this.buffer', `${at} + i * ${size}`)};`);
    });
    if (isDecimal(f) && p === 'uint8' && t.length === 16) {
      w.block(`${name}MantissaBigInt(): bigint`, () => w.line(`return readI128BigInt(this.buffer, ${at});`));
      w.block(`${name}Decimal(): string`, () => w.line(`return decimalToString(readI128BigInt(this.buffer, ${at}), ${exponentExpr(ctx, f)});`));
    }
    return;
  }
  // Scalars are decoded eagerly by _load() when the block is wrapped or an
  // entry is reached: the getters are single field loads, which V8 always
  // inlines (a getter doing byte arithmetic is inlined only while a small
  // per-caller bytecode budget lasts, then every field costs a call).
  if (isDecimal(f)) {
    const exp = exponentSlot(ctx, f);
    const scale = `${multiplierSlot(ctx, f)} / ${divisorSlot(ctx, f)}`;
    w.block(`get ${name}(): number${orNull}`, () => {
      if (nullable) {
        w.line(`const m = this._f_${f.name};`);
        w.line(`return m === null ? null : (m * ${scale});`);
      } else w.line(`return (this._f_${f.name} * ${scale});`);
    });
    w.block(`get ${name}Mantissa(): number${orNull}`, () => w.line(`return this._f_${f.name};`));
    w.block(`${name}Decimal(): string${orNull}`, () => {
      w.line(`const m = this._f_${f.name};`);
      w.line(nullable ? `return m === null ? null : decimalToString(m, ${exp});` : `return decimalToString(m, ${exp});`);
    });
  } else {
    w.block(`get ${name}(): number${orNull}`, () => w.line(`return this._f_${f.name};`));
  }
  if (is64(p)) {
    const fn = p === 'int64' ? 'readI64BigInt' : 'readU64BigInt';
    const getter = isDecimal(f) ? `${name}MantissaBigInt` : `${name}BigInt`;
    w.block(`${getter}(): bigint${orNull}`, () => {
      if (sinceGuard) w.line(sinceGuard);
      w.line(`return ${fn}(this.buffer, ${at});`);
    });
  }
}

/**
 * Stateless random access for fixed-size groups: `priceMantissaAt(i)` reads
 * entry i straight through the DataView without moving the cursor (binary
 * search, sampling, reading one level). Walking a whole group is faster with
 * next(), whose getters inline to field loads.
 */
export function emitIndexedGetters(w: CodeWriter, ctx: BlockContext): void {
  for (const f of ctx.block.fields.filter(isEager)) {
    const p = eagerPrimitive(f);
    const name = accessorName(f.name);
    const getter = isDecimal(f) ? `${name}MantissaAt` : `${name}At`;
    w.doc(`${f.name} of entry i (0 <= i < count), without moving the cursor.`);
    w.block(`${getter}(i: number): number`, () => {
      w.line(`if (!(i >= 0 && i < this.count)) throw new RangeError(\`${ctx.path} index \${i} out of range [0, \${this.count})\`);`);
      w.line('const x = this.viewBase + this.start + i * this.blockLength;');
      w.line(`return ${viewReadExpr(p, 'this.view', 'x', f.offset)};`);
    });
    if (isDecimal(f)) {
      w.doc(`${f.name} of entry i as a number (correctly rounded), without moving the cursor.`);
      w.block(`${name}At(i: number): number`, () => {
        w.line(`return this.${getter}(i) * ${multiplierSlot(ctx, f)} / ${divisorSlot(ctx, f)};`);
      });
    }
  }
}

/** The DataView reads of a group entry at DataView index `x` into its slots (inside next()). */
export function emitViewLoads(w: CodeWriter, ctx: BlockContext, x: string): void {
  w.line('const dv = this.view;');
  for (const f of ctx.block.fields.filter(isEager)) {
    w.line(`this._f_${f.name} = ${viewReadExpr(eagerPrimitive(f), 'dv', x, f.offset)};`);
  }
  // An exponent of the entry itself scales its decimals: its factors follow it, as in _load.
  for (const e of localExponents(ctx)) {
    w.line(`this._mul_${e.name} = decimalMultiplier(this._f_${e.name});`);
    w.line(`this._div_${e.name} = decimalDivisor(this._f_${e.name});`);
  }
}

/** The loaded exponent of decimal field `f`: a slot of this block or the group's cached outer exponent. */
function exponentSlot(ctx: BlockContext, f: Field): string {
  const { depth, field } = findExponent(ctx, f);
  return depth === 0 ? `this._f_${field.name}!` : `this._exp_${field.name}`;
}

/** The divisor and multiplier slots for decimal field `f` (see decimalDivisor in runtime/bytes.ts). */
function divisorSlot(ctx: BlockContext, f: Field): string {
  return `this._div_${findExponent(ctx, f).field.name}`;
}

function multiplierSlot(ctx: BlockContext, f: Field): string {
  return `this._mul_${findExponent(ctx, f).field.name}`;
}

/** Exponent fields of this block that scale some decimal of this block or of a nested group. */
function localExponents(ctx: BlockContext): Field[] {
  const names = new Set<string>();
  const visit = (c: BlockContext): void => {
    for (const f of c.block.fields) {
      if (f.exponentField === undefined) continue;
      const found = findExponent(c, f);
      let owner: BlockContext = c;
      for (let i = 0; i < found.depth; i++) owner = owner.parent!;
      if (owner === ctx) names.add(found.field.name);
    }
    for (const g of c.block.groups) visit(groupContext(c, g));
  };
  visit(ctx);
  return ctx.block.fields.filter((f) => names.has(f.name));
}

export function emitEagerSlots(w: CodeWriter, ctx: BlockContext): void {
  const exponents = new Set(localExponents(ctx).map((e) => e.name));
  for (const f of ctx.block.fields.filter(isEager)) {
    const nullable = f.presence === 'optional' || f.sinceVersion > 0;
    // Exponents are read by nested group decoders at reset(), so they are not private.
    w.line(`${exponents.has(f.name) ? '/** @internal */' : 'private'} _f_${f.name}: ${nullable ? 'number | null' : 'number'} = 0;`);
  }
  for (const e of localExponents(ctx)) {
    w.line(`/** @internal */ _mul_${e.name} = 1;`);
    w.line(`/** @internal */ _div_${e.name} = 1;`);
  }
}

/**
 * _load(b, o): decodes every eager field of the block at o (already
 * validated, or the null frame). For the root block it also range-checks
 * int64 fields, reading each value once, and returns -1 on failure.
 */
export function emitLoad(w: CodeWriter, ctx: BlockContext): void {
  const eager = ctx.block.fields.filter(isEager);
  if (eager.length === 0) return;
  const checked = ctx.isMessage;
  // A message whose wrap() has looked up the DataView for its groups reads its root block through
  // it too: one load per field instead of one per byte (the _fail path reads NULL_VIEW, all zeros).
  const rootView = checked && validatorUsesView(ctx.block as Message);
  const viaView = (f: Field): boolean => rootView && viewable(f);
  w.doc('Decodes the scalar fields of the block at o into their slots.');
  w.block(`_load(b: Uint8Array, o: number): ${checked ? 'number' : 'void'}`, () => {
    if (eager.some((f) => f.sinceVersion > 0)) w.line(`const ver = ${versionOf(ctx)};`);
    if (eager.some(viaView)) {
      w.line('const dv = this._view();');
      w.line('const x = this.viewBase + o;');
    }
    for (const f of eager) {
      const t = f.type;
      const p = eagerPrimitive(f);
      const at = f.offset === 0 ? 'o' : `o + ${f.offset}`;
      const slot = `this._f_${f.name}`;
      const body = (): void => {
        if (viaView(f) && !is64(p)) {
          w.line(`${slot} = ${viewReadExpr(p, 'dv', 'x', f.offset)};`);
        } else if (checked && is64(p)) {
          // hi word first: the value is exact as a number iff hi is in [-2^21, 2^21).
          const hi = viaView(f) ? viewReadExpr(p === 'int64' ? 'int32' : 'uint32', 'dv', 'x', f.offset + 4) : inlineReadExpr('int32', 'b', 'o', f.offset + 4);
          const lo = viaView(f) ? viewReadExpr('uint32', 'dv', 'x', f.offset) : inlineReadExpr('uint32', 'b', 'o', f.offset);
          const guard = (): void => {
            w.line(`const h_${f.name} = ${p === 'int64' || viaView(f) ? hi : `(${hi} >>> 0)`};`);
            const bad = p === 'int64' ? `h_${f.name} < -0x200000 || h_${f.name} > 0x1fffff` : `h_${f.name} > 0x1fffff`;
            w.line(`if (${bad}) return this._fail(${statusLiteral('Int64OutOfRange')}, '${ctx.path}.${f.name}', ${at});`);
            w.line(`${slot} = h_${f.name} * 4294967296 + ${lo};`);
          };
          if (f.presence === 'optional') {
            w.block(`if (${p === 'int64' ? 'isI64Null' : 'isU64Null'}(b, ${at}))`, () => w.line(`${slot} = null;`), '} else {');
            guard();
            w.line('}');
          } else guard();
        } else if (f.presence === 'optional') {
          w.line(`const r_${f.name} = ${inlineReadExpr(p, 'b', 'o', f.offset)};`);
          const isNull = t.kind === 'type' ? nullTest(p, t.nullValue, 'b', at, `r_${f.name}`) : `r_${f.name} === ${defaultNull(p)}`;
          w.line(`${slot} = ${isNull} ? null : r_${f.name};`);
        } else if (is64(p)) {
          // validated by wrap(): fits 2^53
          w.line(`${slot} = ${inlineSafeInt64Expr(p as 'int64' | 'uint64', 'b', 'o', f.offset)};`);
        } else {
          w.line(`${slot} = ${inlineReadExpr(p, 'b', 'o', f.offset)};`);
        }
      };
      if (f.sinceVersion > 0) {
        w.block(`if (ver >= ${f.sinceVersion})`, body, '} else {');
        w.line(`  ${slot} = null;`);
        w.line('}');
      } else body();
    }
    for (const e of localExponents(ctx)) {
      const v = e.presence === 'optional' || e.sinceVersion > 0 ? `this._f_${e.name} ?? 0` : `this._f_${e.name}`;
      w.line(`this._mul_${e.name} = decimalMultiplier(${v});`);
      w.line(`this._div_${e.name} = decimalDivisor(${v});`);
    }
    if (checked) w.line('return 0;');
  });
}

export function emitDataGetters(w: CodeWriter, d: DataField): void {
  const name = accessorName(d.name);
  const pos = `this._pos_${d.name}`;
  const lenSize = PRIMITIVE_SIZE[d.lengthPrimitive];
  const lenRead = readExpr(d.lengthPrimitive, 'this.buffer', pos);
  w.doc(`Byte length of ${d.name}.`);
  w.block(`get ${name}Length(): number`, () => w.line(`return ${pos} < 0 ? 0 : ${lenRead};`));
  w.doc(`Absolute offset of the first byte of ${d.name} in the buffer.`);
  w.block(`get ${name}Offset(): number`, () => w.line(`return ${pos} < 0 ? 0 : ${pos} + ${lenSize};`));
  if (d.characterEncoding !== undefined) {
    w.doc(`${d.name} as text; repeated short values return a cached string without allocating.`);
    w.block(`${name}(): string`, () => {
      w.line(`if (${pos} < 0) return '';`);
      w.line('const b = this.buffer;');
      w.line(`const o = ${pos} + ${lenSize};`);
      w.line(`const n = ${readExpr(d.lengthPrimitive, 'b', pos)};`);
      w.line(`const last = this._mb_${d.name};`);
      w.block('if (last.length === n)', () => {
        w.line('let i = 0;');
        w.line('while (i < n && last[i] === b[o + i]) i++;');
        w.line(`if (i === n) return this._ms_${d.name};`);
      });
      w.line('const text = decodeUtf8Cached(b, o, n);');
      w.line('const copy = new Uint8Array(n); // a copy: Buffer#slice would alias the reused frame');
      w.line('copy.set(b.subarray(o, o + n));');
      w.line(`this._mb_${d.name} = copy;`);
      w.line(`this._ms_${d.name} = text;`);
      w.line('return text;');
    });
  } else {
    w.doc(`${d.name} as a view on the frame (no copy; valid while the frame is).`);
    w.block(`${name}(): Uint8Array`, () => {
      w.line(`if (${pos} < 0) return EMPTY_BUFFER;`);
      w.line(`const start = ${pos} + ${lenSize};`);
      w.line(`return this.buffer.subarray(start, start + ${lenRead});`);
    });
  }
}

/** Last decoded value of a var string: a repeated symbol costs a byte compare, not a decode. */
export function emitStringMemoFields(w: CodeWriter, d: DataField): void {
  w.line(`private _mb_${d.name}: Uint8Array = new Uint8Array(0);`);
  w.line(`private _ms_${d.name} = '';`);
}

function toObjectValue(f: Field): string | undefined {
  const name = accessorName(f.name);
  if (f.type.kind === 'composite') return `this.${name}.toObject()`;
  if (f.type.kind === 'type' && f.type.length > 1 && f.type.primitive !== 'char') {
    return `Array.from({ length: ${f.type.length} }, (_, i) => this.${name}At(i))`;
  }
  if (isDecimal(f) && f.presence !== 'constant') return `this.${name}Mantissa`;
  return `this.${name}`;
}

export function emitToObject(w: CodeWriter, ctx: BlockContext): void {
  w.doc('The message as a plain object with raw wire values (mantissas, enum numbers); allocates, for logs and tests.');
  w.block('toObject(): Record<string, unknown>', () => {
    w.line('const o: Record<string, unknown> = {};');
    for (const f of ctx.block.fields) w.line(`o[${JSON.stringify(f.name)}] = ${toObjectValue(f)};`);
    for (const g of ctx.block.groups) {
      w.block('', () => {
        w.line(`const g = this.${accessorName(g.name)}();`);
        w.line('const entries: Record<string, unknown>[] = [];');
        w.line('while (g.next()) entries.push(g.toObject());');
        w.line(`o[${JSON.stringify(g.name)}] = entries;`);
      });
    }
    for (const d of ctx.block.data) {
      const name = accessorName(d.name);
      w.line(`o[${JSON.stringify(d.name)}] = ${d.characterEncoding !== undefined ? `this.${name}()` : `Uint8Array.from(this.${name}())`};`);
    }
    w.line('return o;');
  });
}
