/** Naming rules shared by the emitters, so decoders and encoders agree on every identifier. */

export function pascal(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
  return cleaned.charAt(0).toUpperCase() + cleaned.slice(1);
}

export function camel(name: string): string {
  const p = pascal(name);
  return p.charAt(0).toLowerCase() + p.slice(1);
}

/** Members every generated block class owns; a schema field with one of these names gets a `Field` suffix. */
const RESERVED = new Set([
  'wrap',
  'wrapBody',
  'wrapAndApplyHeader',
  'status',
  'errorField',
  'errorOffset',
  'encodedLength',
  'actingVersion',
  'actingBlockLength',
  'buffer',
  'offset',
  'limit',
  'base',
  'capacity',
  'count',
  'index',
  'blockLength',
  'next',
  'at',
  'reset',
  'begin',
  'msg',
  'parent',
  'toObject',
  'error',
  'constructor',
]);

export function accessorName(fieldName: string): string {
  const n = camel(fieldName);
  return RESERVED.has(n) ? `${n}Field` : n;
}
