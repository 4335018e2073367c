/**
 * Every `code` a @hotpath/kinesis error carries (docs/errors.md: what each
 * means and what an operator does; test/errors.test.ts keeps the two in step).
 * `malformed_kpl` is also the `status` label of
 * aggregator_kinesis_records_processed_total.
 */
export const KINESIS_ERROR_CODES = ['malformed_kpl', 'put_records_refused', 'put_records_answer_mismatch'] as const;

export type KinesisErrorCode = (typeof KINESIS_ERROR_CODES)[number];

/**
 * A PutRecords answer that did not store every record: some were refused
 * (`awsCode` is the first refusal's ErrorCode), or the answer does not match
 * the request record for record. The producer retries what is not stored; the
 * error surfaces only as the cause of an abandoned retry at stop.
 */
export class PutRecordsRefusedError extends Error {
  override readonly name = 'PutRecordsRefusedError';
  constructor(
    readonly code: Extract<KinesisErrorCode, 'put_records_refused' | 'put_records_answer_mismatch'>,
    message: string,
    readonly awsCode?: string,
  ) {
    super(message);
  }
}
