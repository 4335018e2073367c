/**
 * Emits the flyweight decoder classes of a message and its groups (wrap,
 * wrapBody, reset, next, at, group accessors) and the skip_* functions that
 * position entries of non-flat groups. Field reads come from
 * emit-decoder-fields.ts; the checks wrap() relies on from emit-validator.ts.
 */
import { PRIMITIVE_SIZE, isFlat, type Group, type Message, type Schema } from './ir.ts';
import { accessorName } from './names.ts';
import { readExpr } from './primitives.ts';
import type { CodeWriter } from './writer.ts';
import { blockLengthPrimitive, byPosition, groupUsesView, emitComposites, findExponent, groupContext, isEager, minBlockLengthExpr, statusLiteral, type BlockContext } from './block-context.ts';
import { hasFieldChecks, primedByValidator } from './emit-validator.ts';
import { emitDataGetters, emitEagerSlots, emitFieldGetters, emitIndexedGetters, emitLoad, emitStringMemoFields, emitToObject, emitViewLoads } from './emit-decoder-fields.ts';

/** Module-level skip functions: the end of a (validated) group, for positioning within non-flat entries. */
export function emitGroupSkipper(w: CodeWriter, ctx: BlockContext): void {
  const g = ctx.block as Group;
  w.block(`function skip_${ctx.key}(b: Uint8Array, p: number): number`, () => {
    w.line(`const bl = ${readExpr(blockLengthPrimitive(g), 'b', `p + ${g.blockLengthOffset}`)};`);
    w.line(`const n = ${readExpr(g.countPrimitive, 'b', `p + ${g.countOffset}`)};`);
    w.line(`p += ${g.dimension.size};`);
    if (isFlat(g)) {
      w.line('return p + bl * n;');
      return;
    }
    w.block('for (let i = 0; i < n; i++)', () => {
      w.line('p += bl;');
      for (const child of g.groups) w.line(`p = skip_${groupContext(ctx, child).key}(b, p);`);
      for (const d of g.data) w.line(`p += ${PRIMITIVE_SIZE[d.lengthPrimitive]} + ${readExpr(d.lengthPrimitive, 'b', 'p')};`);
    });
    w.line('return p;');
  });
  w.line();
}

/** Outer-block exponents a group caches at reset(): field name, owner reference, offset, and whether the owner holds it in a slot. */
function outerExponents(ctx: BlockContext): { name: string; ref: string; offset: number; eager: boolean; nullable: boolean }[] {
  const seen = new Map<string, { name: string; ref: string; offset: number; eager: boolean; nullable: boolean }>();
  for (const f of ctx.block.fields) {
    if (f.exponentField === undefined) continue;
    const { depth, field } = findExponent(ctx, f);
    if (depth === 0 || seen.has(field.name)) continue;
    const nullable = field.presence === 'optional' || field.sinceVersion > 0;
    seen.set(field.name, { name: field.name, ref: `this${'.parent'.repeat(depth)}`, offset: field.offset, eager: isEager(field), nullable });
  }
  return [...seen.values()];
}

/** The public read side every decoder ends with: field getters, nested group accessors, var data, toObject(). */
function emitBlockReaders(w: CodeWriter, ctx: BlockContext, schema: Schema): void {
  for (const f of ctx.block.fields) emitFieldGetters(w, ctx, f, schema);
  for (const g of ctx.block.groups) {
    const child = groupContext(ctx, g);
    const how = primedByValidator(child) ? '_rewind()' : `reset(this._pos_${g.name})`;
    w.block(`${accessorName(g.name)}(): ${child.decoder}`, () => w.line(`return this._g_${g.name}.${how};`));
  }
  for (const d of ctx.block.data) emitDataGetters(w, d);
  emitToObject(w, ctx);
}

