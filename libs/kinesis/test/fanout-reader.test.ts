/**
 * The enhanced fan-out reader (SubscribeToShard over HTTP/2, against the
 * EnhancedFanOutEmulator in front of kinesalite) keeps the polling
 * ShardReader's contract: the same records in the same order, nothing lost
 * or doubled across subscriptions, a refused batch delivered again from its
 * first record, a start inside a KPL aggregate, a LATEST start resumed from
 * an empty subscription's continuation, a closed shard finished, and a quiet
 * subscription stopped by `active()`; failed subscriptions reported as the
 * reader backs off from them.
 */
import { DescribeStreamSummaryCommand, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KinesisProducer, ShardReader, checkpointOf, listShards, type ConsumedRecord, type ShardReaderOptions } from '../src/index.ts';
import { FanoutShardReader, createSubscribeClient, registerConsumer } from '../src/fanout-reader.ts';
import { EnhancedFanOutEmulator } from '../src/testing/efo-emulator.ts';
import { KinesisEmulator } from '../src/testing/emulator.ts';

const view = (r: ConsumedRecord) => ({ seq: r.sequenceNumber, sub: r.subSequence, key: r.partitionKey, data: Buffer.from(r.data).toString('hex') });
const texts = (rs: ConsumedRecord[], key: string) => rs.filter((r) => r.partitionKey === key).map((r) => Buffer.from(r.data).toString());
const KEYS = ['BTCUSDT', 'ETHUSDT'];
/** A reader that misses records would wait forever: give up after this and let the assertions say what is wrong. */
const within = (ms = 60_000) => {
  const deadline = Date.now() + ms;
  return () => Date.now() < deadline;
};

