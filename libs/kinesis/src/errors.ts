/**
 * Every `code` a @hotpath/kinesis error carries (docs/errors.md: what each
 * means and what an operator does; test/errors.test.ts keeps the two in step).
 * `malformed_kpl` is also the `status` label of
 * aggregator_kinesis_records_processed_total.
 */
export const KINESIS_ERROR_CODES = ['malformed_kpl'] as const;

export type KinesisErrorCode = (typeof KINESIS_ERROR_CODES)[number];