export function emitMessageDecoder(w: CodeWriter, ctx: BlockContext, schema: Schema, headerSize: number): void {
  const m = ctx.block as Message;
  w.doc(m.description ?? `Flyweight decoder for ${m.name} (template ${m.id}).`);
  w.block(`export class ${ctx.decoder} implements DecodeFailure`, () => {
    w.line(`static readonly TEMPLATE_ID = ${m.id};`);
    w.line(`static readonly BLOCK_LENGTH = ${m.blockLength};`);
    w.line(`static readonly SCHEMA_ID = ${schema.id};`);
    w.line(`static readonly SCHEMA_VERSION = ${schema.version};`);
    w.line('buffer: Uint8Array = NULL_FRAME;');
    w.line("/** DataView over the buffer's ArrayBuffer; field i of the frame is at viewBase + i. */");
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
    for (const g of m.groups) w.line(`${primedByValidator(groupContext(ctx, g)) ? '/** @internal */' : 'private'} readonly _g_${g.name} = new ${groupContext(ctx, g).decoder}(this, this);`);
    emitComposites(w, m.fields, false);
    w.line();
    w.doc('Wraps a frame that starts with the message header; validates it completely. Never throws.');
    w.block('wrap(buffer: Uint8Array, offset = 0, length = buffer.length - offset): DecodeStatus', () => {
      w.line('this.offset = offset;');
      w.block('if (!((offset >>> 0) === offset && (length >>> 0) === length && offset + length <= buffer.length))', () => {
        w.line(`this._fail(${statusLiteral('InvalidArgument')}, '${m.name}', offset);`);
        w.line('return this.status;');
      });
      w.block(`if (length < ${headerSize})`, () => {
        w.line(`this._fail(${statusLiteral('Truncated')}, '${m.name}.header', offset);`);
        w.line('return this.status;');
      });
      w.block(`if (readU16(buffer, offset + 4) !== ${schema.id})`, () => {
        w.line(`this._fail(${statusLiteral('SchemaIdMismatch')}, '${m.name}.header.schemaId', offset + 4);`);
        w.line('return this.status;');
      });
      w.block(`if (readU16(buffer, offset + 2) !== ${m.id})`, () => {
        w.line(`this._fail(${statusLiteral('TemplateMismatch')}, '${m.name}.header.templateId', offset + 2);`);
        w.line('return this.status;');
      });
      w.line('return this.wrapBody(buffer, offset, offset + length, readU16(buffer, offset), readU16(buffer, offset + 6));');
    });
    w.doc('Wraps after a dispatcher has read (and checked) the header at headerOffset; limit is absolute.');
    w.block('wrapBody(buffer: Uint8Array, headerOffset: number, limit: number, blockLength: number, version: number): DecodeStatus', () => {
      w.line('this.buffer = buffer;');
      w.line('this.offset = headerOffset;');
      w.line(`this.base = headerOffset + ${headerSize};`);
      w.line('this.limit = limit;');
      w.line('this.actingBlockLength = blockLength;');
      w.line('this.actingVersion = version;');
      w.block(`if (blockLength < ${minBlockLengthExpr(m, 'version')})`, () => {
        w.line(`this._fail(${statusLiteral('BlockLengthTooSmall')}, '${m.name}.header.blockLength', headerOffset);`);
        w.line('return this.status;');
      });
      w.block('if (this.base + blockLength > limit)', () => {
        w.line(`this._fail(${statusLiteral('Truncated')}, '${m.name}', this.base);`);
        w.line('return this.status;');
      });
      w.line(`const end = validate_${ctx.key}(this, buffer, this.base, limit, version);`);
      w.line('if (end < 0) return this.status;');
      if (m.fields.some(isEager)) w.line('if (this._load(buffer, this.base) < 0) return this.status;');
      w.line('this.encodedLength = end - headerOffset;');
      w.line(`this.status = ${statusLiteral('Ok')};`);
      w.line(`return ${statusLiteral('Ok')};`);
    });
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
      for (const g of m.groups) if (primedByValidator(groupContext(ctx, g))) w.line(`this._g_${g.name}._prime(0, 0, 0, 0);`);
      for (const d of m.data) w.line(`this._pos_${d.name} = 0;`);
      if (m.fields.some(isEager)) w.line('this._load(NULL_FRAME, 0);');
      w.line('return -1;');
    });
    emitLoad(w, ctx);
    w.doc('The failure as a typed error object (allocates; for the error path only).');
    w.block('error(): DecodeError | undefined', () => {
      w.line('return this.status === DecodeStatus.Ok ? undefined : new DecodeError(this);');
    });
    emitBlockReaders(w, ctx, schema);
  });
  w.line();
}

