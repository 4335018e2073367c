/**
 * Kinesis enhanced fan-out for tests: kinesalite has no SubscribeToShard, and
 * tests cannot reach AWS. An HTTP/2 cleartext (h2c) server that keeps stream
 * consumers in memory, serves SubscribeToShard as an AWS event stream built
 * from GetRecords against kinesalite, and forwards every other operation to
 * kinesalite, so one endpoint serves a client doing ListShards and
 * SubscribeToShard alike.
 *
 * AWS behaviour kept: an `initial-response` event first (the SDK awaits the
 * first event before `send` resolves), subscriptions that end after
 * `subscriptionMs` (5 min on AWS), one SubscribeToShard per consumer and shard
 * per second (else ResourceInUseException), a newer subscription taking over
 * an older one, and a closed shard's last event carrying ChildShards and no
 * ContinuationSequenceNumber.
 */
import { createDecipheriv } from 'node:crypto';
import { createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { listen } from './listen.ts';
import { crc32 } from 'node:zlib';
import { DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, ListShardsCommand, type ShardIteratorType } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../client.ts';

export interface EnhancedFanOutOptions {
  /** How long one subscription lasts before the server ends it (AWS: 5 minutes). */
  subscriptionMs?: number;
  /** GetRecords limit, so records per event: small values make many events. */
  recordsPerEvent?: number;
}

interface Consumer {
  ConsumerName: string;
  ConsumerARN: string;
  ConsumerStatus: 'ACTIVE';
  ConsumerCreationTimestamp: number;
  StreamARN: string;
}

interface Subscription {
  ended: boolean;
}

interface SubscribeInput {
  ConsumerARN?: string;
  ShardId?: string;
  StartingPosition?: { Type?: string; SequenceNumber?: string; Timestamp?: number };
}

class ClientError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const JSON_TYPE = 'application/x-amz-json-1.1';
const POLL_MS = 20;
const HEARTBEAT_MS = 1000;
const FORWARDED_HEADERS = ['content-type', 'x-amz-target', 'authorization', 'x-amz-date', 'x-amz-security-token'];

export class EnhancedFanOutEmulator {
  private readonly server: Http2Server = createServer();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly kinesis: KinesisClient;
  private readonly consumers = new Map<string, Consumer>();
  private readonly lastSubscribe = new Map<string, number>();
  private readonly live = new Map<string, Subscription>();
  private readonly subscriptionMs: number;
  private readonly recordsPerEvent: number;
  port = 0;
  /** SubscribeToShard calls accepted / refused with ResourceInUseException. */
  subscriptions = 0;
  refused = 0;

  /** `upstream`: a kinesalite endpoint (http://host:port). */
  constructor(
    private readonly upstream: string,
    options: EnhancedFanOutOptions = {},
  ) {
    this.kinesis = createKinesisClient({ region: 'us-east-1', endpoint: upstream });
    this.subscriptionMs = options.subscriptionMs ?? 300_000;
    this.recordsPerEvent = options.recordsPerEvent ?? 10_000;
    this.server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => undefined);
    });
    this.server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        this.dispatch(stream, headers, Buffer.concat(chunks)).catch((err: unknown) => {
          const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
          const status = err instanceof ClientError ? 400 : (e.$metadata?.httpStatusCode ?? 500);
          // the error's text is the answer's body, as Kinesis answers (a test emulator: nothing secret in it)
          reply(stream, status, { __type: err instanceof ClientError ? err.type : (e.name ?? 'InternalFailureException'), message: e.message ?? String(err) });
        });
      });
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await listen(this.server);
  }

  async stop(): Promise<void> {
    for (const sub of this.live.values()) sub.ended = true;
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.kinesis.destroy();
  }

  private async dispatch(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer): Promise<void> {
    const target = String(headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1);
    const input = (body.length > 0 ? JSON.parse(body.toString('utf8')) : {}) as Record<string, unknown>;
    switch (operation) {
      case 'RegisterStreamConsumer':
        return reply(stream, 200, { Consumer: await this.register(String(input['StreamARN']), String(input['ConsumerName'])) });
      case 'DescribeStreamConsumer':
        return reply(stream, 200, { ConsumerDescription: this.consumer(input) });
      case 'ListStreamConsumers':
        return reply(stream, 200, { Consumers: [...this.consumers.values()].filter((c) => c.StreamARN === input['StreamARN']).map(({ StreamARN: _, ...c }) => c) });
      case 'DeregisterStreamConsumer': {
        const c = this.consumer(input);
        this.consumers.delete(c.ConsumerARN);
        for (const [key, sub] of this.live) if (key.startsWith(`${c.ConsumerARN} `)) sub.ended = true;
        return reply(stream, 200, {});
      }
      case 'SubscribeToShard':
        return this.subscribe(stream, input as SubscribeInput);
      default:
        return this.forward(stream, headers, body);
    }
  }

  private async register(streamArn: string, name: string): Promise<Omit<Consumer, 'StreamARN'>> {
    await this.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamNameOf(streamArn) })); // unknown stream: its error goes back as is
    if ([...this.consumers.values()].some((c) => c.StreamARN === streamArn && c.ConsumerName === name)) {
      throw new ClientError('ResourceInUseException', `Consumer ${name} under stream ${streamArn} already exists`);
    }
    const ts = Math.floor(Date.now() / 1000);
    const c: Consumer = { ConsumerName: name, ConsumerARN: `${streamArn}/consumer/${name}:${ts}`, ConsumerStatus: 'ACTIVE', ConsumerCreationTimestamp: ts, StreamARN: streamArn };
    this.consumers.set(c.ConsumerARN, c);
    const { StreamARN: _, ...out } = c;
    return out;
  }

  private consumer(input: Record<string, unknown>): Consumer {
    const arn = input['ConsumerARN'];
    const found = typeof arn === 'string' ? this.consumers.get(arn) : [...this.consumers.values()].find((c) => c.StreamARN === input['StreamARN'] && c.ConsumerName === input['ConsumerName']);
    if (found === undefined) throw new ClientError('ResourceNotFoundException', `Consumer ${String(arn ?? input['ConsumerName'])} not found`);
    return found;
  }

  private async subscribe(stream: ServerHttp2Stream, input: SubscribeInput): Promise<void> {
    const consumer = this.consumer({ ConsumerARN: input.ConsumerARN ?? '' });
    const shardId = input.ShardId ?? '';
    const key = `${consumer.ConsumerARN} ${shardId}`;
    const now = Date.now();
    if (now - (this.lastSubscribe.get(key) ?? -Infinity) < 1000) {
      this.refused++;
      throw new ClientError('ResourceInUseException', `Another active subscription or a subscription attempt in the last second for ${shardId}`);
    }
    this.lastSubscribe.set(key, now);
    const streamName = streamNameOf(consumer.StreamARN);
    const pos = input.StartingPosition ?? {};
    let iterator = (
      await this.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: pos.Type as ShardIteratorType,
          StartingSequenceNumber: pos.SequenceNumber,
          Timestamp: pos.Timestamp === undefined ? undefined : new Date(pos.Timestamp * 1000),
        }),
      )
    ).ShardIterator;
    this.subscriptions++;
    const sub: Subscription = { ended: false };
    const previous = this.live.get(key);
    if (previous !== undefined) previous.ended = true; // a new subscription takes over
    this.live.set(key, sub);
    stream.respond({ ':status': 200, 'content-type': 'application/vnd.amazon.eventstream' });
    await write(stream, frame({ ':message-type': 'event', ':event-type': 'initial-response', ':content-type': 'application/json' }, '{}'));
    const endAt = now + this.subscriptionMs;
    let lastEventAt = 0; // the first answer goes out at once, even empty: it carries the first continuation
    let continuation: string | undefined;
    try {
      while (!sub.ended && !stream.closed && Date.now() < endAt && iterator !== undefined) {
        const res = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.recordsPerEvent }));
        const records = res.Records ?? [];
        iterator = res.NextShardIterator;
        if (records.length > 0) continuation = records[records.length - 1]!.SequenceNumber;
        else if (iterator !== undefined) continuation = positionOf(iterator) ?? continuation;
        if (records.length > 0 || iterator === undefined || Date.now() - lastEventAt >= HEARTBEAT_MS) {
          const event = {
            Records: records.map((r) => ({
              SequenceNumber: r.SequenceNumber,
              ApproximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
              Data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
              PartitionKey: r.PartitionKey,
            })),
            MillisBehindLatest: res.MillisBehindLatest ?? 0,
            // a closed shard read to its end: no continuation, its children instead
            ...(iterator === undefined ? { ChildShards: await this.childShards(streamName, shardId) } : { ContinuationSequenceNumber: continuation }),
          };
          await write(stream, frame({ ':message-type': 'event', ':event-type': 'SubscribeToShardEvent', ':content-type': 'application/json' }, JSON.stringify(event)));
          lastEventAt = Date.now();
        }
        if (records.length === 0) await sleep(POLL_MS);
      }
    } finally {
      if (this.live.get(key) === sub) this.live.delete(key);
      if (!stream.closed) stream.end();
    }
  }

  private async childShards(streamName: string, shardId: string): Promise<{ ShardId: string; ParentShards: string[]; HashKeyRange: unknown }[]> {
    const { Shards } = await this.kinesis.send(new ListShardsCommand({ StreamName: streamName }));
    return (Shards ?? [])
      .filter((s) => s.ParentShardId === shardId || s.AdjacentParentShardId === shardId)
      .map((s) => ({ ShardId: s.ShardId!, ParentShards: [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => p !== undefined), HashKeyRange: s.HashKeyRange }));
  }

  private async forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer): Promise<void> {
    const out: Record<string, string> = {};
    for (const h of FORWARDED_HEADERS) if (typeof headers[h] === 'string') out[h] = headers[h];
    const res = await fetch(this.upstream, { method: 'POST', headers: out, body });
    const answer = Buffer.from(await res.arrayBuffer());
    if (stream.closed) return;
    stream.respond({ ':status': res.status, 'content-type': res.headers.get('content-type') ?? JSON_TYPE });
    stream.end(answer);
  }
}

