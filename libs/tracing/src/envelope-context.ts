/**
 * The W3C trace context inside the envelope (schema version 2: traceId,
 * parentSpanId, traceFlags in the root block; all zero = none). Writing costs
 * nothing for an unsampled envelope (the encoder zeroes the block); reading
 * an envelope without one does no allocation. A malformed context (flags set
 * but the trace id or the parent id all zero) is ignored and counted: the
 * record itself is always processed.
 */
import { type SpanContext, TraceFlags } from '@opentelemetry/api';
import type { hotpath } from '@hotpath/sbe';
import { Counter, type Registry } from '@hotpath/telemetry';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Writes `sc` into the envelope being encoded (call between wrapAndApplyHeader and the var data). */
export function writeTraceContext(enc: hotpath.EnvelopeEncoder, sc: SpanContext): void {
  for (let i = 0; i < 16; i++) enc.traceIdAt(i, Number.parseInt(sc.traceId.slice(i * 2, i * 2 + 2), 16));
  for (let i = 0; i < 8; i++) enc.parentSpanIdAt(i, Number.parseInt(sc.spanId.slice(i * 2, i * 2 + 2), 16));
  enc.traceFlags(sc.traceFlags & 0xff);
}

export class EnvelopeTraceReader {
  private readonly invalid: Counter<'reason'>;

  constructor(registry: Registry, prefix: string) {
    this.invalid = new Counter({
      name: `${prefix}_trace_context_invalid_total`,
      help: 'Envelopes whose W3C trace context was malformed and ignored (the record itself was processed)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.invalid.labels({ reason: 'malformed' });
  }

  /** The sampled remote parent an envelope carries, else undefined (absent, unsampled or malformed — the last counted). */
  read(env: hotpath.EnvelopeDecoder): SpanContext | undefined {
    const flags = env.traceFlags;
    // (null: an envelope before schema version 2; 0: none, or an unsampled context — ids without the sampled flag are valid W3C)
    if (flags === null || flags === 0) return undefined;
    let traceSet = false;
    let spanSet = false;
    for (let i = 0; i < 16; i++) if (env.traceIdAt(i) !== 0) traceSet = true;
    for (let i = 0; i < 8; i++) if (env.parentSpanIdAt(i) !== 0) spanSet = true;
    if (!traceSet || !spanSet) {
      this.invalid.inc({ reason: 'malformed' });
      return undefined;
    }
    if ((flags & TraceFlags.SAMPLED) === 0) return undefined;
    let traceId = '';
    for (let i = 0; i < 16; i++) traceId += HEX[env.traceIdAt(i)];
    let spanId = '';
    for (let i = 0; i < 8; i++) spanId += HEX[env.parentSpanIdAt(i)];
    return { traceId, spanId, traceFlags: flags, isRemote: true };
  }
}