/** The outer exponents a group cursor copies (or re-reads) when it is positioned on a frame's group. */
function emitExponentCopies(w: CodeWriter, ctx: BlockContext): void {
  for (const e of outerExponents(ctx)) {
    if (e.eager) {
      // The owner decoded the exponent and its scale factors when it loaded its block (wrap()
      // or next()): copying three slots keeps reset() small enough for V8 to inline into the
      // caller, where re-reading the byte and recomputing the factors did not fit.
      w.line(`this._exp_${e.name} = ${e.ref}._f_${e.name}${e.nullable ? ' ?? 0' : ''};`);
      w.line(`this._mul_${e.name} = ${e.ref}._mul_${e.name};`);
      w.line(`this._div_${e.name} = ${e.ref}._div_${e.name};`);
      continue;
    }
    w.line(`const e_${e.name} = readI8(b, ${e.ref}.base + ${e.offset});`);
    w.block(`if (e_${e.name} !== this._exp_${e.name})`, () => {
      w.line(`this._exp_${e.name} = e_${e.name};`);
      w.line(`this._mul_${e.name} = decimalMultiplier(e_${e.name});`);
      w.line(`this._div_${e.name} = decimalDivisor(e_${e.name});`);
    });
  }
}

/** index and next() of a position-iterated group: `step` emits next()'s body up to its `return true`. */
function emitPositionCursor(w: CodeWriter, index: string, step: () => void): void {
  w.doc('Position of the current entry (-1 before the first next()).');
  w.block('get index(): number', () => w.line(`return ${index};`));
  w.doc('Advances to the next entry; false when the group is exhausted.');
  w.block('next(): boolean', () => {
    step();
    w.line('return true;');
  });
}

