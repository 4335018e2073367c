/**
 * Every `code` a @hotpath/sbe error carries (docs/errors.md: what each means
 * and what an operator does; test/errors.test.ts keeps the two in step).
 * These keep the SBE names: a DecodeError's code is its DecodeStatus name, which
 * is also the `reason` label of ingestor_sbe_decode_errors_total; VarDataTooLong
 * is both a decode and an encode failure (the same limit, read or written).
 */
export const SBE_ERROR_CODES = [
  // decode (DecodeStatus names, Ok aside)
  'Truncated',
  'SchemaIdMismatch',
  'UnknownTemplate',
  'TemplateMismatch',
  'BlockLengthTooSmall',
  'GroupBlockLengthTooSmall',
  'GroupCountTooLarge',
  'VarDataTooLong',
  'Int64OutOfRange',
  'InvalidEnumValue',
  'InvalidArgument',
  // encode
  'BufferTooSmall',
  'ValueOutOfRange',
  'TooManyEntries',
  'EntryOverflow',
  // code generation
  'InvalidSchema',
] as const;

export type SbeErrorCode = (typeof SBE_ERROR_CODES)[number];
