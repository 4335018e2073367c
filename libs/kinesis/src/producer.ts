/**
 * An ordered, aggregating Kinesis producer.
 *
 * - Records are queued per partition key. Per key, one PutRecord is in
 *   flight at a time, carrying a KPL aggregate of everything queued for that
 *   key (up to 1 MiB): the next request goes out as soon as the previous one
 *   is acknowledged (adaptive batching), or after `lingerMs` when idle. One
 *   request per key in flight, sent with SequenceNumberForOrdering, means
 *   retries (throttling, 5xx, a restarted endpoint) can never reorder a key:
 *   there is nothing behind it to overtake.
 * - An aggregate holds one partition key, so Kinesis routes each of its user
 *   records exactly where it would route the record alone — also after a
 *   reshard this producer did not see (an aggregate mixing keys could put a
 *   key's records on a shard it does not hash to, where a KCL consumer drops
 *   them and a consumer that owns the key's real shard never sees them).
 * - The buffer is bounded in bytes; past it `put` refuses the record, counts
 *   it and returns false (overflow policy "reject-newest": the caller decides).
 */
import { createHash } from 'node:crypto';
import { type KinesisClient, ListShardsCommand, PutRecordCommand, type Shard } from '@aws-sdk/client-kinesis';
import { Counter, Gauge, Histogram, type Registry } from '@hotpath/telemetry';
import { retry } from '@hotpath/service';
import { AggregatedRecordBuilder, MAX_RECORD_BYTES } from './kpl.ts';

/** Kinesis takes 1 MiB per record (data + partition key); 1 KiB is left for the KPL aggregate's own framing. */
/** The largest user record (data + partition key) the producer takes: one Kinesis record less the KPL framing. */
export const MAX_USER_RECORD_BYTES = MAX_RECORD_BYTES - 1024;

export interface ProducerConfig {
  streamName: string;
  /** Bytes buffered across all shards before `put` refuses records. */
  maxBufferedBytes: number;
  /** Wait this long for more records before sending an idle shard's first record. */
  lingerMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Metric name prefix, e.g. "ingestor_kinesis". */
  metricPrefix: string;
}

export const DEFAULT_PRODUCER_CONFIG: Omit<ProducerConfig, 'streamName'> = {
  maxBufferedBytes: 64 * 1024 * 1024,
  lingerMs: 0,
  retryBaseMs: 50,
  retryMaxMs: 5000,
  metricPrefix: 'kinesis_producer',
};

interface Pending {
  partitionKey: string;
  data: Uint8Array;
  enqueuedAt: number;
  onAck: ((latencyMs: number) => void) | undefined;
}

class KeyQueue {
  readonly queue: Pending[] = [];
  head = 0;
  inFlight = false;
  lastSequence: string | undefined;
  timer: NodeJS.Timeout | undefined;
  constructor(readonly partitionKey: string) {}
  get length(): number {
    return this.queue.length - this.head;
  }
}

export interface ProducerMetrics {
  userRecords: Counter<'result'>;
  requests: Counter<'result'>;
  retries: Counter<'reason'>;
  bufferedBytes: Gauge;
  putLatency: Histogram<never>;
  recordLatency: Histogram<never>;
}

