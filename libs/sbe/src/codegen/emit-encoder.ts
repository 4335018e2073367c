/**
 * Emits the encoder classes of a message and its groups: header and block
 * setup, field setters with range checks, group begin/next and var-data
 * appenders. Separate because encoders share nothing with decoding but the
 * block context.
 */
import { PRIMITIVE_SIZE, type DataField, type Field, type Group, type Message, type Primitive, type Schema } from './ir.ts';
import { accessorName } from './names.ts';
import { defaultNull, is64, writeStmt } from './primitives.ts';
import { compositeEncoderName, emitRangeCheck, enumTypeName } from './emit-types.ts';
import type { CodeWriter } from './writer.ts';
import { blockLengthPrimitive, emitComposites, findExponent, groupContext, isDecimal, type BlockContext } from './block-context.ts';

/** Exponent read through the parent chain (encoders, which keep no cache). */
function exponentReadExpr(ctx: BlockContext, f: Field): string {
  const { depth, field } = findExponent(ctx, f);
  return `readI8(this.buffer, this${'.parent'.repeat(depth)}.base + ${field.offset})`;
}

function emitFieldSetters(w: CodeWriter, ctx: BlockContext, f: Field): void {
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

function emitDataSetters(w: CodeWriter, ctx: BlockContext, d: DataField): void {
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

/** The public write side every encoder ends with: field setters, nested group begins, var-data appenders. */
function emitBlockWriters(w: CodeWriter, ctx: BlockContext): void {
  for (const f of ctx.block.fields) emitFieldSetters(w, ctx, f);
  for (const g of ctx.block.groups) {
    const child = groupContext(ctx, g);
    w.block(`${accessorName(g.name)}Count(count: number): ${child.encoder}`, () => w.line(`return this._g_${g.name}.begin(count);`));
  }
  for (const d of ctx.block.data) emitDataSetters(w, ctx, d);
}

export function emitMessageEncoder(w: CodeWriter, ctx: BlockContext, schema: Schema, headerSize: number): void {
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
    for (const g of m.groups) w.line(`private readonly _g_${g.name} = new ${groupContext(ctx, g).encoder}(this, this);`);
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
    emitBlockWriters(w, ctx);
  });
  w.line();
}

export function emitGroupEncoder(w: CodeWriter, ctx: BlockContext): void {
  const g = ctx.block as Group;
  const rootCls = ctx.root.encoder;
  const parentCls = ctx.parent!.encoder;
  w.doc(`Writes the ${g.name} group: begin(count), then next() before each entry.`);
  w.block(`export class ${ctx.encoder}`, () => {
    w.line(`static readonly BLOCK_LENGTH = ${g.blockLength};`);
    w.line('buffer: Uint8Array = EMPTY_BUFFER;');
    w.line('base = 0;');
    w.line('count = 0;');
    w.line('index = -1;');
    for (const c of g.groups) w.line(`private readonly _g_${c.name}: ${groupContext(ctx, c).encoder};`);
    emitComposites(w, g.fields, true);
    w.line();
    w.block(`constructor(readonly msg: ${rootCls}, readonly parent: ${parentCls})`, () => {
      for (const c of g.groups) w.line(`this._g_${c.name} = new ${groupContext(ctx, c).encoder}(msg, this);`);
    });
    w.block('begin(count: number): this', () => {
      w.line(`if (!(Number.isInteger(count) && count >= 0 && count <= ${g.countMax})) throw new EncodeError('TooManyEntries', '${ctx.path}', \`count \${count}\`);`);
      w.line('const m = this.msg;');
      w.line(`checkCapacity(m.limit + ${g.dimension.size} + count * ${g.blockLength}, m.capacity, '${ctx.path}');`);
      w.line('this.buffer = m.buffer;');
      w.line(writeStmt(blockLengthPrimitive(g), 'm.buffer', `m.limit + ${g.blockLengthOffset}`, String(g.blockLength)));
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
    emitBlockWriters(w, ctx);
  });
  w.line();
}
