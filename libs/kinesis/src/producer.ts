/**
 * An ordered, aggregating Kinesis producer.
 *
 * - Records are queued per partition key. Per key, one Kinesis record is in
 *   flight at a time, a KPL aggregate of everything queued for that key (up
 *   to 1 MiB): the next goes out as soon as the previous one is acknowledged
 *   (adaptive batching), or after `lingerMs` when idle. One record per key in
 *   flight means retries (throttling, 5xx, a restarted endpoint) can never
 *   reorder a key: there is nothing behind it to overtake. (A response lost
 *   in an outage makes the retry a second copy; consumers drop it by the
 *   envelope's (writerId, sequence), as they drop any redelivery.)
 * - The keys ready at the same moment share one PutRecords request (up to
 *   500 records and 5 MiB), each key still its own record: with many symbols
 *   the fixed cost of a request (SDK middleware, signing, HTTP; ~77 % of the
 *   ingestor's CPU per frame when each key had its own PutRecord) is paid
 *   once per round instead of once per key. Requests in flight are capped
 *   (`maxRequestsInFlight`, 1): what becomes ready meanwhile goes in the
 *   next one, as soon as an answer frees a slot — for one symbol exactly the
 *   per-key rule above; nothing waits to fill a request. A record
 *   the request refuses (throttled shard, internal failure) is sent again
 *   after a backoff, alone with the other refused ones, while the keys
 *   accepted in the same request go on.
 * - An aggregate holds one partition key, so Kinesis routes each of its user
 *   records exactly where it would route the record alone — also after a
 *   reshard this producer did not see (an aggregate mixing keys could put a
 *   key's records on a shard it does not hash to, where a KCL consumer drops
 *   them and a consumer that owns the key's real shard never sees them).
 * - The buffer is bounded in bytes; past it `put` refuses the record, counts
 *   it and returns false (overflow policy "reject-newest": the caller decides).
 */
import { createHash } from 'node:crypto';
import { type KinesisClient, ListShardsCommand, PutRecordsCommand, type PutRecordsOutput, type PutRecordsResultEntry, type Shard } from '@aws-sdk/client-kinesis';
import { Counter, Gauge, Histogram, type Registry } from '@hotpath/telemetry';
import { retry } from '@hotpath/service';
import { AggregatedRecordBuilder, MAX_RECORD_BYTES } from './kpl.ts';
import { PutRecordsRefusedError } from './errors.ts';

/** Kinesis takes 1 MiB per record (data + partition key); 1 KiB is left for the KPL aggregate's own framing. */
/** The largest user record (data + partition key) the producer takes: one Kinesis record less the KPL framing. */
export const MAX_USER_RECORD_BYTES = MAX_RECORD_BYTES - 1024;
/** PutRecords limits: records per request, and bytes per request (data and partition keys). */
const MAX_RECORDS_PER_REQUEST = 500;
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;

export interface ProducerConfig {
  streamName: string;
  /** Bytes buffered across all shards before `put` refuses records. */
  maxBufferedBytes: number;
  /** Wait this long for more records before sending an idle key's first record. */
  lingerMs: number;
  /**
   * PutRecords requests awaiting their answer at once. Keys that become ready meanwhile wait for a free slot and
   * then share one request: with 1, the producer batches across keys as it batches within one (what one key's
   * in-flight record does), so a request's fixed cost is paid once per round trip, not once per key per round trip.
   */
  maxRequestsInFlight: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Metric name prefix, e.g. "ingestor_kinesis". */
  metricPrefix: string;
}

export const DEFAULT_PRODUCER_CONFIG: Omit<ProducerConfig, 'streamName'> = {
  maxBufferedBytes: 64 * 1024 * 1024,
  lingerMs: 0,
  maxRequestsInFlight: 1,
  retryBaseMs: 50,
  retryMaxMs: 5000,
  metricPrefix: 'kinesis_producer',
};

/** One key's aggregate in a PutRecords request: the first `count` queued records of `key`. */
interface Outgoing {
  key: KeyQueue;
  count: number;
  /** User-record bytes (for the buffer bound). */
  bytes: number;
  entry: { PartitionKey: string; Data: Uint8Array };
}

interface Pending {
  partitionKey: string;
  data: Uint8Array;
  enqueuedAt: number;
  onAck: ((latencyMs: number) => void) | undefined;
}