describe('FanoutShardReader', () => {
  const emu = new KinesisEmulator();
  let efo: EnhancedFanOutEmulator;
  const PER_KEY = 300;
  let client: ReturnType<typeof createSubscribeClient>;
  let consumerArn: string;
  let shardId: string;
  let reference: ConsumedRecord[];

  /** Several aggregates: the producer sends what is queued when the previous record of the key is acknowledged. `afterFlush` gets each flush's index. */
  async function produce(stream: string, from: number, to: number, afterFlush?: (flush: number) => Promise<void>): Promise<void> {
    const producer = new KinesisProducer(emu.client(), { streamName: stream });
    await producer.start();
    let flushes = 0;
    for (let i = from; i < to; i++) {
      for (const key of KEYS) producer.put(key, Buffer.from(`${key}:${i}`));
      if (i % 25 === 24) {
        await producer.flush();
        await afterFlush?.(flushes++);
      }
    }
    await producer.flush();
  }

  beforeAll(async () => {
    await emu.start();
    // small events: many of them per subscription, and subscriptions that end while records are still coming
    efo = new EnhancedFanOutEmulator(emu.endpoint, { subscriptionMs: 1000, recordsPerEvent: 2 });
    await efo.start();
    client = createSubscribeClient({ region: 'us-east-1', endpoint: efo.endpoint });
    await emu.createStream('s', 1);
    await produce('s', 0, PER_KEY);
    shardId = (await listShards(emu.client(), 's'))[0]!.ShardId!;
    consumerArn = await registerConsumer(client, 's', 'app');
    // the polling reader's view of the shard is the reference
    reference = await readAll((o) => new ShardReader(emu.client(), o), { streamName: 's', shardId, start: 'TRIM_HORIZON', limit: 7 }, 2 * PER_KEY);
  });
  afterAll(async () => {
    client?.destroy();
    await efo?.stop();
    await emu.stop();
  });

  type Base = Pick<ShardReaderOptions, 'streamName' | 'shardId' | 'start' | 'limit'>;

  /** Reads until `want` user records were handed over (then stops the reader) or the shard ends. */
  async function readAll(make: (o: ShardReaderOptions) => { run(): Promise<void> }, base: Base, want: number): Promise<ConsumedRecord[]> {
    const got: ConsumedRecord[] = [];
    const time = within();
    const reader = make({
      ...base,
      pollMs: 10,
      active: () => got.length < want && time(),
      handle: async (records) => {
        got.push(...records);
      },
    });
    await reader.run();
    return got;
  }

  const subscribed =
    (arn = consumerArn) =>
    (o: ShardReaderOptions) =>
      new FanoutShardReader(client, { ...o, consumerArn: arn });

  it('registers a consumer once and hands over the records the polling reader does, in the same order', async () => {
    expect(await registerConsumer(client, 's', 'app')).toBe(consumerArn); // registered before: the same consumer
    expect(consumerArn).toMatch(/:stream\/s\/consumer\/app:\d+$/);
    const total = 2 * PER_KEY;
    const got = await readAll(subscribed(), { streamName: 's', shardId, start: 'TRIM_HORIZON' }, total);
    expect(reference).toHaveLength(total);
    expect(reference.some((r) => r.subSequence > 0)).toBe(true); // aggregates were read, not only single records
    expect(got.map(view)).toEqual(reference.map(view));
    expect(texts(got, 'ETHUSDT')).toEqual(Array.from({ length: PER_KEY }, (_, i) => `ETHUSDT:${i}`));
    expect(got.every((r) => r.shardId === shardId && r.arrivalMs > 0)).toBe(true);
    expect(got.map((r) => r.arrivalMs)).toEqual(reference.map((r) => r.arrivalMs)); // the event's timestamps are the records' own
  });

  it('loses and doubles nothing while data arrives across several subscriptions', async () => {
    const short = new EnhancedFanOutEmulator(emu.endpoint, { subscriptionMs: 500, recordsPerEvent: 3 });
    await short.start();
    const c = createSubscribeClient({ region: 'us-east-1', endpoint: short.endpoint });
    try {
      await emu.createStream('b', 1);
      const shard = (await listShards(emu.client(), 'b'))[0]!.ShardId!;
      const arn = await registerConsumer(c, 'b', 'app');
      const N = 200;
      // 8 flushes; after every other one the next waits for a new subscription: records arrive across several of them
      const newSubscription = async (flush: number) => {
        if (flush % 2 === 1) return;
        const seen = short.subscriptions;
        await vi.waitFor(() => expect(short.subscriptions).toBeGreaterThan(seen), { timeout: 20_000 });
      };
      const producing = produce('b', 0, N, newSubscription);
      const got = await readAll((o) => new FanoutShardReader(c, { ...o, consumerArn: arn }), { streamName: 'b', shardId: shard, start: 'TRIM_HORIZON' }, 2 * N);
      await producing;
      const keys = got.map(checkpointOf);
      expect(new Set(keys).size).toBe(keys.length);
      for (const key of KEYS) expect(texts(got, key)).toEqual(Array.from({ length: N }, (_, i) => `${key}:${i}`));
      expect(short.subscriptions).toBeGreaterThanOrEqual(3);
    } finally {
      c.destroy();
      await short.stop();
    }
  });

  it('delivers a refused batch again from its first record: nothing skipped, nothing doubled', async () => {
    let refusedFirst: string | undefined;
    let firstAfterRefusal: string | undefined;
    let refused = false;
    const got: ConsumedRecord[] = [];
    const time = within();
    const reader = new FanoutShardReader(client, {
      streamName: 's',
      shardId,
      start: 'TRIM_HORIZON',
      consumerArn,
      active: () => got.length < 2 * PER_KEY && time(),
      handle: async (records) => {
        if (got.length > 0 && !refused) {
          refused = true;
          refusedFirst = checkpointOf(records[0]!);
          throw new Error('not now');
        }
        if (refused && firstAfterRefusal === undefined) firstAfterRefusal = checkpointOf(records[0]!);
        got.push(...records);
      },
    });
    await reader.run();
    expect(refused).toBe(true);
    expect(firstAfterRefusal).toBe(refusedFirst);
    expect(got.map(view)).toEqual(reference.map(view));
  });

  it('starting after a checkpoint inside an aggregate hands over exactly the rest', async () => {
    const i = reference.findIndex((r, j) => r.subSequence > 0 && reference[j + 1]?.sequenceNumber === r.sequenceNumber);
    expect(i).toBeGreaterThan(0);
    const rest = reference.slice(i + 1);
    const got = await readAll(subscribed(), { streamName: 's', shardId, start: { after: checkpointOf(reference[i]!) } }, rest.length);
    expect(got[0]!.sequenceNumber).toBe(reference[i]!.sequenceNumber); // resumed inside the aggregate
    expect(got.map(view)).toEqual(rest.map(view));
  });

  it('a LATEST start resumes where an empty subscription left off: records put between subscriptions are not lost', async () => {
    const short = new EnhancedFanOutEmulator(emu.endpoint, { subscriptionMs: 300 });
    await short.start();
    const c = createSubscribeClient({ region: 'us-east-1', endpoint: short.endpoint });
    try {
      await emu.createStream('late', 1);
      const shard = (await listShards(emu.client(), 'late'))[0]!.ShardId!;
      const arn = await registerConsumer(c, 'late', 'app');
      const got: ConsumedRecord[] = [];
      const errors: string[] = [];
      const time = within();
      const reader = new FanoutShardReader(c, {
        streamName: 'late',
        shardId: shard,
        start: 'LATEST',
        consumerArn: arn,
        active: () => got.length < 2 * 30 && time(),
        handle: async (r) => void got.push(...r),
        onError: (err) => void errors.push((err as Error).name),
      });
      const running = reader.run();
      // a later subscription can only start from the empty events' ContinuationSequenceNumber
      await vi.waitFor(() => expect(short.refused).toBeGreaterThan(0), { timeout: 5000 });
      await produce('late', 0, 30);
      await running;
      for (const key of KEYS) expect(texts(got, key)).toEqual(Array.from({ length: 30 }, (_, i) => `${key}:${i}`));
      expect(short.subscriptions).toBeGreaterThanOrEqual(2);
      // each refused subscription was reported as it was backed off from (a subscription that ends is not an error)
      expect(errors).toEqual(Array.from({ length: short.refused }, () => 'ResourceInUseException'));
    } finally {
      c.destroy();
      await short.stop();
    }
  });

  it('finishes a parent shard after a split, once it is read to its end', async () => {
    const k = emu.client();
    await emu.createStream('e', 1);
    await produce('e', 0, 50);
    const parent = (await listShards(k, 'e'))[0]!;
    const lo = BigInt(parent.HashKeyRange!.StartingHashKey!);
    const hi = BigInt(parent.HashKeyRange!.EndingHashKey!);
    await k.send(new SplitShardCommand({ StreamName: 'e', ShardToSplit: parent.ShardId!, NewStartingHashKey: String((lo + hi) / 2n) }));
    await vi.waitFor(async () => expect((await k.send(new DescribeStreamSummaryCommand({ StreamName: 'e' }))).StreamDescriptionSummary!.StreamStatus).toBe('ACTIVE'), { timeout: 5000 });
    await produce('e', 50, 100); // lands in the children
    expect((await k.send(new ListShardsCommand({ StreamName: 'e' }))).Shards!.filter((s) => s.ParentShardId === parent.ShardId)).toHaveLength(2);
    const arn = await registerConsumer(client, 'e', 'app');
    const reader = new FanoutShardReader(client, {
      streamName: 'e',
      shardId: parent.ShardId!,
      start: 'TRIM_HORIZON',
      consumerArn: arn,
      active: within(), // only the end of the shard should stop it
      handle: async (records) => void got.push(...records),
    });
    const got: ConsumedRecord[] = [];
    await reader.run();
    expect(reader.finished).toBe(true);
    for (const key of KEYS) expect(texts(got, key)).toEqual(Array.from({ length: 50 }, (_, i) => `${key}:${i}`));
  });

  it('stops a quiet subscription when active() turns false, without waiting for the server to end it', async () => {
    const long = new EnhancedFanOutEmulator(emu.endpoint, { subscriptionMs: 60_000 }); // the subscription itself would outlive the test
    await long.start();
    const c = createSubscribeClient({ region: 'us-east-1', endpoint: long.endpoint });
    try {
      await emu.createStream('quiet', 1);
      const shard = (await listShards(emu.client(), 'quiet'))[0]!.ShardId!;
      const arn = await registerConsumer(c, 'quiet', 'app');
      let active = true;
      const handled: number[] = [];
      let events = 0;
      const reader = new FanoutShardReader(c, {
        streamName: 'quiet',
        shardId: shard,
        start: 'LATEST',
        consumerArn: arn,
        active: () => active,
        handle: async (r) => void handled.push(r.length),
        onPoll: () => void events++,
      });
      let stopped = false;
      const running = reader.run().then(() => (stopped = true));
      await vi.waitFor(() => expect(events).toBeGreaterThanOrEqual(1), { timeout: 20_000 }); // subscribed, an (empty) event read
      active = false;
      // the server would keep this subscription a minute: the reader must end it itself, without a record to wake it
      await vi.waitFor(() => expect(stopped).toBe(true), { timeout: 10_000 });
      await running;
      expect(long.subscriptions).toBe(1);
      expect(reader.finished).toBe(false);
      expect(handled).toEqual([]);
    } finally {
      c.destroy();
      await long.stop();
    }
  });
});
