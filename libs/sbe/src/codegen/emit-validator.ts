/**
 * Emits the validate_* functions of a message and its groups: the checks
 * wrap() runs once over the whole frame (lengths, counts, var data, int64
 * range, enum values) so that the decoder's getters need none. Separate
 * because these are module-level functions over raw bytes, not members of
 * a decoder class.
 */
import { PRIMITIVE_SIZE, isFlat, type DataField, type Field, type Group, type Message } from './ir.ts';
import { inlineReadExpr, is64, readExpr, viewReadExpr } from './primitives.ts';
import { enumValidTest } from './emit-types.ts';
import type { CodeWriter } from './writer.ts';
import { blockLengthPrimitive, groupContext, groupUsesView, minBlockLengthExpr, statusLiteral, type BlockContext } from './block-context.ts';

/** A required int64 field of this version: its range test can be merged with its neighbours'. */
function isPlainInt64(f: Field): boolean {
  return f.presence === 'required' && f.sinceVersion === 0 && f.type.kind === 'type' && f.type.length === 1 && f.type.primitive === 'int64';
}

/**
 * Consecutive required int64 fields of a large group's entry are range-tested with one branch
 * (the OR of their tests); only a failing entry tests them one by one, in field order, so the
 * error names the same field as before. One branch per entry instead of one per field measured
 * ~4 % faster on depth diffs (46 levels, two int64s each).
 */
function emitMergedInt64Checks(w: CodeWriter, run: Field[], base: string, view: string, pathPrefix: string): void {
  const top = (f: Field): string => `dv.getInt16(${view} + ${f.offset + 6}, true)`;
  w.block(`if ((${run.map((f) => `((${top(f)} >> 5) + 1)`).join(' | ')}) >>> 1 !== 0)`, () => {
    run.forEach((f, i) => {
      const fail = `return d._fail(${statusLiteral('Int64OutOfRange')}, '${pathPrefix}.${f.name}', ${base} + ${f.offset});`;
      w.line(i < run.length - 1 ? `if (((${top(f)} >> 5) + 1) >>> 1 !== 0) ${fail}` : fail);
    });
  });
}

/**
 * The checks of a block at frame offset `base`. With `view` (the block's DataView index, `dv` in
 * scope), int64 ranges are read through the DataView; error offsets stay frame offsets. A `sweep`
 * (view only) fails nothing: it ORs every required int64's range term into `bad` and sets `bad = 2`
 * for any other failed check, so the loop over a group's entries has no branch per int64.
 */
