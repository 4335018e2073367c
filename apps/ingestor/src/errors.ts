/**
 * Every `code` an ingestor error carries (docs/errors.md: what each means and
 * what an operator does; test/errors.test.ts keeps the two in step).
 */
export const INGESTOR_ERROR_CODES = ['rest_refused', 'rest_gave_up'] as const;

export type IngestorErrorCode = (typeof INGESTOR_ERROR_CODES)[number];
