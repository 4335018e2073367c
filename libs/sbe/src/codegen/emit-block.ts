/**
 * Emits the flyweight decoder, the validator and the encoder of one message
 * with all of its (nested) groups. The decoder validates the whole frame in
 * wrap() — lengths, counts, var data, int64 range, enum values — so the
 * field getters afterwards are plain reads with no checks on the hot path.
 */
import { PRIMITIVE_SIZE, isFlat, type Block, type DataField, type Field, type Group, type Message, type Primitive, type Schema } from './ir.ts';
import { accessorName, pascal } from './names.ts';
import { defaultNull, inlineReadExpr, inlineSafeInt64Expr, is64, readExpr, viewReadExpr, writeStmt } from './primitives.ts';
import {
  compositeDecoderName,
  compositeEncoderName,
  emitRangeCheck,
  enumTypeName,
  enumValidTest,
} from './emit-types.ts';
import type { CodeWriter } from './writer.ts';
import { DecodeStatus } from '../runtime/status.ts';

/** A status as a literal: a module-level constant from another module would cost a load per check. */
function st(name: keyof typeof DecodeStatus): string {
  return `${DecodeStatus[name]} /* ${name} */`;
}

interface Ctx {
  block: Block;
  path: string;
  decoder: string;
  encoder: string;
  /** Key used for generated module-level function names. */
  key: string;
  parent: Ctx | undefined;
  root: Ctx;
  isMessage: boolean;
}

function childCtx(parent: Ctx, g: Group): Ctx {
  return {
    block: g,
    path: `${parent.path}.${g.name}`,
    decoder: `${parent.decoder.replace(/Decoder$/, '')}${pascal(g.name)}Decoder`,
    encoder: `${parent.encoder.replace(/Encoder$/, '')}${pascal(g.name)}Encoder`,
    key: `${parent.key}_${g.name}`,
    parent,
    root: parent.root,
    isMessage: false,
  };
}

function messageCtx(m: Message): Ctx {
  const ctx = {
    block: m,
    path: m.name,
    decoder: `${pascal(m.name)}Decoder`,
    encoder: `${pascal(m.name)}Encoder`,
    key: pascal(m.name),
    parent: undefined,
    isMessage: true,
  } as Omit<Ctx, 'root'> as Ctx;
  ctx.root = ctx;
  return ctx;
}

function allCtxs(ctx: Ctx): Ctx[] {
  return [ctx, ...ctx.block.groups.flatMap((g) => allCtxs(childCtx(ctx, g)))];
}

const versionOf = (ctx: Ctx): string => (ctx.isMessage ? 'this.actingVersion' : 'this.msg.actingVersion');

/** Bytes the fields of a block occupy for a given acting version. */
function minBlockLengthExpr(block: Block, v: string): string {
  const end = (max: number): number =>
    block.fields.filter((f) => f.sinceVersion <= max).reduce((acc, f) => Math.max(acc, f.offset + f.size), 0);
  const versions = [...new Set(block.fields.map((f) => f.sinceVersion))].sort((a, b) => b - a);
  if (versions.length <= 1 || versions.every((x) => x === 0)) return String(end(Number.MAX_SAFE_INTEGER));
  const parts = versions.filter((x) => x > 0).map((x) => `${v} >= ${x} ? ${end(x)} : `);
  return `(${parts.join('')}${end(0)})`;
}

function isDecimal(f: Field): boolean {
  return f.exponentField !== undefined;
}

/** Where the exponent scaling decimal field `f` lives: its block (0 = this block) and field. */
function findExponent(ctx: Ctx, f: Field): { depth: number; field: Field } {
  let owner: Ctx | undefined = ctx;
  let depth = 0;
  while (owner !== undefined) {
    const e = owner.block.fields.find((x) => x.name === f.exponentField);
    if (e !== undefined) return { depth, field: e };
    owner = owner.parent;
    depth++;
  }
  throw new Error(`exponent ${f.exponentField} not found for ${ctx.path}.${f.name}`);
}

/**
 * Expression for the exponent of decimal field `f`. An exponent of an
 * enclosing block is constant while a group is iterated, so group decoders
 * cache it at reset() instead of re-reading it for every entry.
 */
function exponentExpr(ctx: Ctx, f: Field, inline = false): string {
  const { depth, field } = findExponent(ctx, f);
  if (depth !== 0) return `this._exp_${field.name}`;
  return inline ? inlineReadExpr('int8', 'this.buffer', `this.base + ${field.offset}`) : `readI8(this.buffer, this.base + ${field.offset})`;
}

/** Exponent read through the parent chain (encoders, which keep no cache). */
function exponentReadExpr(ctx: Ctx, f: Field): string {
  const { depth, field } = findExponent(ctx, f);
  return `readI8(this.buffer, this${'.parent'.repeat(depth)}.base + ${field.offset})`;
}

