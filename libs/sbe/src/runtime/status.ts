/**
 * Decode outcomes. `wrap()` returns one of these numbers instead of throwing,
 * so a bad frame costs no allocation and no exception; `DecodeError` turns a
 * failed decoder into a loggable object when the caller wants one.
 */
import type { SbeErrorCode } from './errors.ts';

export const DecodeStatus = {
  Ok: 0,
  /** The frame ends before the header, a block, a group header, an entry or var data does. */
  Truncated: 1,
  /** The header names another schema. */
  SchemaIdMismatch: 2,
  /** The header's templateId is not a message of this schema. */
  UnknownTemplate: 3,
  /** The frame was handed to the decoder of a different message. */
  TemplateMismatch: 4,
  /** The header's blockLength is shorter than the fields this version must carry. */
  BlockLengthTooSmall: 5,
  /** A group's entry blockLength is shorter than its fields. */
  GroupBlockLengthTooSmall: 6,
  /** A group's numInGroup exceeds its schema maximum or the configured limit. */
  GroupCountTooLarge: 7,
  /** A var-data length runs past the frame or exceeds the configured limit. */
  VarDataTooLong: 8,
  /** An int64/uint64 field does not fit a JS number exactly (|v| > 2^53). */
  Int64OutOfRange: 9,
  /** An enum field holds a value the schema does not list. */
  InvalidEnumValue: 10,
  /** The buffer/offset/length arguments themselves are invalid. */
  InvalidArgument: 11,
} as const;

export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];

const statusNames: readonly string[] = Object.keys(DecodeStatus);

export function decodeStatusName(status: number): string {
  return statusNames[status] ?? `Unknown(${status})`;
}

/** What a failed `wrap()` leaves on a decoder; every generated decoder implements it. */
export interface DecodeFailure {
  readonly status: DecodeStatus;
  /** Schema name of the message, group or field that failed. */
  readonly errorField: string;
  /** Absolute buffer offset at which the failure was detected. */
  readonly errorOffset: number;
}

/** A failed status by name: every one is an SbeErrorCode (the assignment below would not compile otherwise). */
type DecodeFailureCode = Exclude<keyof typeof DecodeStatus, 'Ok'>;

/** A typed, loggable decode error. Built only on the error path. `code` is the status's name, `status` its number. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code: SbeErrorCode;
  readonly status: DecodeStatus;
  readonly field: string;
  readonly offset: number;

  constructor(failure: DecodeFailure) {
    // (decoders build one only for a failed status: never Ok)
    const code: SbeErrorCode = decodeStatusName(failure.status) as DecodeFailureCode;
    super(`SBE decode failed: ${code} at ${failure.errorField} (offset ${failure.errorOffset})`);
    this.code = code;
    this.status = failure.status;
    this.field = failure.errorField;
    this.offset = failure.errorOffset;
  }
}

/** Thrown by encoders: encoding is our own code path, so misuse is a programming error. */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  constructor(
    readonly code: Extract<SbeErrorCode, 'BufferTooSmall' | 'ValueOutOfRange' | 'TooManyEntries' | 'VarDataTooLong' | 'EntryOverflow'>,
    readonly field: string,
    detail: string,
  ) {
    super(`SBE encode failed: ${code} at ${field}: ${detail}`);
  }
}