class KeyQueue {
  readonly queue: Pending[] = [];
  head = 0;
  /** Ready to send or sent, not yet acknowledged: nothing else of this key goes out meanwhile. */
  inFlight = false;
  timer: NodeJS.Timeout | undefined;
  constructor(readonly partitionKey: string) {}
  get length(): number {
    return this.queue.length - this.head;
  }
}

export interface ProducerMetrics {
  userRecords: Counter<'result'>;
  requests: Counter<'result'>;
  records: Counter<'result'>;
  retries: Counter<'reason'>;
  bufferedBytes: Gauge;
  putLatency: Histogram<never>;
  recordLatency: Histogram<never>;
}

function createMetrics(registry: Registry | undefined, prefix: string): ProducerMetrics {
  const registers = registry === undefined ? [] : [registry];
  return {
    userRecords: new Counter({ name: `${prefix}_user_records_total`, help: 'User records by outcome (acked, rejected_overflow, rejected_too_large)', labelNames: ['result'], registers }),
    requests: new Counter({
      name: `${prefix}_requests_total`,
      help: 'PutRecords requests by outcome (ok, partial: some records refused, throttled, not_found, error)',
      labelNames: ['result'],
      registers,
    }),
    records: new Counter({
      name: `${prefix}_records_total`,
      help: 'Kinesis records (KPL aggregates, one key each) sent, by outcome (ok, throttled, error: refused in a PutRecords answer)',
      labelNames: ['result'],
      registers,
    }),
    retries: new Counter({ name: `${prefix}_retries_total`, help: 'Retried requests by reason', labelNames: ['reason'], registers }),
    bufferedBytes: new Gauge({ name: `${prefix}_buffered_bytes`, help: 'Bytes waiting to be acknowledged', registers }),
    putLatency: new Histogram({ name: `${prefix}_put_duration_seconds`, help: 'PutRecords round trip', buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1], registers }),
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
  /** Keys made ready since the last dispatch, in the order they became ready. */
  private readonly ready: KeyQueue[] = [];
  private dispatchQueued = false;
  /** PutRecords requests sent and not yet answered (their first attempt). */
  private requestsInFlight = 0;
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
    const key = this.queueFor(partitionKey);
    key.queue.push({ partitionKey, data, enqueuedAt: performance.now(), onAck });
    this.bufferedBytes += data.length;
    this.metrics.bufferedBytes.set(this.bufferedBytes);
    this.schedule(key);
    return true;
  }

  private schedule(key: KeyQueue): void {
    if (key.inFlight || key.timer !== undefined || key.length === 0) return;
    if (this.config.lingerMs <= 0) this.markReady(key);
    else {
      key.timer = setTimeout(() => {
        key.timer = undefined;
        this.markReady(key);
      }, this.config.lingerMs);
    }
  }

  /** The key goes out in the next request: every key made ready in the same turn of the event loop shares it. */
  private markReady(key: KeyQueue): void {
    key.inFlight = true;
    this.ready.push(key);
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(this.dispatch);
  }

  /** Sends the ready keys, each as one aggregate, in as few PutRecords requests as the limits allow. */
  private readonly dispatch = (): void => {
    this.dispatchQueued = false;
    let taken = 0;
    while (taken < this.ready.length && this.requestsInFlight < this.config.maxRequestsInFlight) {
      const batch: Outgoing[] = [];
      let batchBytes = 0;
      while (taken < this.ready.length && batch.length < MAX_RECORDS_PER_REQUEST) {
        const out = this.aggregate(this.ready[taken]!);
        const size = out.entry.Data.length + Buffer.byteLength(out.entry.PartitionKey);
        // (a key that does not fit is aggregated again for the next request: building an aggregate changes nothing)
        if (batch.length > 0 && batchBytes + size > MAX_REQUEST_BYTES) break;
        batch.push(out);
        batchBytes += size;
        taken++;
      }
      this.requestsInFlight++;
      void this.send(batch);
    }
    this.ready.splice(0, taken);
  };

  /** The head of a key's queue as one KPL aggregate (up to one Kinesis record). */
  private aggregate(key: KeyQueue): Outgoing {
    const agg = new AggregatedRecordBuilder();
    let count = 0;
    let bytes = 0;
    for (let i = key.head; i < key.queue.length; i++) {
      const r = key.queue[i]!;
      if (count > 0 && !agg.wouldFit(r)) break;
      agg.add(r);
      bytes += r.data.length;
      count++;
    }
    return { key, count, bytes, entry: { PartitionKey: key.partitionKey, Data: agg.build() } };
  }

  /**
   * Sends the records of one request; what the answer refuses is sent again
   * (alone with the other refused records) until acknowledged — order depends
   * on it: nothing later of a key is sent before — or until stop() gives up.
   */
  private async send(batch: Outgoing[]): Promise<void> {
    let pending = batch;
    let holdsSlot = true;
    // the request slot is held for the first attempt only: records sent again wait out their backoff without
    // holding back the other keys (a throttled shard must not stall the keys of the others)
    const releaseSlot = (): void => {
      if (!holdsSlot) return;
      holdsSlot = false;
      this.requestsInFlight--;
      if (this.ready.length > 0 && !this.dispatchQueued) {
        this.dispatchQueued = true;
        queueMicrotask(this.dispatch);
      }
    };
    try {
      await retry(
        async () => {
          const started = performance.now();
          let res: PutRecordsOutput;
          try {
            res = await this.client.send(new PutRecordsCommand({ StreamName: this.config.streamName, Records: pending.map((o) => o.entry) }), { abortSignal: this.abandon.signal });
          } catch (err) {
            releaseSlot();
            throw err;
          }
          const answers: PutRecordsResultEntry[] = res.Records ?? [];
          // an answer that does not match the request record for record cannot say what was stored: all of it is sent again
          if (answers.length !== pending.length) {
            releaseSlot();
            throw new PutRecordsRefusedError('put_records_answer_mismatch', `${answers.length} results for ${pending.length} records`);
          }
          this.metrics.putLatency.observe((performance.now() - started) / 1000);
          const refused: Outgoing[] = [];
          let refusal: string | undefined;
          for (let i = 0; i < pending.length; i++) {
            const code = answers[i]!.ErrorCode;
            if (code === undefined || code === '') {
              this.metrics.records.inc({ result: 'ok' });
              this.acknowledged(pending[i]!);
            } else {
              this.metrics.records.inc({ result: code === 'ProvisionedThroughputExceededException' ? 'throttled' : 'error' });
              refused.push(pending[i]!);
              refusal ??= code;
            }
          }
          this.lastError = undefined;
          // after the acknowledged keys were made ready again: they go in the request the freed slot sends next
          releaseSlot();
          if (refusal === undefined) {
            this.metrics.requests.inc({ result: 'ok' });
            return;
          }
          this.metrics.requests.inc({ result: 'partial' });
          pending = refused;
          throw new PutRecordsRefusedError('put_records_refused', `${refused.length} of the request's records refused (${refusal})`, refusal);
        },
        {
          what: 'PutRecords',
          signal: this.abandon.signal,
          baseMs: this.config.retryBaseMs,
          maxMs: this.config.retryMaxMs,
          onRetry: (err) => {
            if (err instanceof PutRecordsRefusedError) {
              const reason = err.awsCode === 'ProvisionedThroughputExceededException' ? 'throttled' : 'error';
              // (the answer's own code, bounded: it reaches /health)
              this.lastError = (err.awsCode ?? err.code).slice(0, 64);
              this.metrics.retries.inc({ reason });
              return;
            }
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
      // abandoned by stop(): what is still queued is counted there
    } finally {
      releaseSlot();
    }
  }

  /** A key's aggregate is stored: its records are acknowledged, and the key's next aggregate (if any) is made ready. */
  private acknowledged({ key, count, bytes }: Outgoing): void {
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const r = key.queue[key.head + i]!;
      const latency = now - r.enqueuedAt;
      this.metrics.recordLatency.observe(latency / 1000);
      r.onAck?.(latency);
    }
    this.metrics.userRecords.inc({ result: 'acked' }, count);
    key.head += count;
    if (key.head > 4096 && key.head * 2 > key.queue.length) {
      key.queue.splice(0, key.head);
      key.head = 0;
    }
    this.bufferedBytes -= bytes;
    this.metrics.bufferedBytes.set(this.bufferedBytes);
    key.inFlight = false;
    if (key.length > 0) {
      this.markReady(key);
      return;
    }
    if (key.timer === undefined) this.queues.delete(key.partitionKey); // bounded by the keys in use, not by every key ever seen
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