export function emitGroupDecoder(w: CodeWriter, ctx: BlockContext, schema: Schema): void {
  const g = ctx.block as Group;
  const parentCls = ctx.parent!.decoder;
  const rootCls = ctx.root.decoder;
  w.doc(`Iterates the ${g.name} group of ${ctx.path.split('.').slice(0, -1).join('.')}: call next() before reading each entry.`);
  w.block(`export class ${ctx.decoder}`, () => {
    w.line(`static readonly BLOCK_LENGTH = ${g.blockLength};`);
    const viaView = groupUsesView(ctx);
    w.line('buffer: Uint8Array = NULL_FRAME;');
    if (!viaView) {
      w.line('/** Offset of the current entry. */');
      w.line('base = 0;');
    }
    w.line('count = 0;');
    if (!byPosition(g)) w.line('index = -1;');
    w.line('blockLength = 0;');
    w.line('private start = 0;');
    if (viaView) {
      // The cursor is the entry's index in the DataView (viewBase + offset): next() is one add,
      // one compare and the field reads, small enough for V8 to inline into the caller's loop.
      w.line('/** DataView index of the current entry (viewBase + its offset). */');
      w.line('private x = 0;');
      w.line('/** DataView index one past the last entry. */');
      w.line('private endX = 0;');
      w.line('private view: DataView<ArrayBufferLike> = NULL_VIEW;');
      w.line('private viewBase = 0;');
      if (primedByValidator(ctx)) {
        w.line('/** x and endX of this frame, from the validator. */');
        w.line('private first = 0;');
        w.line('private last = 0;');
      }
    } else {
      w.line('private nextBase = 0;');
      if (byPosition(g)) w.line('private end = 0;');
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
    for (const c of g.groups) w.line(`private readonly _g_${c.name}: ${groupContext(ctx, c).decoder};`);
    emitComposites(w, g.fields, false);
    w.line();
    w.block(`constructor(readonly msg: ${rootCls}, readonly parent: ${parentCls})`, () => {
      for (const c of g.groups) w.line(`this._g_${c.name} = new ${groupContext(ctx, c).decoder}(msg, this);`);
    });
    w.doc('Positions at the group header at pos (-1: the group is absent in this version).');
    w.block('reset(pos: number): this', () => {
      w.line('const b = this.msg.buffer;');
      w.line('this.buffer = b;');
      if (!byPosition(g)) w.line('this.index = -1;');

      emitExponentCopies(w, ctx);
      w.block('if (pos < 0)', () => {
        w.line('this.count = 0;');
        if (viaView) w.line('this.start = this.x = this.endX = this.viewBase = 0;');
        else if (byPosition(g)) w.line('this.nextBase = this.end = this.start = 0;');
        w.line('return this;');
      });
      w.line(`this.blockLength = ${readExpr(blockLengthPrimitive(g), 'b', `pos + ${g.blockLengthOffset}`)};`);
      w.line(`this.count = ${readExpr(g.countPrimitive, 'b', `pos + ${g.countOffset}`)};`);
      w.line(`this.start = pos + ${g.dimension.size};`);
      if (viaView) {
        // An Ok wrap() validated this group's entries through the message's view, so it is
        // current (a failed one left NULL_VIEW with the all-zero frame); a group without checks
        // looks it up.
        w.line(`this.view = this.msg.${hasFieldChecks(g.fields) ? 'view' : '_view()'};`);
        w.line('this.viewBase = this.msg.viewBase;');
        w.line('this.x = this.viewBase + this.start - this.blockLength;');
        w.line('this.endX = this.viewBase + this.start + this.count * this.blockLength;');
      } else {
        w.line('this.nextBase = this.start;');
        if (byPosition(g)) w.line('this.end = this.start + this.count * this.blockLength;');
      }
      w.line('return this;');
    });
    if (primedByValidator(ctx)) {
      w.doc('Set by the validator for the frame it has just passed (zeros after a failure): where the entries are.');
      w.block('_prime(start: number, blockLength: number, count: number, viewBase: number): void', () => {
        w.line('this.start = start;');
        w.line('this.blockLength = blockLength;');
        w.line('this.count = count;');
        w.line('this.first = viewBase + start - blockLength;');
        w.line('this.last = viewBase + start + count * blockLength;');
      });
      w.doc("Before the first entry of this frame's group, as the validator left it (reads no bytes).");
      w.block('_rewind(): this', () => {
        w.line('const b = this.msg.buffer;');
        w.line('this.buffer = b;');
        emitExponentCopies(w, ctx);
        w.line('this.view = this.msg.view;');
        w.line('this.viewBase = this.msg.viewBase;');
        w.line('this.x = this.first;');
        w.line('this.endX = this.last;');
        w.line('return this;');
      });
    }
    if (viaView) {
      w.doc('Offset of the current entry.');
      w.block('get base(): number', () => w.line('return this.x - this.viewBase;'));
      emitPositionCursor(w, 'this.count === 0 ? -1 : (this.x - this.viewBase - this.start) / this.blockLength', () => {
        w.line('const x = this.x + this.blockLength;');
        w.line('if (x >= this.endX) return false;');
        w.line('this.x = x;');
        emitViewLoads(w, ctx, 'x');
      });
    } else if (byPosition(g)) {
      emitPositionCursor(w, 'this.nextBase === this.start ? -1 : (this.base - this.start) / this.blockLength', () => {
        w.line('const p = this.nextBase;');
        w.line('if (p >= this.end) return false;');
        w.line('this.base = p;');
        w.line('this.nextBase = p + this.blockLength;');
        if (g.fields.some(isEager)) w.line('this._load(this.buffer, p);');
      });
    } else
      w.block('next(): boolean', () => {
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
            w.line(`q = skip_${groupContext(ctx, c).key}(this.buffer, q);`);
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
        if (viaView) {
          w.line('this.x = this.viewBase + this.start + (i - 1) * this.blockLength;');
          w.line('this.next();');
          w.line('return this;');
          return;
        }
        if (!byPosition(g)) w.line('this.index = i;');
        w.line('this.base = this.start + i * this.blockLength;');
        w.line('this.nextBase = this.base + this.blockLength;');
        if (g.fields.some(isEager)) w.line('this._load(this.buffer, this.base);');
        w.line('return this;');
      });
    }
    if (viaView) emitIndexedGetters(w, ctx);
    else emitLoad(w, ctx);
    emitBlockReaders(w, ctx, schema);
  });
  w.line();
}
