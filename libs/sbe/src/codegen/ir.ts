/**
 * Intermediate representation of an SBE schema with its layout resolved:
 * every field knows its offset and size, every block its length. The
 * emitters read only this, never the XML.
 */

export type Primitive = 'char' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float' | 'double';

export const PRIMITIVE_SIZE: Record<Primitive, number> = {
  char: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float: 4,
  double: 8,
};

export type Presence = 'required' | 'optional' | 'constant';

export interface EncodedType {
  kind: 'type';
  name: string;
  primitive: Primitive;
  /** Array length; 1 for a scalar. */
  length: number;
  presence: Presence;
  /** Raw null value as written in the schema, if overridden. */
  nullValue?: string;
  minValue?: string;
  maxValue?: string;
  characterEncoding?: string;
  /** Text content for presence="constant". */
  constValue?: string;
  sinceVersion: number;
  description?: string;
}

export interface EnumType {
  kind: 'enum';
  name: string;
  encoding: Primitive;
  values: { name: string; value: number; sinceVersion: number }[];
  sinceVersion: number;
}

export interface SetType {
  kind: 'set';
  name: string;
  encoding: Primitive;
  choices: { name: string; bit: number; sinceVersion: number }[];
  sinceVersion: number;
}

export interface CompositeMember {
  name: string;
  offset: number;
  type: EncodedType | EnumType | SetType | CompositeType;
}

export interface CompositeType {
  kind: 'composite';
  name: string;
  size: number;
  members: CompositeMember[];
  sinceVersion: number;
}

export type TypeDef = EncodedType | EnumType | SetType | CompositeType;

export interface Field {
  name: string;
  id: number;
  type: TypeDef;
  offset: number;
  /** Bytes on the wire (0 for constants). */
  size: number;
  presence: Presence;
  /** For constants referring to an enum value: "boolEnum.True". */
  valueRef?: string;
  sinceVersion: number;
  /** Binance's mbx:exponent: the name of the exponent field this mantissa scales by. */
  exponentField?: string;
}

export interface DataField {
  name: string;
  id: number;
  /** The var-data composite: a length primitive followed by the bytes. */
  lengthPrimitive: Primitive;
  lengthMax: number;
  characterEncoding?: string;
  sinceVersion: number;
}

export interface Block {
  name: string;
  blockLength: number;
  fields: Field[];
  groups: Group[];
  data: DataField[];
}

export interface Group extends Block {
  id: number;
  dimension: CompositeType;
  countPrimitive: Primitive;
  countOffset: number;
  blockLengthOffset: number;
  countMax: number;
  sinceVersion: number;
}

export interface Message extends Block {
  id: number;
  sinceVersion: number;
  description?: string;
}

export interface Schema {
  package: string;
  id: number;
  version: number;
  semanticVersion?: string;
  description?: string;
  byteOrder: 'littleEndian' | 'bigEndian';
  header: CompositeType;
  types: Map<string, TypeDef>;
  messages: Message[];
}

/** A block with fixed-size entries only: entries are reachable by index arithmetic. */
export function isFlat(block: Block): boolean {
  return block.groups.length === 0 && block.data.length === 0;
}
