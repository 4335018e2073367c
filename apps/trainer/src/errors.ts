/**
 * Every `code` a trainer error carries (docs/errors.md: what each means and
 * what an operator does; test/errors.test.ts keeps the two in step).
 */
export const TRAINER_ERROR_CODES = ['download_failed', 'checksum_mismatch', 'bad_archive'] as const;

export type TrainerErrorCode = (typeof TRAINER_ERROR_CODES)[number];
