/**
 * Every `code` a @hotpath/recordings error carries (docs/errors.md: what each
 * means and what an operator does; test/errors.test.ts keeps the two in step).
 */
export const RECORDINGS_ERROR_CODES = ['malformed_recording', 'malformed_capture', 'malformed_archive'] as const;

export type RecordingsErrorCode = (typeof RECORDINGS_ERROR_CODES)[number];
