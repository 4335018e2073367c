/**
 * Every `code` a @hotpath/service error carries (docs/errors.md says what each
 * means and what an operator does about it; test/errors.test.ts keeps the two
 * in step). A code is a stable string for logs, metric labels and tests; the
 * message is for people and may change.
 */
export const SERVICE_ERROR_CODES = ['deadline_exceeded', 'retry_attempts_exhausted', 'retry_deadline_passed', 'start_failed'] as const;

export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];
