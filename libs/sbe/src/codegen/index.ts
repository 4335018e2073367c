export { parseSchema, SchemaError } from './parse.ts';
export { generateSchema, type GeneratedFile, type GenerateOptions } from './emit-schema.ts';
export type * from './ir.ts';
