/**
 * Every `code` a @hotpath/features error carries (docs/errors.md: what each
 * means and what an operator does; test/errors.test.ts keeps the two in step).
 */
export const FEATURES_ERROR_CODES = ['malformed_feature_state', 'malformed_vector'] as const;

export type FeaturesErrorCode = (typeof FEATURES_ERROR_CODES)[number];
