/**
 * Every `code` a @hotpath/state error carries (docs/errors.md: what each means
 * and what an operator does; test/errors.test.ts keeps the two in step).
 * `fenced` is also the `status` label of aggregator_redis_operations_total.
 */
export const STATE_ERROR_CODES = ['malformed_stored_state', 'fenced'] as const;

export type StateErrorCode = (typeof STATE_ERROR_CODES)[number];
