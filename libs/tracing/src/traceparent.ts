/**
 * The W3C `traceparent` HTTP header (https://www.w3.org/TR/trace-context/),
 * for the one hop that is HTTP: the ingestor's REST calls to the exchange.
 * Only version 00 is read; anything else a client sends is ignored (and the
 * caller counts it): a header is untrusted input and never fatal.
 */
import { type SpanContext, TraceFlags } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The header value for `sc`. */
export function traceparentOf(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The remote parent a header names: `undefined` when there is none,
 * `'malformed'` when there is one but it is not a valid version-00 value
 * (wrong shape, all-zero ids, an array of headers).
 */
export function parseTraceparent(header: string | string[] | undefined): SpanContext | 'malformed' | undefined {
  if (header === undefined) return undefined;
  // (a longer value cannot be valid: the regex never sees an unbounded string)
  if (typeof header !== 'string' || header.length !== 55) return 'malformed';
  const m = TRACEPARENT.exec(header);
  if (m === null || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return 'malformed';
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}
