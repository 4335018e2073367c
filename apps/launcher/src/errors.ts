/**
 * Every `code` a launcher error carries (docs/errors.md: what each means and
 * what an operator does; test/errors.test.ts keeps the two in step).
 */
export const LAUNCHER_ERROR_CODES = ['redis_unavailable'] as const;

export type LauncherErrorCode = (typeof LAUNCHER_ERROR_CODES)[number];
