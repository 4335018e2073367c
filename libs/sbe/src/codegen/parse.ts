/**
 * Reads SBE XML (FIX SBE 1.0 schema, with Binance's mbx:exponent extension)
 * into the layout-resolved IR. Anything the generator cannot represent is a
 * SchemaError naming the element, never a silently wrong layout.
 */
import { XMLParser } from 'fast-xml-parser';
import {
  PRIMITIVE_SIZE,
  type Block,
  type CompositeMember,
  type CompositeType,
  type DataField,
  type EncodedType,
  type EnumType,
  type Field,
  type Group,
  type Message,
  type Presence,
  type Primitive,
  type Schema,
  type SetType,
  type TypeDef,
} from './ir.ts';
import type { SbeErrorCode } from '../runtime/errors.ts';

/** A schema the generator cannot represent (or that is not valid SBE), naming the element. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  readonly code: SbeErrorCode = 'InvalidSchema';
}

interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

type RawNode = Record<string, unknown>;

function localName(tag: string): string {
  const i = tag.indexOf(':');
  return i < 0 ? tag : tag.slice(i + 1);
}

function toNodes(raw: unknown): XmlNode[] {
  if (!Array.isArray(raw)) return [];
  const out: XmlNode[] = [];
  for (const entry of raw as RawNode[]) {
    const attrsRaw = (entry[':@'] ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(entry)) {
      if (key === ':@' || key === '#text' || key.startsWith('?') || key === '#comment') continue;
      const attrs: Record<string, string> = {};
      for (const [k, v] of Object.entries(attrsRaw)) attrs[k.replace(/^@_/, '')] = String(v);
      const childrenRaw = entry[key];
      let text = '';
      if (Array.isArray(childrenRaw)) {
        for (const c of childrenRaw as RawNode[]) if ('#text' in c) text += String(c['#text']);
      }
      out.push({ tag: localName(key), attrs, children: toNodes(childrenRaw), text: text.trim() });
    }
  }
  return out;
}

const PRIMITIVES = new Set(Object.keys(PRIMITIVE_SIZE));

function isPrimitive(name: string): name is Primitive {
  return PRIMITIVES.has(name);
}

function int(attr: string | undefined, fallback: number, what: string): number {
  if (attr === undefined) return fallback;
  const v = Number(attr);
  if (!Number.isInteger(v)) throw new SchemaError(`${what}: expected an integer, got ${JSON.stringify(attr)}`);
  return v;
}

function presenceOf(attr: string | undefined, what: string): Presence {
  const p = attr ?? 'required';
  if (p !== 'required' && p !== 'optional' && p !== 'constant') throw new SchemaError(`${what}: unknown presence ${p}`);
  return p;
}

function typeSize(t: TypeDef): number {
  switch (t.kind) {
    case 'type':
      return t.presence === 'constant' ? 0 : PRIMITIVE_SIZE[t.primitive] * t.length;
    case 'enum':
    case 'set':
      return PRIMITIVE_SIZE[t.encoding];
    case 'composite':
      return t.size;
  }
}

/** Largest value a count/length primitive may carry, capped by maxValue when the schema sets one. */
function primitiveMax(p: Primitive, maxValue: string | undefined): number {
  const natural: Record<string, number> = {
    uint8: 0xff,
    uint16: 0xffff,
    uint32: 0xffffffff,
    int8: 0x7f,
    int16: 0x7fff,
    int32: 0x7fffffff,
  };
  const n = natural[p];
  if (n === undefined) throw new SchemaError(`count/length primitive must be an 8–32 bit integer, got ${p}`);
  return maxValue === undefined ? n : Math.min(n, Number(maxValue));
}

