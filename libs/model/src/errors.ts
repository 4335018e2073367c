/**
 * Every `code` a ModelError carries: why a model was refused (docs/errors.md:
 * what each means and what an operator does; test/errors.test.ts keeps the two
 * in step). Each is also an `outcome` label of inference_model_loads_total.
 */
export const MODEL_ERROR_CODES = [
  'not_found',
  'not_a_file',
  'too_large',
  'outside_model_dir',
  'aborted',
  'unreadable',
  'no_metadata',
  'bad_metadata',
  'schema_mismatch',
  'bad_graph',
  'golden_mismatch',
  'run_failed',
] as const;

export type ModelErrorCode = (typeof MODEL_ERROR_CODES)[number];