function createMetrics(registry: Registry | undefined, prefix: string): ProducerMetrics {
  const registers = registry === undefined ? [] : [registry];
  return {
    userRecords: new Counter({ name: `${prefix}_user_records_total`, help: 'User records by outcome (acked, rejected_overflow, rejected_too_large)', labelNames: ['result'], registers }),
    requests: new Counter({ name: `${prefix}_requests_total`, help: 'PutRecord requests by outcome', labelNames: ['result'], registers }),
    retries: new Counter({ name: `${prefix}_retries_total`, help: 'Retried requests by reason', labelNames: ['reason'], registers }),
    bufferedBytes: new Gauge({ name: `${prefix}_buffered_bytes`, help: 'Bytes waiting to be acknowledged', registers }),
    putLatency: new Histogram({ name: `${prefix}_put_duration_seconds`, help: 'PutRecord round trip', buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1], registers }),
    recordLatency: new Histogram({
      name: `${prefix}_record_latency_seconds`,
      help: 'Enqueue to acknowledgement per user record',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
  };
}

/** Kinesis's shard choice: the MD5 of the partition key as a 128-bit unsigned integer. */
export function partitionHash(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

export class KinesisProducer {
  private openShards = 0;
  /** One queue per partition key with something queued or in flight (an idle key's queue is dropped). */
  private readonly queues = new Map<string, KeyQueue>();
  private bufferedBytes = 0;
  private stopped = false;
  /** Aborted when stop() gives up: in-flight puts and their retries end. */
  private readonly abandon = new AbortController();
  private readonly idleWaiters: (() => void)[] = [];
  readonly metrics: ProducerMetrics;
  private readonly config: ProducerConfig;
  /** Last error seen talking to Kinesis (for /health), cleared on success. */
  lastError: string | undefined;

  constructor(
    private readonly client: KinesisClient,
    config: Partial<ProducerConfig> & { streamName: string },
    registry?: Registry,
  ) {
    this.config = { ...DEFAULT_PRODUCER_CONFIG, ...config };
    this.metrics = createMetrics(registry, this.config.metricPrefix);
  }

  /** Checks the stream exists and has open shards (the count is for logs: routing is Kinesis's, by key). */
  async start(): Promise<void> {
    const shards: Shard[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(new ListShardsCommand(token === undefined ? { StreamName: this.config.streamName } : { NextToken: token }));
      shards.push(...(res.Shards ?? []));
      token = res.NextToken;
    } while (token !== undefined);
    // Closed parents (after resharding) have an EndingSequenceNumber; only open shards take writes.
    this.openShards = shards.filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined).length;
    if (this.openShards === 0) throw new Error(`stream ${this.config.streamName} has no open shards`);
  }

  /** Open shards when the producer started. */
  get shardCount(): number {
    return this.openShards;
  }

  get buffered(): { bytes: number; fill: number } {
    return { bytes: this.bufferedBytes, fill: this.bufferedBytes / this.config.maxBufferedBytes };
  }

  private queueFor(partitionKey: string): KeyQueue {
    let q = this.queues.get(partitionKey);
    if (q === undefined) this.queues.set(partitionKey, (q = new KeyQueue(partitionKey)));
    return q;
  }

  /**
   * Queues a record; false when it is not taken: the buffer is full, or the
   * record could never fit a Kinesis record (1 MiB with its key and the
   * aggregation framing) — refused here rather than retried forever.
   */
  put(partitionKey: string, data: Uint8Array, onAck?: (latencyMs: number) => void): boolean {
    if (this.stopped) throw new Error('producer stopped');
    if (data.length + Buffer.byteLength(partitionKey) > MAX_USER_RECORD_BYTES) {
      this.metrics.userRecords.inc({ result: 'rejected_too_large' });
      return false;
    }
    if (this.bufferedBytes + data.length > this.config.maxBufferedBytes) {
      this.metrics.userRecords.inc({ result: 'rejected_overflow' });
      return false;
    }
    const shard = this.queueFor(partitionKey);
    shard.queue.push({ partitionKey, data, enqueuedAt: performance.now(), onAck });
    this.bufferedBytes += data.length;
    this.metrics.bufferedBytes.set(this.bufferedBytes);
    this.schedule(shard);
    return true;
  }

  private schedule(shard: KeyQueue): void {
    if (shard.inFlight || shard.timer !== undefined || shard.length === 0) return;
    if (this.config.lingerMs <= 0) {
      shard.inFlight = true;
      queueMicrotask(() => void this.send(shard));
    } else {
      shard.timer = setTimeout(() => {
        shard.timer = undefined;
        shard.inFlight = true;
        void this.send(shard);
      }, this.config.lingerMs);
    }
  }

  /** Sends the head of a key's queue as one aggregate; retries it until acknowledged. */
  private async send(shard: KeyQueue): Promise<void> {
    const agg = new AggregatedRecordBuilder();
    let n = 0;
    let bytes = 0;
    for (let i = shard.head; i < shard.queue.length; i++) {
      const r = shard.queue[i]!;
      if (n > 0 && !agg.wouldFit(r)) break;
      agg.add(r);
      bytes += r.data.length;
      n++;
    }
    const partitionKey = agg.partitionKey!;
    const data = agg.build();
    const started = performance.now();
    // Retried until acknowledged (order depends on it: nothing later of this key is sent before), or until stop() gives up.
    try {
      await retry(
        async () => {
          const res = await this.client.send(
            new PutRecordCommand({
              StreamName: this.config.streamName,
              PartitionKey: partitionKey,
              Data: data,
              ...(shard.lastSequence !== undefined ? { SequenceNumberForOrdering: shard.lastSequence } : {}),
            }),
            { abortSignal: this.abandon.signal },
          );
          shard.lastSequence = res.SequenceNumber;
        },
        {
          what: 'PutRecord',
          signal: this.abandon.signal,
          baseMs: this.config.retryBaseMs,
          maxMs: this.config.retryMaxMs,
          onRetry: (err) => {
            const e = err as { name?: string };
            const reason = e.name === 'ProvisionedThroughputExceededException' ? 'throttled' : e.name === 'ResourceNotFoundException' ? 'not_found' : 'error';
            // the error's name only: its text may carry request details (for /health and logs)
            this.lastError = e.name ?? 'Error';
            this.metrics.requests.inc({ result: reason });
            this.metrics.retries.inc({ reason });
          },
        },
      );
    } catch {
      return; // abandoned by stop(): what is still queued is counted there
    }
    this.lastError = undefined;
    this.metrics.requests.inc({ result: 'ok' });
    this.metrics.putLatency.observe((performance.now() - started) / 1000);
    const now = performance.now();
    for (let i = 0; i < n; i++) {
      const r = shard.queue[shard.head + i]!;
      const latency = now - r.enqueuedAt;
      this.metrics.recordLatency.observe(latency / 1000);
      r.onAck?.(latency);
    }
    this.metrics.userRecords.inc({ result: 'acked' }, n);
    shard.head += n;
    if (shard.head > 4096 && shard.head * 2 > shard.queue.length) {
      shard.queue.splice(0, shard.head);
      shard.head = 0;
    }
    this.bufferedBytes -= bytes;
    this.metrics.bufferedBytes.set(this.bufferedBytes);
    shard.inFlight = false;
    if (shard.length > 0) {
      shard.inFlight = true;
      void this.send(shard);
      return;
    }
    if (shard.timer === undefined) this.queues.delete(shard.partitionKey); // bounded by the keys in use, not by every key ever seen
    if (this.bufferedBytes === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when everything queued so far is acknowledged. */
  async flush(): Promise<void> {
    if (this.bufferedBytes === 0 && [...this.queues.values()].every((s) => !s.inFlight)) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Flushes within `deadlineMs`, then gives up on what is left: retries are
   * abandoned, and the user records not acknowledged are counted
   * (`…_user_records_total{result="lost_at_stop"}`) and returned. Default: wait
   * as long as it takes (tests and benches that need everything).
   */
  async stop(deadlineMs = Number.POSITIVE_INFINITY): Promise<{ unflushed: number }> {
    if (Number.isFinite(deadlineMs)) {
      // the deadline is an outcome here, not an error: what it leaves unsent is counted and returned below
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
      clearTimeout(timer);
    } else await this.flush();
    this.stopped = true;
    this.abandon.abort(new Error('producer stopped'));
    let unflushed = 0;
    for (const s of this.queues.values()) {
      if (s.timer !== undefined) clearTimeout(s.timer);
      unflushed += s.length;
    }
    if (unflushed > 0) this.metrics.userRecords.inc({ result: 'lost_at_stop' }, unflushed);
    return { unflushed };
  }
}
