/**
 * Every `code` an exchange-sim error carries (docs/errors.md: what each means
 * and what an operator does; test/errors.test.ts keeps the two in step). A
 * RequestError's code is also the `reason` label of
 * exchange_sim_rejected_requests_total, a StreamNameError's the `reason` of
 * exchange_sim_rejected_handshakes_total.
 */
export const EXCHANGE_SIM_ERROR_CODES = ['bad_url', 'not_found', 'method', 'unauthorized', 'body_too_large', 'bad_json', 'invalid_fault', 'bad_stream_name'] as const;

export type ExchangeSimErrorCode = (typeof EXCHANGE_SIM_ERROR_CODES)[number];
