/**
 * Enhanced fan-out consumer for one shard: SubscribeToShard pushes records
 * over HTTP/2 (a dedicated 2 MB/s per consumer and shard, ~70 ms instead of a
 * poll interval), with the same contract as the polling ShardReader: `handle`
 * is awaited before more is handed over, a refused batch comes again from its
 * first record, `active()` false stops the reader, `finished` marks a closed
 * shard read to its end.
 *
 * A subscription ends after 5 minutes (or an error); the next one starts
 * AFTER the last event's ContinuationSequenceNumber once an event has been
 * handed over in full, else AT the checkpoint's record, skipping the user
 * records of it already handed over (a checkpoint can sit inside a KPL aggregate).
 */
import { backoffDelay } from '@hotpath/service';
import { DescribeStreamConsumerCommand, DescribeStreamSummaryCommand, KinesisClient, RegisterStreamConsumerCommand, type StartingPosition, SubscribeToShardCommand } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import type { KinesisEndpoint } from './client.ts';
import { READER_BACKOFF, checkpointOf, compareCheckpoints, userRecords, type ShardReaderOptions } from './shard-reader.ts';
import type { ShardSource } from './fetch-worker.ts';

/** How often `active()` is checked while a subscription is quiet or the reader backs off. */
const ACTIVE_CHECK_MS = 50;

/** A KinesisClient that can subscribe: SubscribeToShard needs HTTP/2. */
export function createSubscribeClient(config: KinesisEndpoint): KinesisClient {
  if (config.endpoint === undefined) return new KinesisClient({ region: config.region }); // the SDK's Node default is HTTP/2
  return new KinesisClient({
    region: config.region,
    endpoint: config.endpoint,
    // placeholder credentials for a plain-HTTP emulator only; an HTTPS endpoint keeps the default chain (see createKinesisClient)
    ...(config.endpoint.startsWith('http://') ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    // To an http:// endpoint NodeHttp2Handler speaks cleartext HTTP/2 (h2c, prior knowledge). The timeout is
    // per stream and counts idle time only: a subscription is never idle longer than its heartbeat.
    requestHandler: new NodeHttp2Handler({ requestTimeout: 30_000 }),
    maxAttempts: 1, // the reader owns retries
  });
}

/** The consumer ARN of `consumerName` on the stream, registered if new, once it is ACTIVE (AWS: seconds after registering). */
export async function registerConsumer(client: KinesisClient, streamName: string, consumerName: string): Promise<string> {
  const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  const StreamARN = summary.StreamDescriptionSummary!.StreamARN!;
  try {
    await client.send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: consumerName }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'ResourceInUseException') throw err; // registered before: reuse it
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { ConsumerDescription: c } = await client.send(new DescribeStreamConsumerCommand({ StreamARN, ConsumerName: consumerName }));
    if (c?.ConsumerStatus === 'ACTIVE') return c.ConsumerARN!;
    if (Date.now() > deadline) throw new Error(`consumer ${consumerName} of ${streamName} is ${c?.ConsumerStatus}, not ACTIVE`);
    await sleep(500);
  }
}

export class FanoutShardReader implements ShardSource {
  finished = false;
  /** Last user record handed over. */
  private lastCheckpoint: string | undefined;
  /** Every Kinesis record up to this sequence number has been handed over in full. */
  private resumeAfter: string | undefined;
  /** `handle` is running: an error now is the caller's refusal, not a Kinesis failure. */
  private handing = false;

  constructor(
    private readonly client: KinesisClient,
    private readonly o: ShardReaderOptions & { consumerArn: string },
  ) {
    if (typeof o.start === 'object') this.lastCheckpoint = o.start.after;
  }

  /** Runs until the shard ends or `active()` turns false. */
  async run(): Promise<void> {
    let failures = 0;
    while (this.o.active()) {
      const abort = new AbortController();
      // The event stream may stay quiet for seconds: only aborting it wakes the reader up.
      const watch = setInterval(() => this.o.active() || abort.abort(), ACTIVE_CHECK_MS);
      try {
        if (await this.subscription(abort.signal, () => (failures = 0))) {
          this.finished = true;
          return;
        }
      } catch (err) {
        // ResourceInUseException (a subscription less than a second ago), a dropped connection, a refused batch:
        // the next subscription starts from what has been handed over.
        if (!this.o.active()) return;
        if (this.handing) this.handing = false;
        else this.o.onError?.(err);
        await this.pause(backoffDelay(failures++, READER_BACKOFF));
      } finally {
        clearInterval(watch);
        abort.abort(); // left early (refused batch, end of shard): close the HTTP/2 stream
      }
    }
  }

  /** One SubscribeToShard call; true when it read a closed shard to its end. */
  private async subscription(abortSignal: AbortSignal, healthy: () => void): Promise<boolean> {
    let skipping = this.resumeAfter === undefined && this.lastCheckpoint !== undefined;
    const res = await this.client.send(new SubscribeToShardCommand({ ConsumerARN: this.o.consumerArn, ShardId: this.o.shardId, StartingPosition: this.position() }), { abortSignal });
    for await (const event of res.EventStream ?? []) {
      const e = event.SubscribeToShardEvent;
      if (e !== undefined) this.o.onPoll?.();
      if (e === undefined) continue; // error members are thrown by the SDK; anything else is unknown to this version
      healthy();
      const records = e.Records ?? [];
      const out = userRecords(records, this.o);
      // Only the first records of a subscription opened AT the checkpoint can be ones already handed over.
      const fresh = skipping ? out.filter((r) => compareCheckpoints(checkpointOf(r), this.lastCheckpoint!) > 0) : out;
      if (records.length > 0) skipping = false;
      if (fresh.length > 0) {
        if (!this.o.active()) return false;
        this.handing = true;
        await this.o.handle(fresh, e.MillisBehindLatest ?? 0);
        this.handing = false;
        this.lastCheckpoint = checkpointOf(fresh[fresh.length - 1]!);
      }
      if (e.ContinuationSequenceNumber != null) this.resumeAfter = e.ContinuationSequenceNumber;
      else if (e.ChildShards != null) return true; // a closed shard read to its end
    }
    return false;
  }

  private position(): StartingPosition {
    if (this.resumeAfter !== undefined) return { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: this.resumeAfter };
    if (this.lastCheckpoint !== undefined) return { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: this.lastCheckpoint.split(':')[0] };
    return { Type: this.o.start === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON' };
  }

  /** Sleeps `ms`, or less once `active()` turns false. */
  private async pause(ms: number): Promise<void> {
    for (let left = ms; left > 0 && this.o.active(); left -= ACTIVE_CHECK_MS) await sleep(Math.min(left, ACTIVE_CHECK_MS));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