/** Outer-block exponents a group caches at reset(): field name, owner reference and offset. */
function outerExponents(ctx: Ctx): { name: string; ref: string; offset: number }[] {
  const seen = new Map<string, { name: string; ref: string; offset: number }>();
  for (const f of ctx.block.fields) {
    if (f.exponentField === undefined) continue;
    const { depth, field } = findExponent(ctx, f);
    if (depth === 0 || seen.has(field.name)) continue;
    seen.set(field.name, { name: field.name, ref: `this${'.parent'.repeat(depth)}`, offset: field.offset });
  }
  return [...seen.values()];
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

// ---------------------------------------------------------------- decoder getters

function emitFieldGetters(w: CodeWriter, ctx: Ctx, f: Field, schema: Schema): void {
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
      w.block(`${name}Decimal(): string`, () =>
        w.line(`return decimalToString(readI128BigInt(this.buffer, ${at}), ${exponentExpr(ctx, f)});`),
      );
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
 * Scalars read through the message's DataView: one bounds check and one load
 * per field instead of one per byte. Optional and versioned fields keep the
 * byte path (their null and version handling needs the raw bytes).
 */
function viewable(f: Field): boolean {
  return isEager(f) && f.presence === 'required' && f.sinceVersion === 0;
}

/** Groups with at least this many entries are read through the DataView. */
const VIEW_MIN_ENTRIES = 8;

/** Position-iterated groups whose scalars are all viewable get a DataView load path. */
function groupUsesView(ctx: Ctx): boolean {
  const g = ctx.block as Group;
  return !ctx.isMessage && byPosition(g) && g.fields.some(isEager) && g.fields.filter(isEager).every(viewable);
}

/**
 * Stateless random access for fixed-size groups: `priceMantissaAt(i)` reads
 * entry i straight through the DataView without moving the cursor (binary
 * search, sampling, reading one level). Walking a whole group is faster with
 * next(), whose getters inline to field loads.
 */
function emitIndexedGetters(w: CodeWriter, ctx: Ctx): void {
  w.doc('Switches this group to DataView reads (looked up once per frame).');
  w.block('private useView(): void', () => {
    w.line('this.view = this.msg._view();');
    w.line('this.viewBase = this.msg.viewBase;');
    w.line('this.viaView = true;');
  });
  for (const f of ctx.block.fields.filter(isEager)) {
    const t = f.type;
    const p: Primitive = t.kind === 'type' ? t.primitive : t.kind === 'enum' || t.kind === 'set' ? t.encoding : 'uint8';
    const name = accessorName(f.name);
    const getter = isDecimal(f) ? `${name}MantissaAt` : `${name}At`;
    w.doc(`${f.name} of entry i (0 <= i < count), without moving the cursor.`);
    w.block(`${getter}(i: number): number`, () => {
      w.line(`if (!(i >= 0 && i < this.count)) throw new RangeError(\`${ctx.path} index \${i} out of range [0, \${this.count})\`);`);
      w.line('if (!this.viaView) this.useView();');
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

/** _loadView(o): the DataView twin of _load for a group entry at o. */
function emitLoadView(w: CodeWriter, ctx: Ctx): void {
  w.doc('Decodes the entry at o through the DataView (large groups).');
  w.block('_loadView(o: number): void', () => {
    w.line('const dv = this.view;');
    w.line('const x = this.viewBase + o;');
    for (const f of ctx.block.fields.filter(isEager)) {
      const t = f.type;
      const p: Primitive = t.kind === 'type' ? t.primitive : t.kind === 'enum' || t.kind === 'set' ? t.encoding : 'uint8';
      w.line(`this._f_${f.name} = ${viewReadExpr(p, 'dv', 'x', f.offset)};`);
    }
  });
}

/** Flat groups with a non-empty entry iterate by position: entry i is at start + i * blockLength. */
function byPosition(g: Group): boolean {
  return isFlat(g) && g.blockLength > 0;
}

/** Fields decoded eagerly into number slots: scalars, enums and sets. */
function isEager(f: Field): boolean {
  if (f.presence === 'constant') return false;
  const t = f.type;
  return t.kind === 'enum' || t.kind === 'set' || (t.kind === 'type' && t.length === 1);
}

/** The loaded exponent of decimal field `f`: a slot of this block or the group's cached outer exponent. */
function exponentSlot(ctx: Ctx, f: Field): string {
  const { depth, field } = findExponent(ctx, f);
  return depth === 0 ? `this._f_${field.name}!` : `this._exp_${field.name}`;
}

/** The divisor and multiplier slots for decimal field `f` (see decimalDivisor in runtime/bytes.ts). */
function divisorSlot(ctx: Ctx, f: Field): string {
  return `this._div_${findExponent(ctx, f).field.name}`;
}

function multiplierSlot(ctx: Ctx, f: Field): string {
  return `this._mul_${findExponent(ctx, f).field.name}`;
}

/** Exponent fields of this block that scale some decimal of this block or of a nested group. */
function localExponents(ctx: Ctx): Field[] {
  const names = new Set<string>();
  const visit = (c: Ctx): void => {
    for (const f of c.block.fields) {
      if (f.exponentField === undefined) continue;
      const found = findExponent(c, f);
      let owner: Ctx = c;
      for (let i = 0; i < found.depth; i++) owner = owner.parent!;
      if (owner === ctx) names.add(found.field.name);
    }
    for (const g of c.block.groups) visit(childCtx(c, g));
  };
  visit(ctx);
  return ctx.block.fields.filter((f) => names.has(f.name));
}

function emitEagerSlots(w: CodeWriter, ctx: Ctx): void {
  for (const f of ctx.block.fields.filter(isEager)) {
    const nullable = f.presence === 'optional' || f.sinceVersion > 0;
    w.line(`private _f_${f.name}: ${nullable ? 'number | null' : 'number'} = 0;`);
  }
  for (const e of localExponents(ctx)) {
    w.line(`/** @internal */ _mul_${e.name} = 1;`);
    w.line(`/** @internal */ _div_${e.name} = 1;`);
  }
}

/** _load(b, o): decodes every eager field of the block at o (already validated, or the null frame). */
/**
 * _load(b, o): decodes every eager field of the block at o (already
 * validated, or the null frame). For the root block it also range-checks
 * int64 fields, reading each value once, and returns -1 on failure.
 */
function emitLoad(w: CodeWriter, ctx: Ctx): void {
  const eager = ctx.block.fields.filter(isEager);
  if (eager.length === 0) return;
  const checked = ctx.isMessage;
  w.doc('Decodes the scalar fields of the block at o into their slots.');
  w.block(`_load(b: Uint8Array, o: number): ${checked ? 'number' : 'void'}`, () => {
    if (eager.some((f) => f.sinceVersion > 0)) w.line(`const ver = ${versionOf(ctx)};`);
    for (const f of eager) {
      const t = f.type;
      const p: Primitive = t.kind === 'type' ? t.primitive : t.kind === 'enum' || t.kind === 'set' ? t.encoding : 'uint8';
      const at = f.offset === 0 ? 'o' : `o + ${f.offset}`;
      const slot = `this._f_${f.name}`;
      const body = (): void => {
        if (checked && is64(p)) {
          // hi word first: the value is exact as a number iff hi is in [-2^21, 2^21).
          const hi = inlineReadExpr('int32', 'b', 'o', f.offset + 4);
          const guard = (): void => {
            w.line(`const h_${f.name} = ${p === 'int64' ? hi : `(${hi} >>> 0)`};`);
            const bad = p === 'int64' ? `h_${f.name} < -0x200000 || h_${f.name} > 0x1fffff` : `h_${f.name} > 0x1fffff`;
            w.line(`if (${bad}) return this._fail(${st('Int64OutOfRange')}, '${ctx.path}.${f.name}', ${at});`);
            w.line(`${slot} = h_${f.name} * 4294967296 + ${inlineReadExpr('uint32', 'b', 'o', f.offset)};`);
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
      w.line(`this._mul_${e.name} = decimalMultiplier(this._f_${e.name} ?? 0);`);
      w.line(`this._div_${e.name} = decimalDivisor(this._f_${e.name} ?? 0);`);
    }
    if (checked) w.line('return 0;');
  });
}

function emitDataGetters(w: CodeWriter, d: DataField): void {
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
function emitStringMemoFields(w: CodeWriter, d: DataField): void {
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

function emitToObject(w: CodeWriter, ctx: Ctx): void {
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

// ---------------------------------------------------------------- validators

function emitFieldChecks(
  w: CodeWriter,
  ctx: Ctx,
  fields: Field[],
  base: string,
  pathPrefix: string,
  skipInt64 = false,
  viaView = false,
): void {
  for (const f of fields) {
    if (f.presence === 'constant') continue;
    if (skipInt64 && f.type.kind === 'type' && f.type.length === 1 && is64(f.type.primitive)) continue;
    const at = `${base} + ${f.offset}`;
    const what = `'${pathPrefix}.${f.name}'`;
    const body = (): void => {
      const t = f.type;
      if (t.kind === 'type' && t.length === 1 && is64(t.primitive)) {
        // The top 16 bits decide whether the value fits 2^53 (see isSafeI64), read in place.
        const top = viaView
          ? t.primitive === 'int64'
            ? `dv.getInt16(vb + ${at} + 6, true)`
            : `dv.getUint16(vb + ${at} + 6, true)`
          : inlineReadExpr(t.primitive === 'int64' ? 'int16' : 'uint16', 'b', `(${at})`, 6);
        const unsafe = t.primitive === 'int64' ? `((${top} >> 5) + 1) >>> 1 !== 0` : `${top} >>> 5 !== 0`;
        const isNull = t.primitive === 'int64' ? 'isI64Null' : 'isU64Null';
        const cond = f.presence === 'optional' ? `${unsafe} && !${isNull}(b, ${at})` : unsafe;
        w.line(`if (${cond}) return d._fail(${st('Int64OutOfRange')}, ${what}, ${at});`);
      } else if (t.kind === 'enum') {
        w.block('', () => {
          w.line(`const e = ${readExpr(t.encoding, 'b', at)};`);
          w.line(`if (!(${enumValidTest(t, 'e', f.presence === 'optional')})) return d._fail(${st('InvalidEnumValue')}, ${what}, ${at});`);
        });
      } else if (t.kind === 'composite') {
        const members: Field[] = t.members.map((m) => ({
          name: m.name,
          id: 0,
          type: m.type,
          offset: f.offset + m.offset,
          size: 0,
          presence: m.type.kind === 'type' ? m.type.presence : 'required',
          sinceVersion: 0,
        }));
        emitFieldChecks(w, ctx, members, base, `${pathPrefix}.${f.name}`, false, viaView);
      }
    };
    if (f.sinceVersion > 0) w.block(`if (v >= ${f.sinceVersion})`, body);
    else body();
  }
}

function hasFieldChecks(fields: Field[]): boolean {
  return fields.some((f) => {
    if (f.presence === 'constant') return false;
    const t = f.type;
    if (t.kind === 'type') return t.length === 1 && is64(t.primitive);
    if (t.kind === 'enum') return true;
    if (t.kind === 'composite') {
      return hasFieldChecks(
        t.members.map((m) => ({ name: m.name, id: 0, type: m.type, offset: 0, size: 0, presence: 'required', sinceVersion: 0 })),
      );
    }
    return false;
  });
}

function emitDataCheck(w: CodeWriter, ctx: Ctx, d: DataField, store: boolean): void {
  const lenSize = PRIMITIVE_SIZE[d.lengthPrimitive];
  const what = `'${ctx.path}.${d.name}'`;
  const body = (): void => {
    if (store) w.line(`d._pos_${d.name} = p;`);
    w.line(`if (p + ${lenSize} > limit) return d._fail(${st('Truncated')}, ${what}, p);`);
    w.line(`const n_${d.name} = ${readExpr(d.lengthPrimitive, 'b', 'p')};`);
    w.line(
      `if (n_${d.name} > ${d.lengthMax} || n_${d.name} > decodeLimits.maxVarDataLength || p + ${lenSize} + n_${d.name} > limit) return d._fail(${st('VarDataTooLong')}, ${what}, p);`,
    );
    w.line(`p += ${lenSize} + n_${d.name};`);
  };
  if (d.sinceVersion > 0) {
    w.block(`if (v >= ${d.sinceVersion})`, body, store ? `} else d._pos_${d.name} = -1;` : '}');
  } else body();
}

function emitGroupValidator(w: CodeWriter, ctx: Ctx, schema: Schema, rootDecoder: string): void {
  const g = ctx.block as Group;
  const dim = g.dimension.size;
  const what = `'${ctx.path}'`;
  w.block(`function validate_${ctx.key}(d: ${rootDecoder}, b: Uint8Array, p: number, limit: number, v: number): number`, () => {
    w.line(`if (p + ${dim} > limit) return d._fail(${st('Truncated')}, ${what}, p);`);
    w.line(`const bl = ${readExpr(g.dimension.members.find((m) => m.name === 'blockLength')!.type.kind === 'type' ? (g.dimension.members.find((m) => m.name === 'blockLength')!.type as { primitive: Primitive }).primitive : 'uint16', 'b', `p + ${g.blockLengthOffset}`)};`);
    w.line(`const n = ${readExpr(g.countPrimitive, 'b', `p + ${g.countOffset}`)};`);
    w.line(
      `if (n > ${g.countMax} || n > decodeLimits.maxGroupEntries) return d._fail(${st('GroupCountTooLarge')}, ${what}, p + ${g.countOffset});`,
    );
    w.line(`if (bl < ${minBlockLengthExpr(g, 'v')}) return d._fail(${st('GroupBlockLengthTooSmall')}, ${what}, p + ${g.blockLengthOffset});`);
    w.line(`p += ${dim};`);
    const checks = hasFieldChecks(g.fields);
    if (isFlat(g)) {
      w.line(`if (p + bl * n > limit) return d._fail(${st('Truncated')}, ${what}, p);`);
      if (checks) {
        // Large groups check through the DataView (one read per int64 instead of two byte reads).
        w.block(`if (n >= ${VIEW_MIN_ENTRIES})`, () => {
          w.line('const dv = d._view();');
          w.line('const vb = d.viewBase;');
          w.block('for (let i = 0; i < n; i++, p += bl)', () => emitFieldChecks(w, ctx, g.fields, 'p', ctx.path, false, true));
        }, '} else {');
        w.line('  for (let i = 0; i < n; i++, p += bl) {');
        emitFieldChecks(w, ctx, g.fields, 'p', ctx.path);
        w.line('  }');
        w.line('}');
        w.line('return p;');
      } else w.line('return p + bl * n;');
      return;
    }
    w.block('for (let i = 0; i < n; i++)', () => {
      w.line(`if (p + bl > limit) return d._fail(${st('Truncated')}, ${what}, p);`);
      emitFieldChecks(w, ctx, g.fields, 'p', ctx.path);
      w.line('p += bl;');
      for (const child of g.groups) {
        const cc = childCtx(ctx, child);
        if (child.sinceVersion > 0) w.line(`if (v >= ${child.sinceVersion}) p = validate_${cc.key}(d, b, p, limit, v);`);
        else w.line(`p = validate_${cc.key}(d, b, p, limit, v);`);
        w.line('if (p < 0) return -1;');
      }
      for (const data of g.data) emitDataCheck(w, ctx, data, false);
    });
    w.line('return p;');
  });
  w.line();
  void schema;
}

function emitMessageValidator(w: CodeWriter, ctx: Ctx): void {
  const m = ctx.block;
  w.block(`function validate_${ctx.key}(d: ${ctx.decoder}, b: Uint8Array, p: number, limit: number, v: number): number`, () => {
    // Root int64 fields are range-checked by _load, which reads them anyway.
    emitFieldChecks(w, ctx, m.fields, 'p', ctx.path, true);
    w.line('p += d.actingBlockLength;');
    for (const g of m.groups) {
      const cc = childCtx(ctx, g);
      const body = (): void => {
        w.line(`d._pos_${g.name} = p;`);
        w.line(`p = validate_${cc.key}(d, b, p, limit, v);`);
        w.line('if (p < 0) return -1;');
      };
      if (g.sinceVersion > 0) w.block(`if (v >= ${g.sinceVersion})`, body, `} else d._pos_${g.name} = -1;`);
      else body();
    }
    for (const data of m.data) emitDataCheck(w, ctx, data, true);
    w.line('return p;');
  });
  w.line();
}

/** Module-level skip functions: the end of a (validated) group, for positioning within non-flat entries. */
function emitGroupSkipper(w: CodeWriter, ctx: Ctx): void {
  const g = ctx.block as Group;
  const blPrim = (g.dimension.members.find((m) => m.name === 'blockLength')!.type as { primitive: Primitive }).primitive;
  w.block(`function skip_${ctx.key}(b: Uint8Array, p: number): number`, () => {
    w.line(`const bl = ${readExpr(blPrim, 'b', `p + ${g.blockLengthOffset}`)};`);
    w.line(`const n = ${readExpr(g.countPrimitive, 'b', `p + ${g.countOffset}`)};`);
    w.line(`p += ${g.dimension.size};`);
    if (isFlat(g)) {
      w.line('return p + bl * n;');
      return;
    }
    w.block('for (let i = 0; i < n; i++)', () => {
      w.line('p += bl;');
      for (const child of g.groups) w.line(`p = skip_${childCtx(ctx, child).key}(b, p);`);
      for (const d of g.data) w.line(`p += ${PRIMITIVE_SIZE[d.lengthPrimitive]} + ${readExpr(d.lengthPrimitive, 'b', 'p')};`);
    });
    w.line('return p;');
  });
  w.line();
}

// ---------------------------------------------------------------- decoder classes

function emitComposites(w: CodeWriter, fields: Field[], encoder: boolean): void {
  for (const f of fields) {
    if (f.type.kind === 'composite' && f.presence !== 'constant') {
      const cls = encoder ? compositeEncoderName(f.type) : compositeDecoderName(f.type);
      w.line(`private readonly _c_${f.name} = new ${cls}();`);
    }
  }
}

function emitMessageDecoder(w: CodeWriter, ctx: Ctx, schema: Schema, headerSize: number): void {
  const m = ctx.block as Message;
  w.doc(m.description ?? `Flyweight decoder for ${m.name} (template ${m.id}).`);
  w.block(`export class ${ctx.decoder} implements DecodeFailure`, () => {
    w.line(`static readonly TEMPLATE_ID = ${m.id};`);
    w.line(`static readonly BLOCK_LENGTH = ${m.blockLength};`);
    w.line(`static readonly SCHEMA_ID = ${schema.id};`);
    w.line(`static readonly SCHEMA_VERSION = ${schema.version};`);
    w.line('buffer: Uint8Array = NULL_FRAME;');
    w.line('/** DataView over the buffer\'s ArrayBuffer; field i of the frame is at viewBase + i. */');
    w.line('view: DataView<ArrayBufferLike> = NULL_VIEW;');
    w.line('viewBase = 0;');
    w.line('private viewFor: Uint8Array = NULL_FRAME;');
    w.line('/** Offset of the message header. */');
    w.line('offset = 0;');
    w.line('/** Offset of the root block. */');
    w.line('base = 0;');
    w.line('/** One past the last byte this decoder may read. */');
    w.line('limit = 0;');
    w.line(`actingBlockLength = ${m.blockLength};`);
    w.line(`actingVersion = ${schema.version};`);
    w.line('/** Bytes of the message, header included; valid after an Ok wrap. */');
    w.line('encodedLength = 0;');
    w.line('status: DecodeStatus = DecodeStatus.InvalidArgument;');
    w.line("errorField = '';");
    w.line('errorOffset = 0;');
    for (const g of m.groups) w.line(`/** @internal */ _pos_${g.name} = 0;`);
    for (const d of m.data) w.line(`/** @internal */ _pos_${d.name} = 0;`);
    for (const d of m.data) if (d.characterEncoding !== undefined) emitStringMemoFields(w, d);
    emitEagerSlots(w, ctx);
    for (const g of m.groups) w.line(`private readonly _g_${g.name} = new ${childCtx(ctx, g).decoder}(this, this);`);
    emitComposites(w, m.fields, false);
    w.line();
    w.doc('Wraps a frame that starts with the message header; validates it completely. Never throws.');
    w.block('wrap(buffer: Uint8Array, offset = 0, length = buffer.length - offset): DecodeStatus', () => {
      w.line('this.offset = offset;');
      w.block('if (!((offset >>> 0) === offset && (length >>> 0) === length && offset + length <= buffer.length))', () => {
        w.line(`this._fail(${st('InvalidArgument')}, '${m.name}', offset);`);
        w.line('return this.status;');
      });
      w.block(`if (length < ${headerSize})`, () => {
        w.line(`this._fail(${st('Truncated')}, '${m.name}.header', offset);`);
        w.line('return this.status;');
      });
      w.block(`if (readU16(buffer, offset + 4) !== ${schema.id})`, () => {
        w.line(`this._fail(${st('SchemaIdMismatch')}, '${m.name}.header.schemaId', offset + 4);`);
        w.line('return this.status;');
      });
      w.block(`if (readU16(buffer, offset + 2) !== ${m.id})`, () => {
        w.line(`this._fail(${st('TemplateMismatch')}, '${m.name}.header.templateId', offset + 2);`);
        w.line('return this.status;');
      });
      w.line('return this.wrapBody(buffer, offset, offset + length, readU16(buffer, offset), readU16(buffer, offset + 6));');
    });
    w.doc('Wraps after a dispatcher has read (and checked) the header at headerOffset; limit is absolute.');
    w.block(
      'wrapBody(buffer: Uint8Array, headerOffset: number, limit: number, blockLength: number, version: number): DecodeStatus',
      () => {
        w.line('this.buffer = buffer;');
        w.line('this.offset = headerOffset;');
        w.line(`this.base = headerOffset + ${headerSize};`);
        w.line('this.limit = limit;');
        w.line('this.actingBlockLength = blockLength;');
        w.line('this.actingVersion = version;');
        w.block(`if (blockLength < ${minBlockLengthExpr(m, 'version')})`, () => {
          w.line(`this._fail(${st('BlockLengthTooSmall')}, '${m.name}.header.blockLength', headerOffset);`);
          w.line('return this.status;');
        });
        w.block('if (this.base + blockLength > limit)', () => {
          w.line(`this._fail(${st('Truncated')}, '${m.name}', this.base);`);
          w.line('return this.status;');
        });
        w.line(`const end = validate_${ctx.key}(this, buffer, this.base, limit, version);`);
        w.line('if (end < 0) return this.status;');
        if (m.fields.some(isEager)) w.line('if (this._load(buffer, this.base) < 0) return this.status;');
        w.line('this.encodedLength = end - headerOffset;');
        w.line(`this.status = ${st('Ok')};`);
        w.line(`return ${st('Ok')};`);
      },
    );
    w.doc('The DataView for the current buffer, looked up on first use only: the lookup costs more than small frames save.');
    w.block('_view(): DataView<ArrayBufferLike>', () => {
      w.block('if (this.viewFor !== this.buffer)', () => {
        w.line('this.viewFor = this.buffer;');
        w.line('this.view = viewOf(this.buffer);');
        w.line('this.viewBase = this.buffer.byteOffset;');
      });
      w.line('return this.view;');
    });
    w.doc('Records a failure and re-points the decoder at NULL_FRAME so later getters read zeros, never the frame.');
    w.block('_fail(status: DecodeStatus, field: string, at: number): number', () => {
      w.line('this.status = status;');
      w.line('this.errorField = field;');
      w.line('this.errorOffset = at;');
      w.line('this.buffer = NULL_FRAME;');
      w.line('this.view = NULL_VIEW;');
      w.line('this.viewBase = 0;');
      w.line('this.viewFor = NULL_FRAME;');
      w.line('this.base = 0;');
      w.line('this.limit = NULL_FRAME.length;');
      w.line('this.encodedLength = 0;');
      for (const g of m.groups) w.line(`this._pos_${g.name} = 0;`);
      for (const d of m.data) w.line(`this._pos_${d.name} = 0;`);
      if (m.fields.some(isEager)) w.line('this._load(NULL_FRAME, 0);');
      w.line('return -1;');
    });
    emitLoad(w, ctx);
    w.doc('The failure as a typed error object (allocates; for the error path only).');
    w.block('error(): DecodeError | undefined', () => {
      w.line('return this.status === DecodeStatus.Ok ? undefined : new DecodeError(this);');
    });
    for (const f of m.fields) emitFieldGetters(w, ctx, f, schema);
    for (const g of m.groups) {
      const cc = childCtx(ctx, g);
      w.block(`${accessorName(g.name)}(): ${cc.decoder}`, () => w.line(`return this._g_${g.name}.reset(this._pos_${g.name});`));
    }
    for (const d of m.data) emitDataGetters(w, d);
    emitToObject(w, ctx);
  });
  w.line();
}

function emitGroupDecoder(w: CodeWriter, ctx: Ctx, schema: Schema): void {
  const g = ctx.block as Group;
  const parentCls = ctx.parent!.decoder;
  const rootCls = ctx.root.decoder;
  const blPrim = (g.dimension.members.find((m) => m.name === 'blockLength')!.type as { primitive: Primitive }).primitive;
  w.doc(`Iterates the ${g.name} group of ${ctx.path.split('.').slice(0, -1).join('.')}: call next() before reading each entry.`);
  w.block(`export class ${ctx.decoder}`, () => {
    w.line(`static readonly BLOCK_LENGTH = ${g.blockLength};`);
    w.line('buffer: Uint8Array = NULL_FRAME;');
    w.line('/** Offset of the current entry. */');
    w.line('base = 0;');
    w.line('count = 0;');
    if (!byPosition(g)) w.line('index = -1;');
    w.line('blockLength = 0;');
    w.line('private start = 0;');
    w.line('private nextBase = 0;');
    if (byPosition(g)) w.line('private end = 0;');
    if (groupUsesView(ctx)) {
      w.line('private view: DataView<ArrayBufferLike> = NULL_VIEW;');
      w.line('private viewBase = 0;');
      w.line('private viaView = false;');
    }
    for (const c of g.groups) w.line(`/** @internal */ _pos_${c.name} = 0;`);
    for (const d of g.data) w.line(`/** @internal */ _pos_${d.name} = 0;`);
    for (const e of outerExponents(ctx)) w.line(`private _exp_${e.name} = 0;`);
    for (const e of outerExponents(ctx)) {
      w.line(`private _mul_${e.name} = 1;`);
      w.line(`private _div_${e.name} = 1;`);
    }
    for (const d of g.data) if (d.characterEncoding !== undefined) emitStringMemoFields(w, d);
    emitEagerSlots(w, ctx);
    for (const c of g.groups) w.line(`private readonly _g_${c.name}: ${childCtx(ctx, c).decoder};`);
    emitComposites(w, g.fields, false);
    w.line();
    w.block(`constructor(readonly msg: ${rootCls}, readonly parent: ${parentCls})`, () => {
      for (const c of g.groups) w.line(`this._g_${c.name} = new ${childCtx(ctx, c).decoder}(msg, this);`);
    });
    w.doc('Positions at the group header at pos (-1: the group is absent in this version).');
    w.block('reset(pos: number): this', () => {
      w.line('const b = this.msg.buffer;');
      w.line('this.buffer = b;');
      if (!byPosition(g)) w.line('this.index = -1;');

      for (const e of outerExponents(ctx)) {
        w.line(`const e_${e.name} = readI8(b, ${e.ref}.base + ${e.offset});`);
        w.block(`if (e_${e.name} !== this._exp_${e.name})`, () => {
          w.line(`this._exp_${e.name} = e_${e.name};`);
          w.line(`this._mul_${e.name} = decimalMultiplier(e_${e.name});`);
          w.line(`this._div_${e.name} = decimalDivisor(e_${e.name});`);
        });
      }
      w.block('if (pos < 0)', () => {
        w.line('this.count = 0;');
        if (byPosition(g)) w.line('this.nextBase = this.end = this.start = 0;');
        w.line('return this;');
      });
      w.line(`this.blockLength = ${readExpr(blPrim, 'b', `pos + ${g.blockLengthOffset}`)};`);
      w.line(`this.count = ${readExpr(g.countPrimitive, 'b', `pos + ${g.countOffset}`)};`);
      w.line(`this.start = pos + ${g.dimension.size};`);
      w.line('this.nextBase = this.start;');
      if (byPosition(g)) w.line('this.end = this.start + this.count * this.blockLength;');
      if (groupUsesView(ctx)) {
        w.line(`this.viaView = this.count >= ${VIEW_MIN_ENTRIES};`);
        w.block('if (this.viaView)', () => {
          w.line('this.view = this.msg._view();');
          w.line('this.viewBase = this.msg.viewBase;');
        });
      }
      w.line('return this;');
    });
    if (byPosition(g)) {
      w.doc('Position of the current entry (-1 before the first next()).');
      w.block('get index(): number', () => {
        w.line('return this.nextBase === this.start ? -1 : (this.base - this.start) / this.blockLength;');
      });
      w.doc('Advances to the next entry; false when the group is exhausted.');
      w.block('next(): boolean', () => {
        w.line('const p = this.nextBase;');
        w.line('if (p >= this.end) return false;');
        w.line('this.base = p;');
        w.line('this.nextBase = p + this.blockLength;');
        if (groupUsesView(ctx)) w.line('if (this.viaView) this._loadView(p);\n    else this._load(this.buffer, p);');
        else if (g.fields.some(isEager)) w.line('this._load(this.buffer, p);');
        w.line('return true;');
      });
    } else w.block('next(): boolean', () => {
      w.line('if (this.index + 1 >= this.count) return false;');
      w.line('this.index++;');
      w.line('const p = this.nextBase;');
      w.line('this.base = p;');
      if (isFlat(g)) {
        w.line('this.nextBase = p + this.blockLength;');
      } else {
        w.line('let q = p + this.blockLength;');
        for (const c of g.groups) {
          w.line(`this._pos_${c.name} = q;`);
          w.line(`q = skip_${childCtx(ctx, c).key}(this.buffer, q);`);
        }
        for (const d of g.data) {
          w.line(`this._pos_${d.name} = q;`);
          w.line(`q += ${PRIMITIVE_SIZE[d.lengthPrimitive]} + ${readExpr(d.lengthPrimitive, 'this.buffer', 'q')};`);
        }
        w.line('this.nextBase = q;');
      }
      if (g.fields.some(isEager)) w.line('this._load(this.buffer, p);');
      w.line('return true;');
    });
    if (isFlat(g)) {
      w.doc('Random access to entry i (fixed-size entries only).');
      w.block('at(i: number): this', () => {
        w.line(`if (!(Number.isInteger(i) && i >= 0 && i < this.count)) throw new RangeError(\`${ctx.path} index \${i} out of range [0, \${this.count})\`);`);
        if (!byPosition(g)) w.line('this.index = i;');
        w.line('this.base = this.start + i * this.blockLength;');
        w.line('this.nextBase = this.base + this.blockLength;');
        if (groupUsesView(ctx)) w.line('if (this.viaView) this._loadView(this.base);\n    else this._load(this.buffer, this.base);');
        else if (g.fields.some(isEager)) w.line('this._load(this.buffer, this.base);');
        w.line('return this;');
      });
    }
    emitLoad(w, ctx);
    if (groupUsesView(ctx)) {
      emitLoadView(w, ctx);
      emitIndexedGetters(w, ctx);
    }
    for (const f of g.fields) emitFieldGetters(w, ctx, f, schema);
    for (const c of g.groups) {
      const cc = childCtx(ctx, c);
      w.block(`${accessorName(c.name)}(): ${cc.decoder}`, () => w.line(`return this._g_${c.name}.reset(this._pos_${c.name});`));
    }
    for (const d of g.data) emitDataGetters(w, d);
    emitToObject(w, ctx);
  });
  w.line();
}

// ---------------------------------------------------------------- encoders

function emitFieldSetters(w: CodeWriter, ctx: Ctx, f: Field): void {
  if (f.presence === 'constant') return;
  const name = accessorName(f.name);
  const at = `this.base + ${f.offset}`;
  const t = f.type;
  const what = `${ctx.path}.${f.name}`;
  if (t.kind === 'composite') {
    w.block(`get ${name}(): ${compositeEncoderName(t)}`, () => w.line(`return this._c_${f.name}.wrap(this.buffer, ${at});`));
    return;
  }
  const p: Primitive = t.kind === 'type' ? t.primitive : t.encoding;
  if (t.kind === 'type' && t.length > 1) {
    if (p === 'char') {
      w.block(`${name}(v: string): this`, () => {
        w.line(`if (!writeFixedString(this.buffer, ${at}, ${t.length}, v)) throw new EncodeError('ValueOutOfRange', '${what}', 'text longer than ${t.length} bytes');`);
        w.line('return this;');
      });
    } else {
      w.block(`${name}At(i: number, v: number): this`, () => {
        w.line(`if (!(i >= 0 && i < ${t.length})) throw new RangeError(\`${what} index \${i} out of range\`);`);
        emitRangeCheck(w, p, 'v', what);
        w.line(writeStmt(p, 'this.buffer', `${at} + i * ${PRIMITIVE_SIZE[p]}`, 'v'));
        w.line('return this;');
      });
    }
    return;
  }
  const setter = isDecimal(f) ? `${name}Mantissa` : name;
  const valueType = t.kind === 'enum' ? enumTypeName(t) : 'number';
  w.block(`${setter}(v: ${valueType}): this`, () => {
    emitRangeCheck(w, p, 'v', what);
    w.line(writeStmt(p, 'this.buffer', at, 'v'));
    w.line('return this;');
  });
  if (f.presence === 'optional') {
    w.block(`${setter}Null(): this`, () => {
      if (p === 'int64') w.line(`writeI64BigInt(this.buffer, ${at}, -(1n << 63n));`);
      else if (p === 'uint64') w.line(`writeI64BigInt(this.buffer, ${at}, (1n << 64n) - 1n);`);
      else w.line(writeStmt(p, 'this.buffer', at, t.kind === 'type' && t.nullValue !== undefined ? t.nullValue : defaultNull(p)));
      w.line('return this;');
    });
  }
  if (is64(p)) {
    w.block(`${setter}BigInt(v: bigint): this`, () => {
      w.line(`checkBigIntRange(v, ${p === 'int64'}, '${what}');`);
      w.line(`writeI64BigInt(this.buffer, ${at}, v);`);
      w.line('return this;');
    });
  }
  if (isDecimal(f) && t.kind === 'type') {
    w.doc(`Sets ${f.name} from an exact decimal string at the exponent already written to this message.`);
    w.block(`${name}Decimal(text: string): this`, () => {
      const exp = exponentReadExpr(ctx, f);
      if (is64(p)) w.line(`return this.${setter}BigInt(decimalStringToMantissaBigInt(text, ${exp}));`);
      else w.line(`return this.${setter}(decimalStringToMantissa(text, ${exp}));`);
    });
  }
}

function emitDataSetters(w: CodeWriter, ctx: Ctx, d: DataField): void {
  const name = accessorName(d.name);
  const lenSize = PRIMITIVE_SIZE[d.lengthPrimitive];
  const what = `${ctx.path}.${d.name}`;
  const writeLen = writeStmt(d.lengthPrimitive, 'm.buffer', 'at', 'n');
  if (d.characterEncoding !== undefined) {
    w.block(`${name}(text: string): this`, () => {
      w.line('const m = this.msg;');
      w.line('const at = m.limit;');
      w.line(`checkCapacity(at + ${lenSize}, m.capacity, '${what}');`);
      w.line(`const n = encodeUtf8Into(m.buffer, at + ${lenSize}, text, Math.min(${d.lengthMax}, m.capacity - at - ${lenSize}));`);
      w.line(`if (n < 0) throw new EncodeError('VarDataTooLong', '${what}', \`\${text.length} chars do not fit\`);`);
      w.line(writeLen);
      w.line(`m.limit = at + ${lenSize} + n;`);
      w.line('return this;');
    });
  }
  w.block(`${name}${d.characterEncoding !== undefined ? 'Bytes' : ''}(src: Uint8Array, srcOffset = 0, length = src.length - srcOffset): this`, () => {
    w.line(`if (length > ${d.lengthMax}) throw new EncodeError('VarDataTooLong', '${what}', \`\${length} > ${d.lengthMax}\`);`);
    w.line('const m = this.msg;');
    w.line('const at = m.limit;');
    w.line(`checkCapacity(at + ${lenSize} + length, m.capacity, '${what}');`);
    w.line('const n = length;');
    w.line(writeLen);
    w.line(`m.buffer.set(src.subarray(srcOffset, srcOffset + length), at + ${lenSize});`);
    w.line(`m.limit = at + ${lenSize} + length;`);
    w.line('return this;');
  });
}

function emitMessageEncoder(w: CodeWriter, ctx: Ctx, schema: Schema, headerSize: number): void {
  const m = ctx.block as Message;
  w.doc(`Encoder for ${m.name}: set root fields in any order, then groups and var data in schema order.`);
  w.block(`export class ${ctx.encoder}`, () => {
    w.line(`static readonly TEMPLATE_ID = ${m.id};`);
    w.line(`static readonly BLOCK_LENGTH = ${m.blockLength};`);
    w.line('buffer: Uint8Array = EMPTY_BUFFER;');
    w.line('offset = 0;');
    w.line('base = 0;');
    w.line('/** Next write position (groups and var data append here). */');
    w.line('limit = 0;');
    w.line('/** Absolute end of the writable region. */');
    w.line('capacity = 0;');
    w.line('/** @internal */ readonly msg = this;');
    for (const g of m.groups) w.line(`private readonly _g_${g.name} = new ${childCtx(ctx, g).encoder}(this, this);`);
    emitComposites(w, m.fields, true);
    w.line();
    w.doc('Writes the message header at offset and prepares the root block (zeroed).');
    w.block('wrapAndApplyHeader(buffer: Uint8Array, offset = 0, length = buffer.length - offset): this', () => {
      w.line(`this.wrap(buffer, offset + ${headerSize}, length - ${headerSize});`);
      w.line('this.offset = offset;');
      w.line(`writeU16(buffer, offset, ${m.blockLength});`);
      w.line(`writeU16(buffer, offset + 2, ${m.id});`);
      w.line(`writeU16(buffer, offset + 4, ${schema.id});`);
      w.line(`writeU16(buffer, offset + 6, ${schema.version});`);
      w.line('return this;');
    });
    w.doc('Prepares the root block at offset without a header (for embedding).');
    w.block('wrap(buffer: Uint8Array, offset = 0, length = buffer.length - offset): this', () => {
      w.line(`if (!(Number.isInteger(offset) && offset >= 0 && length >= 0)) throw new EncodeError('BufferTooSmall', '${m.name}', \`bad region \${offset}+\${length}\`);`);
      w.line('this.buffer = buffer;');
      w.line('this.offset = offset;');
      w.line('this.base = offset;');
      w.line('this.capacity = Math.min(buffer.length, offset + length);');
      w.line(`checkCapacity(offset + ${m.blockLength}, this.capacity, '${m.name}');`);
      w.line(`this.limit = offset + ${m.blockLength};`);
      w.line('buffer.fill(0, offset, this.limit);');
      w.line('return this;');
    });
    w.doc('Bytes written so far, header included when wrapAndApplyHeader was used.');
    w.block('get encodedLength(): number', () => w.line('return this.limit - this.offset;'));
    for (const f of m.fields) emitFieldSetters(w, ctx, f);
    for (const g of m.groups) {
      const cc = childCtx(ctx, g);
      w.block(`${accessorName(g.name)}Count(count: number): ${cc.encoder}`, () => w.line(`return this._g_${g.name}.begin(count);`));
    }
    for (const d of m.data) emitDataSetters(w, ctx, d);
  });
  w.line();
}

function emitGroupEncoder(w: CodeWriter, ctx: Ctx): void {
  const g = ctx.block as Group;
  const rootCls = ctx.root.encoder;
  const parentCls = ctx.parent!.encoder;
  const blPrim = (g.dimension.members.find((m) => m.name === 'blockLength')!.type as { primitive: Primitive }).primitive;
  w.doc(`Writes the ${g.name} group: begin(count), then next() before each entry.`);
  w.block(`export class ${ctx.encoder}`, () => {
    w.line(`static readonly BLOCK_LENGTH = ${g.blockLength};`);
    w.line('buffer: Uint8Array = EMPTY_BUFFER;');
    w.line('base = 0;');
    w.line('count = 0;');
    w.line('index = -1;');
    for (const c of g.groups) w.line(`private readonly _g_${c.name}: ${childCtx(ctx, c).encoder};`);
    emitComposites(w, g.fields, true);
    w.line();
    w.block(`constructor(readonly msg: ${rootCls}, readonly parent: ${parentCls})`, () => {
      for (const c of g.groups) w.line(`this._g_${c.name} = new ${childCtx(ctx, c).encoder}(msg, this);`);
    });
    w.block('begin(count: number): this', () => {
      w.line(`if (!(Number.isInteger(count) && count >= 0 && count <= ${g.countMax})) throw new EncodeError('TooManyEntries', '${ctx.path}', \`count \${count}\`);`);
      w.line('const m = this.msg;');
      w.line(`checkCapacity(m.limit + ${g.dimension.size} + count * ${g.blockLength}, m.capacity, '${ctx.path}');`);
      w.line('this.buffer = m.buffer;');
      w.line(writeStmt(blPrim, 'm.buffer', `m.limit + ${g.blockLengthOffset}`, String(g.blockLength)));
      w.line(writeStmt(g.countPrimitive, 'm.buffer', `m.limit + ${g.countOffset}`, 'count'));
      w.line(`m.limit += ${g.dimension.size};`);
      w.line('this.count = count;');
      w.line('this.index = -1;');
      w.line('return this;');
    });
    w.block('next(): this', () => {
      w.line(`if (this.index + 1 >= this.count) throw new EncodeError('EntryOverflow', '${ctx.path}', \`more than \${this.count} entries\`);`);
      w.line('this.index++;');
      w.line('const m = this.msg;');
      w.line(`checkCapacity(m.limit + ${g.blockLength}, m.capacity, '${ctx.path}');`);
      w.line('this.base = m.limit;');
      w.line(`m.limit += ${g.blockLength};`);
      w.line('m.buffer.fill(0, this.base, m.limit);');
      w.line('return this;');
    });
    for (const f of g.fields) emitFieldSetters(w, ctx, f);
    for (const c of g.groups) {
      const cc = childCtx(ctx, c);
      w.block(`${accessorName(c.name)}Count(count: number): ${cc.encoder}`, () => w.line(`return this._g_${c.name}.begin(count);`));
    }
    for (const d of g.data) emitDataSetters(w, ctx, d);
  });
  w.line();
}

/** Everything for one message: validators, skippers, decoders, encoders. */
export function emitMessage(w: CodeWriter, m: Message, schema: Schema, headerSize: number): void {
  const root = messageCtx(m);
  const ctxs = allCtxs(root);
  const groups = ctxs.filter((c) => !c.isMessage);
  emitMessageValidator(w, root);
  for (const c of groups) emitGroupValidator(w, c, schema, root.decoder);
  for (const c of groups) if (ctxs.some((x) => x.block.groups.includes(c.block as Group) && !x.isMessage)) emitGroupSkipper(w, c);
  emitMessageDecoder(w, root, schema, headerSize);
  for (const c of groups) emitGroupDecoder(w, c, schema);
  emitMessageEncoder(w, root, schema, headerSize);
  for (const c of groups) emitGroupEncoder(w, c);
}

export function messageClassNames(m: Message): { decoder: string; encoder: string; groups: { decoder: string; encoder: string }[] } {
  const root = messageCtx(m);
  return {
    decoder: root.decoder,
    encoder: root.encoder,
    groups: allCtxs(root)
      .filter((c) => !c.isMessage)
      .map((c) => ({ decoder: c.decoder, encoder: c.encoder })),
  };
}