export function parseSchema(xml: string): Schema {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    preserveOrder: true,
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
    commentPropName: '#comment',
  });
  const doc = toNodes(parser.parse(xml));
  const root = doc.find((n) => n.tag === 'messageSchema');
  if (root === undefined) throw new SchemaError('no <messageSchema> root element');

  const byteOrder = root.attrs['byteOrder'] ?? 'littleEndian';
  if (byteOrder !== 'littleEndian') throw new SchemaError(`byteOrder ${byteOrder} is not supported (little-endian only)`);

  const types = new Map<string, TypeDef>();
  const typeNodes = root.children.filter((n) => n.tag === 'types').flatMap((n) => n.children);

  // Types may reference each other in any order; resolve lazily with cycle detection.
  const pending = new Map<string, XmlNode>();
  for (const n of typeNodes) {
    const name = n.attrs['name'];
    if (name === undefined) throw new SchemaError(`<${n.tag}> without a name`);
    if (pending.has(name)) throw new SchemaError(`type ${name} defined twice`);
    pending.set(name, n);
  }
  const resolving = new Set<string>();

  function resolve(name: string, where: string): TypeDef {
    const done = types.get(name);
    if (done !== undefined) return done;
    if (isPrimitive(name)) {
      return { kind: 'type', name, primitive: name, length: 1, presence: 'required', sinceVersion: 0 };
    }
    const node = pending.get(name);
    if (node === undefined) throw new SchemaError(`${where}: unknown type ${name}`);
    if (resolving.has(name)) throw new SchemaError(`type ${name} refers to itself`);
    resolving.add(name);
    const t = buildType(node);
    resolving.delete(name);
    types.set(name, t);
    return t;
  }

  function buildEncoded(n: XmlNode): EncodedType {
    const name = n.attrs['name']!;
    const prim = n.attrs['primitiveType'];
    if (prim === undefined || !isPrimitive(prim)) throw new SchemaError(`type ${name}: bad primitiveType ${prim}`);
    const t: EncodedType = {
      kind: 'type',
      name,
      primitive: prim,
      length: int(n.attrs['length'], 1, `type ${name} length`),
      presence: presenceOf(n.attrs['presence'], `type ${name}`),
      sinceVersion: int(n.attrs['sinceVersion'], 0, `type ${name} sinceVersion`),
    };
    if (n.attrs['nullValue'] !== undefined) t.nullValue = n.attrs['nullValue'];
    if (n.attrs['minValue'] !== undefined) t.minValue = n.attrs['minValue'];
    if (n.attrs['maxValue'] !== undefined) t.maxValue = n.attrs['maxValue'];
    if (n.attrs['characterEncoding'] !== undefined) t.characterEncoding = n.attrs['characterEncoding'];
    if (t.presence === 'constant') t.constValue = n.text;
    return t;
  }

  function encodingOf(n: XmlNode, what: string): Primitive {
    const enc = n.attrs['encodingType'];
    if (enc === undefined) throw new SchemaError(`${what}: missing encodingType`);
    if (isPrimitive(enc)) return enc;
    const t = resolve(enc, what);
    if (t.kind !== 'type' || t.length !== 1) throw new SchemaError(`${what}: encodingType ${enc} is not a scalar type`);
    return t.primitive;
  }

  function buildType(n: XmlNode): TypeDef {
    const name = n.attrs['name']!;
    const sinceVersion = int(n.attrs['sinceVersion'], 0, `${name} sinceVersion`);
    switch (n.tag) {
      case 'type':
        return buildEncoded(n);
      case 'enum': {
        const encoding = encodingOf(n, `enum ${name}`);
        const values = n.children
          .filter((c) => c.tag === 'validValue')
          .map((c) => {
            const raw = c.text;
            const value = encoding === 'char' ? raw.charCodeAt(0) : Number(raw);
            if (!Number.isInteger(value)) throw new SchemaError(`enum ${name}.${c.attrs['name']}: bad value ${raw}`);
            return { name: c.attrs['name']!, value, sinceVersion: int(c.attrs['sinceVersion'], 0, 'validValue') };
          });
        return { kind: 'enum', name, encoding, values, sinceVersion } satisfies EnumType;
      }
      case 'set': {
        const encoding = encodingOf(n, `set ${name}`);
        const choices = n.children
          .filter((c) => c.tag === 'choice')
          .map((c) => ({
            name: c.attrs['name']!,
            bit: int(c.text, -1, `set ${name} choice`),
            sinceVersion: int(c.attrs['sinceVersion'], 0, 'choice'),
          }));
        return { kind: 'set', name, encoding, choices, sinceVersion } satisfies SetType;
      }
      case 'composite': {
        const members: CompositeMember[] = [];
        let offset = 0;
        for (const c of n.children) {
          let t: TypeDef;
          if (c.tag === 'type') t = buildEncoded(c);
          else if (c.tag === 'ref') t = resolve(c.attrs['type'] ?? '', `composite ${name}.${c.attrs['name']}`);
          else if (c.tag === 'enum' || c.tag === 'set' || c.tag === 'composite') t = buildType(c);
          else continue;
          offset = int(c.attrs['offset'], offset, `composite ${name} member offset`);
          members.push({ name: c.attrs['name']!, offset, type: t });
          offset += typeSize(t);
        }
        return { kind: 'composite', name, size: offset, members, sinceVersion } satisfies CompositeType;
      }
      default:
        throw new SchemaError(`unsupported type element <${n.tag}> ${name}`);
    }
  }

  for (const name of pending.keys()) resolve(name, 'types');

  const headerName = root.attrs['headerType'] ?? 'messageHeader';
  const header = types.get(headerName);
  if (header === undefined || header.kind !== 'composite') throw new SchemaError(`header composite ${headerName} missing`);
  for (const m of ['blockLength', 'templateId', 'schemaId', 'version']) {
    const member = header.members.find((x) => x.name === m);
    if (member === undefined || member.type.kind !== 'type' || member.type.primitive !== 'uint16') {
      throw new SchemaError(`header ${headerName}.${m} must be uint16 (the only header layout supported)`);
    }
  }

  function buildField(n: XmlNode, owner: string, offset: number): Field {
    const name = n.attrs['name']!;
    const what = `${owner}.${name}`;
    const type = resolve(n.attrs['type'] ?? '', what);
    const typePresence = type.kind === 'type' ? type.presence : 'required';
    const presence = n.attrs['presence'] !== undefined ? presenceOf(n.attrs['presence'], what) : typePresence;
    const f: Field = {
      name,
      id: int(n.attrs['id'], 0, `${what} id`),
      type,
      offset: int(n.attrs['offset'], offset, `${what} offset`),
      size: presence === 'constant' ? 0 : typeSize(type),
      presence,
      sinceVersion: int(n.attrs['sinceVersion'], 0, `${what} sinceVersion`),
    };
    if (n.attrs['valueRef'] !== undefined) f.valueRef = n.attrs['valueRef'];
    if (n.attrs['mbx:exponent'] !== undefined) f.exponentField = n.attrs['mbx:exponent'];
    if (presence === 'constant' && f.valueRef === undefined && !(type.kind === 'type' && type.constValue !== undefined)) {
      throw new SchemaError(`${what}: constant without valueRef or value`);
    }
    return f;
  }

  function buildData(n: XmlNode, owner: string): DataField {
    const name = n.attrs['name']!;
    const what = `${owner}.${name}`;
    const type = resolve(n.attrs['type'] ?? '', what);
    if (type.kind !== 'composite') throw new SchemaError(`${what}: var data type must be a composite`);
    const length = type.members.find((m) => m.name === 'length');
    const varData = type.members.find((m) => m.name === 'varData');
    if (length === undefined || length.type.kind !== 'type' || varData === undefined || varData.type.kind !== 'type') {
      throw new SchemaError(`${what}: var data composite needs length and varData members`);
    }
    const d: DataField = {
      name,
      id: int(n.attrs['id'], 0, `${what} id`),
      lengthPrimitive: length.type.primitive,
      lengthMax: primitiveMax(length.type.primitive, length.type.maxValue),
      sinceVersion: int(n.attrs['sinceVersion'], 0, `${what} sinceVersion`),
    };
    if (varData.type.characterEncoding !== undefined) d.characterEncoding = varData.type.characterEncoding;
    return d;
  }

  function fillBlock(n: XmlNode, block: Block, owner: string): void {
    let offset = 0;
    let phase = 0; // fields, then groups, then data
    for (const c of n.children) {
      if (c.tag === 'field') {
        if (phase > 0) throw new SchemaError(`${owner}: field ${c.attrs['name']} after a group or data`);
        const f = buildField(c, owner, offset);
        block.fields.push(f);
        offset = f.offset + f.size;
      } else if (c.tag === 'group') {
        if (phase > 1) throw new SchemaError(`${owner}: group ${c.attrs['name']} after data`);
        phase = 1;
        block.groups.push(buildGroup(c, owner));
      } else if (c.tag === 'data') {
        phase = 2;
        block.data.push(buildData(c, owner));
      }
    }
    const explicit = n.attrs['blockLength'];
    block.blockLength = int(explicit, offset, `${owner} blockLength`);
    if (block.blockLength < offset) throw new SchemaError(`${owner}: blockLength ${block.blockLength} < fields ${offset}`);
  }

  function buildGroup(n: XmlNode, owner: string): Group {
    const name = n.attrs['name']!;
    const what = `${owner}.${name}`;
    const dimName = n.attrs['dimensionType'] ?? 'groupSizeEncoding';
    const dim = resolve(dimName, what);
    if (dim.kind !== 'composite') throw new SchemaError(`${what}: dimensionType ${dimName} is not a composite`);
    const bl = dim.members.find((m) => m.name === 'blockLength');
    const cnt = dim.members.find((m) => m.name === 'numInGroup');
    if (bl === undefined || bl.type.kind !== 'type' || cnt === undefined || cnt.type.kind !== 'type') {
      throw new SchemaError(`${what}: dimension ${dimName} needs blockLength and numInGroup`);
    }
    if (bl.type.primitive !== 'uint8' && bl.type.primitive !== 'uint16') {
      throw new SchemaError(`${what}: dimension blockLength must be uint8 or uint16`);
    }
    const g: Group = {
      name,
      id: int(n.attrs['id'], 0, `${what} id`),
      blockLength: 0,
      fields: [],
      groups: [],
      data: [],
      dimension: dim,
      countPrimitive: cnt.type.primitive,
      countOffset: cnt.offset,
      blockLengthOffset: bl.offset,
      countMax: primitiveMax(cnt.type.primitive, cnt.type.maxValue),
      sinceVersion: int(n.attrs['sinceVersion'], 0, `${what} sinceVersion`),
    };
    fillBlock(n, g, what);
    return g;
  }

  const messages: Message[] = [];
  for (const n of root.children.filter((c) => c.tag === 'message')) {
    const name = n.attrs['name'];
    if (name === undefined) throw new SchemaError('<message> without a name');
    const m: Message = {
      name,
      id: int(n.attrs['id'], -1, `message ${name} id`),
      blockLength: 0,
      fields: [],
      groups: [],
      data: [],
      sinceVersion: int(n.attrs['sinceVersion'], 0, `message ${name} sinceVersion`),
    };
    if (n.attrs['description'] !== undefined) m.description = n.attrs['description'];
    fillBlock(n, m, name);
    if (messages.some((x) => x.id === m.id)) throw new SchemaError(`message id ${m.id} used twice`);
    messages.push(m);
  }

  for (const m of messages) checkExponents(m, []);

  const schema: Schema = {
    package: root.attrs['package'] ?? 'sbe',
    id: int(root.attrs['id'], 0, 'schema id'),
    version: int(root.attrs['version'], 0, 'schema version'),
    byteOrder: 'littleEndian',
    header,
    types,
    messages,
  };
  if (root.attrs['semanticVersion'] !== undefined) schema.semanticVersion = root.attrs['semanticVersion'];
  if (root.attrs['description'] !== undefined) schema.description = root.attrs['description'];
  return schema;
}

/** mbx:exponent must name an int8 field of this block or an enclosing one, placed before the mantissa. */
function checkExponents(block: Block, outer: Block[]): void {
  for (const f of block.fields) {
    if (f.exponentField === undefined) continue;
    const scope = [block, ...outer.slice().reverse()];
    const target = scope.map((b) => b.fields.find((x) => x.name === f.exponentField)).find((x) => x !== undefined);
    if (target === undefined || target.type.kind !== 'type' || target.type.primitive !== 'int8') {
      throw new SchemaError(`${block.name}.${f.name}: mbx:exponent ${f.exponentField} is not an int8 field in scope`);
    }
    const mantissa = f.type;
    const ok =
      mantissa.kind === 'type' && ((mantissa.length === 1 && (mantissa.primitive === 'int64' || mantissa.primitive === 'int32')) || (mantissa.primitive === 'uint8' && mantissa.length === 16));
    if (!ok) throw new SchemaError(`${block.name}.${f.name}: mbx:exponent on an unsupported mantissa type`);
  }
  for (const g of block.groups) checkExponents(g, [...outer, block]);
}
