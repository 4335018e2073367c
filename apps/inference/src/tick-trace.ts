/**
 * One symbol's tick as a trace (issue 20, docs/tracing.md): a root span
 * `inference tick` with a child per stage the tick really runs — `redis read`
 * (claim + vector, one script), `checks` (the vector vetted), `model run`,
 * `redis write` (latest + history + PUBLISH, one script) and `push` (the
 * PUBLISH's way back to this replica's subscriber connection, what every
 * WebSocket subscriber waits for) — and a LINK to the trace of the newest
 * sampled market event the vector holds (the aggregator's `redis publish`
 * span that wrote it, carried in the vector). Ticks are 0.5/s per symbol, so
 * every tick is traced whenever tracing is on: the sampling ratio is the
 * frames' (an unsampled tick would also leave its prediction without a trace).
 *
 * Every span ends. A tick that does not run here (another replica's claim,
 * already written) is discarded — ended, never exported: with N replicas it
 * would otherwise be N − 1 empty traces per tick (and as many X-Ray traces
 * billed); ticks{outcome="taken"|"done"} counts them. A push that never comes
 * back ends at its deadline with a `push_not_received` event.
 */
import { type Span, SpanStatusCode, spanClock, type Tracing } from '@hotpath/tracing';
import type { VectorTraceContext } from '@hotpath/state';

export type TickStage = 'redis read' | 'checks' | 'model run' | 'redis write' | 'push';

export class TickTrace {
  readonly root: Span;
  /** The tick's own trace id (served as the prediction's traceId). */
  readonly traceId: string;
  /** The event trace the tick linked to, once the vector said (served as linkedTraceId). */
  linkedTraceId: string | undefined;
  private ended = false;

  constructor(
    private readonly tracing: Tracing,
    symbol: string,
    tickMs: number,
    replica: string,
    backup: boolean,
  ) {
    this.root = tracing.tracer.startSpan('inference tick', { root: true, startTime: spanClock(), attributes: { symbol, 'tick.ms': tickMs, replica, backup } });
    this.traceId = this.root.spanContext().traceId;
  }

  /** A stage that turned out not to matter (the claim of a tick this replica does not run): never exported. */
  discard(span: Span): void {
    this.tracing.discard(span);
  }

  /** A child span of the tick, started now; end it with end(). */
  stage(name: TickStage): Span {
    return this.tracing.startChild(name, this.root, spanClock());
  }

  /** Links the tick to the newest sampled event its vector contains (none: a vector without a trace context). */
  link(trace: VectorTraceContext | undefined): void {
    if (trace === undefined) return;
    this.root.addLink({ context: { traceId: trace.traceId, spanId: trace.spanId, traceFlags: trace.traceFlags, isRemote: true }, attributes: { 'link.kind': 'newest_sampled_event' } });
    this.linkedTraceId = trace.traceId;
  }

  /** A fallback served instead of the model: the event and the reason, on the tick. */
  fallback(reason: string): void {
    this.root.addEvent('fallback', { reason });
    this.root.setAttribute('fallback.reason', reason);
  }

  /** `span` failed with `err`: the exception recorded, status ERROR on it and on the tick. */
  failed(span: Span, err: unknown, message: string): void {
    span.recordException(err instanceof Error ? err : new Error(String(err)));
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    this.root.setStatus({ code: SpanStatusCode.ERROR, message });
  }

  /** Ends the tick with `outcome`; an event when it did not run or produced nothing (`reason`), status ERROR for a miss. */
  finish(outcome: string, reason?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.root.setAttribute('outcome', outcome);
    if (outcome === 'taken' || outcome === 'done') return this.tracing.discard(this.root);
    if (outcome === 'missed' || outcome === 'refused' || outcome === 'redis_unavailable') {
      this.root.addEvent(outcome, reason === undefined ? {} : { reason });
      this.root.setStatus({ code: SpanStatusCode.ERROR, message: reason ?? outcome });
    }
    this.root.end(spanClock());
  }
}

/** Ends a stage span now. */
export function endStage(span: Span): void {
  span.end(spanClock());
}
