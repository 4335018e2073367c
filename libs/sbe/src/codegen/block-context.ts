/**
 * The context every emitter of a message shares: which block (message or
 * group) is being emitted, the class names of its decoder and encoder, its
 * path for error messages, and the layout facts (decimal exponents, eager
 * fields, block lengths) that more than one emitted artifact depends on.
 * Separate so that the validator, decoder and encoder emitters agree on
 * names and layout without depending on one another.
 */
import { isFlat, type Block, type Field, type Group, type Message, type Primitive } from './ir.ts';
import { pascal } from './names.ts';
import { compositeDecoderName, compositeEncoderName } from './emit-types.ts';
import type { CodeWriter } from './writer.ts';
import { DecodeStatus } from '../runtime/status.ts';

/** A status as a literal: a module-level constant from another module would cost a load per check. */
export function statusLiteral(name: keyof typeof DecodeStatus): string {
  return `${DecodeStatus[name]} /* ${name} */`;
}

export interface BlockContext {
  /** The message or group being emitted. */
  block: Block;
  /** Dotted path for error messages, e.g. DepthSnapshot.bids. */
  path: string;
  decoder: string;
  encoder: string;
  /** Key used for generated module-level function names. */
  key: string;
  parent: BlockContext | undefined;
  root: BlockContext;
  isMessage: boolean;
}

export function groupContext(parent: BlockContext, g: Group): BlockContext {
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

export function messageContext(m: Message): BlockContext {
  const ctx = {
    block: m,
    path: m.name,
    decoder: `${pascal(m.name)}Decoder`,
    encoder: `${pascal(m.name)}Encoder`,
    key: pascal(m.name),
    parent: undefined,
    isMessage: true,
  } as Omit<BlockContext, 'root'> as BlockContext;
  ctx.root = ctx;
  return ctx;
}

export function allContexts(ctx: BlockContext): BlockContext[] {
  return [ctx, ...ctx.block.groups.flatMap((g) => allContexts(groupContext(ctx, g)))];
}

export const versionOf = (ctx: BlockContext): string => (ctx.isMessage ? 'this.actingVersion' : 'this.msg.actingVersion');

/** Bytes the fields of a block occupy for a given acting version. */
export function minBlockLengthExpr(block: Block, v: string): string {
  const end = (max: number): number => block.fields.filter((f) => f.sinceVersion <= max).reduce((acc, f) => Math.max(acc, f.offset + f.size), 0);
  const versions = [...new Set(block.fields.map((f) => f.sinceVersion))].sort((a, b) => b - a);
  if (versions.length <= 1 || versions.every((x) => x === 0)) return String(end(Number.MAX_SAFE_INTEGER));
  const parts = versions.filter((x) => x > 0).map((x) => `${v} >= ${x} ? ${end(x)} : `);
  return `(${parts.join('')}${end(0)})`;
}

export function isDecimal(f: Field): boolean {
  return f.exponentField !== undefined;
}

/** Where the exponent scaling decimal field `f` lives: its block (0 = this block) and field. */
export function findExponent(ctx: BlockContext, f: Field): { depth: number; field: Field } {
  let owner: BlockContext | undefined = ctx;
  let depth = 0;
  while (owner !== undefined) {
    const e = owner.block.fields.find((x) => x.name === f.exponentField);
    if (e !== undefined) return { depth, field: e };
    owner = owner.parent;
    depth++;
  }
  throw new Error(`exponent ${f.exponentField} not found for ${ctx.path}.${f.name}`);
}

/** Flat groups with a non-empty entry iterate by position: entry i is at start + i * blockLength. */
export function byPosition(g: Group): boolean {
  return isFlat(g) && g.blockLength > 0;
}

/** Fields decoded eagerly into number slots: scalars, enums and sets. */
export function isEager(f: Field): boolean {
  if (f.presence === 'constant') return false;
  const t = f.type;
  return t.kind === 'enum' || t.kind === 'set' || (t.kind === 'type' && t.length === 1);
}

/** The primitive a non-constant eager field is stored as on the wire. */
export function eagerPrimitive(f: Field): Primitive {
  const t = f.type;
  return t.kind === 'type' ? t.primitive : t.kind === 'enum' || t.kind === 'set' ? t.encoding : 'uint8';
}

/** The primitive of a group's blockLength (parse.ts allows uint8 and uint16 only). */
export function blockLengthPrimitive(g: Group): Primitive {
  return (g.dimension.members.find((m) => m.name === 'blockLength')!.type as { primitive: Primitive }).primitive;
}

/** The flyweights a decoder or encoder keeps for its composite fields. */
export function emitComposites(w: CodeWriter, fields: Field[], encoder: boolean): void {
  for (const f of fields) {
    if (f.type.kind === 'composite' && f.presence !== 'constant') {
      const cls = encoder ? compositeEncoderName(f.type) : compositeDecoderName(f.type);
      w.line(`private readonly _c_${f.name} = new ${cls}();`);
    }
  }
}

/**
 * Scalars read through the message's DataView: one bounds check and one load
 * per field instead of one per byte. Optional and versioned fields keep the
 * byte path (their null and version handling needs the raw bytes).
 */
export function viewable(f: Field): boolean {
  return isEager(f) && f.presence === 'required' && f.sinceVersion === 0;
}

/** Position-iterated groups whose scalars are all viewable are read through the DataView, whatever their count. */
export function groupUsesView(ctx: BlockContext): boolean {
  const g = ctx.block as Group;
  return !ctx.isMessage && byPosition(g) && g.fields.some(isEager) && g.fields.filter(isEager).every(viewable);
}
