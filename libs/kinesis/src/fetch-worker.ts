/**
 * Shard readers whose Kinesis side runs in one worker thread (fetch-worker.thread.ts):
 * the calling thread sees the same contract as ShardReader — `handle` gets
 * each batch in order and is awaited before the shard is polled again,
 * `active()` turning false stops the reader — but GetRecords, JSON/base64
 * parsing and de-aggregation no longer share its event loop. A 5 MB
 * GetRecords answer parsed in-thread stalls every other shard's writes.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KinesisEndpoint } from './client.ts';
import type { ShardReaderOptions } from './shard-reader.ts';
import { KplFormatError } from './kpl.ts';
import { unpackBatch, type FromWorker, type ToWorker } from './fetch-protocol.ts';

/** What the aggregator needs of a shard reader, in-thread or not. */
export interface ShardSource {
  run(): Promise<void>;
  /** True once the shard is closed (resharded) and read to its end. */
  readonly finished: boolean;
}

/** How often a remote reader checks `active()` when no batch arrives (a quiet shard must still stop). */
const ACTIVE_CHECK_MS = 50;

export class FetchWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly readers = new Map<number, RemoteShardReader>();
  private started = 0;
  private died = 0;

  constructor(private readonly endpoint: KinesisEndpoint) {}

  /** Starts the thread now (it loads the SDK and compiles for about a second) instead of at the first reader. */
  warm(): void {
    this.worker ??= this.spawn();
  }

  /** Threads started: the first, and one for each reader opened after a death or close(). */
  get starts(): number {
    return this.started;
  }

  /** Threads that ended without close() (killed, crashed, exited): each failed the readers it had. */
  get deaths(): number {
    return this.died;
  }

  /** A shard reader in the worker; with `consumerArn` it reads by enhanced fan-out instead of polling. */
  reader(options: ShardReaderOptions & { consumerArn?: string }): ShardSource {
    return new RemoteShardReader(this, options);
  }

  /** @internal */
  attach(r: RemoteShardReader): number {
    const id = this.nextId++;
    this.readers.set(id, r);
    return id;
  }

  /** @internal */
  detach(id: number): void {
    this.readers.delete(id);
  }

  /** @internal */
  send(m: ToWorker): void {
    (this.worker ??= this.spawn()).postMessage(m);
  }

  /** Stops the thread; readers still open end with an error. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
    this.fail(new Error('fetch worker closed'));
  }

  private spawn(): Worker {
    const w = new Worker(bootSource(), { eval: true, workerData: this.endpoint });
    this.started++;
    w.on('message', (m: FromWorker) => this.readers.get(m.id)?.receive(m));
    const gone = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.died++;
      this.fail(err);
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`fetch worker exited (${code})`)));
    return w;
  }

  private fail(err: Error): void {
    for (const r of [...this.readers.values()]) r.fail(err);
  }
}

class RemoteShardReader implements ShardSource {
  finished = false;
  private id = 0;
  private stopping = false;
  /** Done or failed: nothing more goes to the worker (an ack would start a new thread for a reader that is gone). */
  private ended = false;
  private timer: NodeJS.Timeout | undefined;
  private settle: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(
    private readonly pool: FetchWorker,
    private readonly o: ShardReaderOptions & { consumerArn?: string },
  ) {}

  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      this.id = this.pool.attach(this);
      const { streamName, shardId, start, pollMs, limit, consumerArn } = this.o;
      const shard = { streamName, shardId, start, ...(pollMs !== undefined ? { pollMs } : {}), ...(limit !== undefined ? { limit } : {}), ...(consumerArn !== undefined ? { consumerArn } : {}) };
      this.pool.send({ type: 'open', id: this.id, shard });
      this.timer = setInterval(() => this.checkActive(), ACTIVE_CHECK_MS);
    });
  }

  receive(m: FromWorker): void {
    if (m.type === 'done') {
      this.finished = m.finished;
      this.end();
      this.settle?.resolve();
    } else if (m.type === 'malformed') {
      this.o.onMalformed?.(m.sequenceNumber, new KplFormatError(m.message));
    } else if (m.type === 'polled') {
      this.o.onPoll?.();
    } else if (m.type === 'error') {
      const err = new Error(m.message);
      err.name = m.name;
      if (m.stack !== undefined) err.stack = m.stack; // where it failed in the fetch thread, for the log line
      this.o.onError?.(err);
    } else if (this.checkActive()) {
      this.o.handle(unpackBatch(this.o.shardId, m.batch), m.millisBehindLatest).then(
        () => this.ack(true),
        () => this.ack(false),
      );
    }
  }

  fail(err: Error): void {
    this.end();
    this.settle?.reject(err);
  }

  private ack(ok: boolean): void {
    if (!this.ended) this.pool.send({ type: 'ack', id: this.id, ok });
  }

  private checkActive(): boolean {
    if (this.o.active()) return true;
    if (!this.stopping) {
      this.stopping = true;
      this.pool.send({ type: 'stop', id: this.id });
    }
    return false;
  }

  private end(): void {
    this.ended = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.pool.detach(this.id);
  }
}

/** The worker's entry: the TypeScript source through tsx's loader when running from source, else the built file. */
function bootSource(): string {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './fetch-worker.thread.ts' : './fetch-worker.thread.js', import.meta.url).href;
  // (compiled, or TypeScript on Node's own transform — the launcher's children: the thread inherits the flag; tsx's
  // hooks would cost it ~2.5x the CPU of loading the SDK, and the aggregator's first vector waits for that)
  if (!entry.endsWith('.ts') || (process.features as { typescript?: string | false }).typescript === 'transform') return `import(${JSON.stringify(entry)});`;
  // (the ESM build: a worker's loader hooks must be registered from ESM; require.resolve would name the CJS one)
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = new URL('./dist/esm/api/index.mjs', pathToFileURL(manifest)).href;
  return `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
}