function reply(stream: ServerHttp2Stream, status: number, body: unknown): void {
  if (stream.closed || stream.headersSent) return;
  stream.respond({ ':status': status, 'content-type': JSON_TYPE });
  stream.end(JSON.stringify(body));
}

function streamNameOf(streamArn: string): string {
  return streamArn.slice(streamArn.indexOf(':stream/') + ':stream/'.length).split('/')[0]!;
}

/**
 * One event-stream message (prelude, string headers, payload, CRCs), the
 * framing @smithy/core's EventStreamCodec decodes. Written here because the
 * codec is not a dependency this package can import.
 */
function frame(headers: Record<string, string>, payload: string): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const h = Buffer.alloc(1 + n.length + 3);
    h[0] = n.length;
    n.copy(h, 1);
    h[1 + n.length] = 7; // header value type: string
    h.writeUInt16BE(v.length, 2 + n.length);
    parts.push(h, v);
  }
  const head = Buffer.concat(parts);
  const body = Buffer.from(payload, 'utf8');
  const total = 12 + head.length + body.length + 4;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(head.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  head.copy(out, 12);
  body.copy(out, 12 + head.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}

/** Honours HTTP/2 flow control like AWS does: a slow consumer slows the push instead of filling memory. */
function write(stream: ServerHttp2Stream, chunk: Buffer): Promise<void> {
  if (stream.closed) return Promise.resolve();
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/**
 * The continuation for a position no record has been read at yet (an empty
 * shard, LATEST): a sequence number that AFTER_SEQUENCE_NUMBER turns back into
 * that position. kinesalite iterators are its position encrypted with a fixed
 * key; its AFTER_SEQUENCE_NUMBER keeps the record index and adds one second to
 * the time field (the hex digits above the last nine), so one second less is
 * the answer.
 */
const KINESALITE_KEY = Buffer.from('1133a5a833666b49abf28c8ba302930f0b2fb240dccd43cf4dfbc0ca91f17751', 'hex');
const KINESALITE_IV = Buffer.from('7bf139dbabbea2d9995d6fcae1dff7da', 'hex');

function positionOf(iterator: string): string | undefined {
  try {
    const raw = Buffer.from(iterator, 'base64');
    const d = createDecipheriv('aes-256-cbc', KINESALITE_KEY, KINESALITE_IV);
    const seq = Buffer.concat([d.update(raw.subarray(8)), d.final()])
      .toString('utf8')
      .split('/')[3];
    return seq === undefined ? undefined : (BigInt(seq) - 16n ** 9n).toString();
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
