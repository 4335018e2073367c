/**
 * Every `code` an inference error carries (docs/errors.md: what each means and
 * what an operator does; test/errors.test.ts keeps the two in step). A model
 * refused is @hotpath/model's ModelError, with its own codes.
 */
export const INFERENCE_ERROR_CODES = ['malformed_prediction'] as const;

export type InferenceErrorCode = (typeof INFERENCE_ERROR_CODES)[number];