function emitFieldChecks(w: CodeWriter, ctx: BlockContext, fields: Field[], base: string, pathPrefix: string, skipInt64 = false, view?: string, sweep = false): void {
  const fail = (status: Parameters<typeof statusLiteral>[0], what: string, at: string): string => (sweep ? 'bad = 2;' : `return d._fail(${statusLiteral(status)}, ${what}, ${at});`);
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!;
    if (f.presence === 'constant') continue;
    if (view !== undefined && !skipInt64 && isPlainInt64(f)) {
      let end = k + 1;
      while (end < fields.length && isPlainInt64(fields[end]!)) end++;
      if (sweep) {
        w.line(
          `bad |= ${fields
            .slice(k, end)
            .map((r) => `((dv.getInt16(${view} + ${r.offset + 6}, true) >> 5) + 1)`)
            .join(' | ')};`,
        );
        k = end - 1;
        continue;
      }
      if (end - k >= 2) {
        emitMergedInt64Checks(w, fields.slice(k, end), base, view, pathPrefix);
        k = end - 1;
        continue;
      }
    }
    if (skipInt64 && f.type.kind === 'type' && f.type.length === 1 && is64(f.type.primitive)) continue;
    const at = `${base} + ${f.offset}`;
    const what = `'${pathPrefix}.${f.name}'`;
    const body = (): void => {
      const t = f.type;
      if (t.kind === 'type' && t.length === 1 && is64(t.primitive)) {
        // The top 16 bits decide whether the value fits 2^53 (see isSafeI64), read in place.
        const top =
          view !== undefined
            ? `dv.${t.primitive === 'int64' ? 'getInt16' : 'getUint16'}(${view} + ${f.offset + 6}, true)`
            : inlineReadExpr(t.primitive === 'int64' ? 'int16' : 'uint16', 'b', `(${at})`, 6);
        const unsafe = t.primitive === 'int64' ? `((${top} >> 5) + 1) >>> 1 !== 0` : `${top} >>> 5 !== 0`;
        const isNull = t.primitive === 'int64' ? 'isI64Null' : 'isU64Null';
        const cond = f.presence === 'optional' ? `${unsafe} && !${isNull}(b, ${at})` : unsafe;
        w.line(`if (${cond}) ${fail('Int64OutOfRange', what, at)}`);
      } else if (t.kind === 'enum') {
        w.block('', () => {
          w.line(`const e = ${view !== undefined ? viewReadExpr(t.encoding, 'dv', view, f.offset) : readExpr(t.encoding, 'b', at)};`);
          w.line(`if (!(${enumValidTest(t, 'e', f.presence === 'optional')})) ${fail('InvalidEnumValue', what, at)}`);
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
        emitFieldChecks(w, ctx, members, base, `${pathPrefix}.${f.name}`, false, view, sweep);
      }
    };
    if (f.sinceVersion > 0) w.block(`if (v >= ${f.sinceVersion})`, body);
    else body();
  }
}

export function hasFieldChecks(fields: Field[]): boolean {
  return fields.some((f) => {
    if (f.presence === 'constant') return false;
    const t = f.type;
    if (t.kind === 'type') return t.length === 1 && is64(t.primitive);
    if (t.kind === 'enum') return true;
    if (t.kind === 'composite') {
      return hasFieldChecks(t.members.map((m) => ({ name: m.name, id: 0, type: m.type, offset: 0, size: 0, presence: 'required', sinceVersion: 0 })));
    }
    return false;
  });
}

function emitDataCheck(w: CodeWriter, ctx: BlockContext, d: DataField, store: boolean): void {
  const lenSize = PRIMITIVE_SIZE[d.lengthPrimitive];
  const what = `'${ctx.path}.${d.name}'`;
  const body = (): void => {
    if (store) w.line(`d._pos_${d.name} = p;`);
    w.line(`if (p + ${lenSize} > limit) return d._fail(${statusLiteral('Truncated')}, ${what}, p);`);
    w.line(`const n_${d.name} = ${readExpr(d.lengthPrimitive, 'b', 'p')};`);
    w.line(`if (n_${d.name} > ${d.lengthMax} || n_${d.name} > limits.maxVarDataLength || p + ${lenSize} + n_${d.name} > limit) return d._fail(${statusLiteral('VarDataTooLong')}, ${what}, p);`);
    w.line(`p += ${lenSize} + n_${d.name};`);
  };
  if (d.sinceVersion > 0) {
    w.block(`if (v >= ${d.sinceVersion})`, body, store ? `} else d._pos_${d.name} = -1;` : '}');
  } else body();
}

/**
 * True when wrap() of this message always looks up the DataView (a flat group of every version
 * whose entries have checks): its root block can then be read through the view too, at no
 * lookup cost.
 */
export function validatorUsesView(m: Message): boolean {
  return m.groups.some((g) => g.sinceVersion === 0 && isFlat(g) && hasFieldChecks(g.fields));
}

/**
 * A message-level group of every version whose entries the validator sweeps through the view and
 * whose cursor reads through it: the validator hands the cursor its count, block length and view
 * positions (`_prime`), so the message's accessor only rewinds it instead of re-reading the group
 * header (~5 ns a group).
 */
export function primedByValidator(ctx: BlockContext): boolean {
  const g = ctx.block as Group;
  return !ctx.isMessage && ctx.parent!.isMessage && g.sinceVersion === 0 && isFlat(g) && hasFieldChecks(g.fields) && groupUsesView(ctx);
}

export function emitGroupValidator(w: CodeWriter, ctx: BlockContext, rootDecoder: string): void {
  const g = ctx.block as Group;
  const dim = g.dimension.size;
  const what = `'${ctx.path}'`;
  w.block(`function validate_${ctx.key}(d: ${rootDecoder}, b: Uint8Array, p: number, limit: number, v: number): number`, () => {
    w.line(`if (p + ${dim} > limit) return d._fail(${statusLiteral('Truncated')}, ${what}, p);`);
    w.line(`const bl = ${readExpr(blockLengthPrimitive(g), 'b', `p + ${g.blockLengthOffset}`)};`);
    w.line(`const n = ${readExpr(g.countPrimitive, 'b', `p + ${g.countOffset}`)};`);
    w.line(`if (n > ${g.countMax} || n > limits.maxGroupEntries) return d._fail(${statusLiteral('GroupCountTooLarge')}, ${what}, p + ${g.countOffset});`);
    w.line(`if (bl < ${minBlockLengthExpr(g, 'v')}) return d._fail(${statusLiteral('GroupBlockLengthTooSmall')}, ${what}, p + ${g.blockLengthOffset});`);
    w.line(`p += ${dim};`);
    const checks = hasFieldChecks(g.fields);
    if (isFlat(g)) {
      w.line(`if (p + bl * n > limit) return d._fail(${statusLiteral('Truncated')}, ${what}, p);`);
      if (checks) {
        // Through the DataView whatever the count: one read per int64 instead of two byte reads,
        // and one loop (a byte-read twin for small groups made the validator and the cursor too
        // big for V8 to inline; the view lookup is shared with the cursor and the root block).
        // The loop steps the entry's DataView index alone; an error converts it back to an offset.
        w.line('const dv = d._view();');
        w.line('const vb = d.viewBase;');
        const loop = 'for (let x = vb + p, end = x + bl * n; x < end; x += bl)';
        // One sweep ORs the entries' range terms (valid ones are 0 or 1); only a frame with a bad
        // entry walks them again test by test, in field order, so the error names the same field
        // and offset as a check entry by entry (5-6 % faster on depth diffs than a branch per entry).
        w.line('let bad = 0;');
        w.block(loop, () => emitFieldChecks(w, ctx, g.fields, 'x - vb', ctx.path, false, 'x', true));
        w.block('if (bad >>> 1 !== 0)', () => {
          w.block(loop, () => emitFieldChecks(w, ctx, g.fields, 'x - vb', ctx.path, false, 'x'));
        });
        if (primedByValidator(ctx)) w.line(`d._g_${g.name}._prime(p, bl, n, vb);`);
        w.line('return p + bl * n;');
      } else w.line('return p + bl * n;');
      return;
    }
    w.block('for (let i = 0; i < n; i++)', () => {
      w.line(`if (p + bl > limit) return d._fail(${statusLiteral('Truncated')}, ${what}, p);`);
      emitFieldChecks(w, ctx, g.fields, 'p', ctx.path);
      w.line('p += bl;');
      for (const child of g.groups) {
        const cc = groupContext(ctx, child);
        if (child.sinceVersion > 0) w.line(`if (v >= ${child.sinceVersion}) p = validate_${cc.key}(d, b, p, limit, v);`);
        else w.line(`p = validate_${cc.key}(d, b, p, limit, v);`);
        w.line('if (p < 0) return -1;');
      }
      for (const data of g.data) emitDataCheck(w, ctx, data, false);
    });
    w.line('return p;');
  });
  w.line();
}

export function emitMessageValidator(w: CodeWriter, ctx: BlockContext): void {
  const m = ctx.block;
  w.block(`function validate_${ctx.key}(d: ${ctx.decoder}, b: Uint8Array, p: number, limit: number, v: number): number`, () => {
    // Root int64 fields are range-checked by _load, which reads them anyway.
    emitFieldChecks(w, ctx, m.fields, 'p', ctx.path, true);
    w.line('p += d.actingBlockLength;');
    for (const g of m.groups) {
      const cc = groupContext(ctx, g);
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
