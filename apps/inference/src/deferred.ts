/**
 * Work kept off a tick's path: items queued now, handled together in one setImmediate once a flush is asked
 * for — after the current turn of the event loop, so after the continuations of every reply read in it. The
 * holders are pooled (the caller fills a kept object), so queueing allocates nothing once warm.
 */
export class DeferredQueue<T extends object> {
  private readonly items: T[] = [];
  private count = 0;
  private scheduled = false;

  constructor(
    private readonly make: () => T,
    /** Must not queue into this queue (the holders being handled are the ones next() hands out again). */
    private readonly handle: (item: T) => void,
  ) {}

  /** Items queued and not yet handled. */
  get size(): number {
    return this.count;
  }

  /** The holder to fill for the next item. */
  next(): T {
    let item = this.items[this.count];
    if (item === undefined) this.items.push((item = this.make()));
    this.count++;
    return item;
  }

  /** Handles what is queued after the current turn of the event loop (once, however often asked before then). */
  flushSoon(): void {
    if (this.scheduled || this.count === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const n = this.count;
      this.count = 0;
      for (let i = 0; i < n; i++) this.handle(this.items[i]!);
    });
  }
}
