/**
 * The ticks' `push` spans: from the write (whose script PUBLISHes the prediction) until the prediction comes back on
 * this replica's subscriber connection — what every WebSocket subscriber waits for. Only when tracing is on.
 */
import type { Span } from '@hotpath/tracing';
import { endStage, type TickTrace } from './tick-trace.ts';

export class PushSpans {
  /** Push spans waiting for their prediction to come back on this replica's subscriber: the tick's trace id → its push. */
  private readonly pending = new Map<string, { span: Span; timer: NodeJS.Timeout; done: () => void }>();

  constructor(private readonly intervalMs: number) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Starts the tick's push span. Resolves when the prediction came or at its deadline (one interval: the subscriber
   * is down or slow; ended with a `push_not_received` event).
   */
  expect(tt: TickTrace): Promise<void> {
    return new Promise<void>((resolve) => {
      const span = tt.stage('push');
      const timer = setTimeout(() => this.settled(tt.traceId, 'push_not_received'), this.intervalMs);
      timer.unref();
      this.pending.set(tt.traceId, { span, timer, done: resolve });
    });
  }

  /** Ends a pending push span (`event` when it did not arrive). */
  settled(traceId: string, event?: string): void {
    const pending = this.pending.get(traceId);
    if (pending === undefined) return;
    this.pending.delete(traceId);
    clearTimeout(pending.timer);
    if (event !== undefined) pending.span.addEvent(event);
    endStage(pending.span);
    pending.done();
  }

  /** Ends every push still awaited (the subscriber is closing): no span left open. */
  settleAll(event: string): void {
    for (const traceId of [...this.pending.keys()]) this.settled(traceId, event);
  }
}
