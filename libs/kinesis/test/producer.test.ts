/**
 * The producer against a real Kinesis API (kinesalite in-process): exactly
 * once and in order per partition key, through throttling and an outage of
 * the endpoint, with a bounded buffer.
 */
import { DescribeStreamSummaryCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Registry } from '@hotpath/telemetry';
import { KinesisProducer, listShards, partitionHash, readStream } from '../src/index.ts';
import { KinesisEmulator, KinesisFaultProxy } from '../src/testing/emulator.ts';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'DOGEUSDT', 'SOLUSDT', 'XRPUSDT'];

function payload(symbol: string, seq: number): Buffer {
  const b = Buffer.alloc(40);
  b.write(symbol.padEnd(8), 0);
  b.writeUInt32LE(seq, 8);
  return b;
}

/**
 * Per key, after dropping redelivered copies (a request whose response was
 * lost in an outage is sent again: Kinesis is at-least-once, consumers
 * de-duplicate by the envelope's sequence), the records are exactly 0..n-1
 * in order. Returns the number of redelivered copies.
 */
function checkExactlyOnceInOrder(records: { partitionKey: string; data: Uint8Array }[], perSymbol: number): number {
  const next = new Map<string, number>();
  let duplicates = 0;
  for (const r of records) {
    const d = Buffer.from(r.data);
    const symbol = d.toString('utf8', 0, 8).trim();
    expect(symbol).toBe(r.partitionKey);
    const seq = d.readUInt32LE(8);
    const want = next.get(symbol) ?? 0;
    if (seq < want) {
      duplicates++;
      continue;
    }
    expect(seq, `${symbol} out of order or gap`).toBe(want);
    next.set(symbol, want + 1);
  }
  for (const s of SYMBOLS) expect(next.get(s)).toBe(perSymbol);
  return duplicates;
}

describe('KinesisProducer', () => {
  const emu = new KinesisEmulator();
  beforeAll(async () => emu.start());
  afterAll(async () => emu.stop());

  it('routes by partition key like Kinesis, aggregates per key, keeps per-key order', async () => {
    await emu.createStream('order', 3);
    const client = emu.client();
    const producer = new KinesisProducer(client, { streamName: 'order' });
    await producer.start();
    expect(producer.shardCount).toBe(3);
    const N = 3000;
    for (let i = 0; i < N; i++) for (const s of SYMBOLS) expect(producer.put(s, payload(s, i))).toBe(true);
    await producer.flush();
    const records = await readStream(client, 'order');
    expect(records).toHaveLength(N * SYMBOLS.length);
    expect(checkExactlyOnceInOrder(records, N)).toBe(0); // no faults, no redelivery
    // each key landed on exactly one shard, and aggregates held many user records
    const shardsPerKey = new Map<string, Set<string>>();
    for (const r of records) shardsPerKey.set(r.partitionKey, (shardsPerKey.get(r.partitionKey) ?? new Set()).add(r.shardId));
    for (const set of shardsPerKey.values()) expect(set.size).toBe(1);
    expect(new Set(records.map((r) => r.sequenceNumber)).size).toBeLessThan(records.length / 10);
  });

  it('a reshard it did not see mid-run: every record still lands on the shard its key hashes to, in order', async () => {
    await emu.createStream('reshard', 1);
    const client = emu.client();
    const producer = new KinesisProducer(client, { streamName: 'reshard' });
    await producer.start();
    const keys = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT'];
    const put = async (from: number, to: number) => {
      for (let i = from; i < to; i++) for (const k of keys) producer.put(k, Buffer.from(`${k}:${i}`));
      await producer.flush();
    };
    await put(0, 100);
    const [parent] = await listShards(client, 'reshard');
    const mid = (BigInt(parent!.HashKeyRange!.StartingHashKey!) + BigInt(parent!.HashKeyRange!.EndingHashKey!)) / 2n;
    await client.send(new SplitShardCommand({ StreamName: 'reshard', ShardToSplit: parent!.ShardId!, NewStartingHashKey: String(mid) }));
    await vi.waitFor(async () => expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: 'reshard' }))).StreamDescriptionSummary!.StreamStatus).toBe('ACTIVE'));
    await put(100, 200); // the same producer: its view of the stream is from before the split
    const shards = await listShards(client, 'reshard');
    const children = shards.filter((x) => x.ParentShardId === parent!.ShardId);
    expect(children).toHaveLength(2);
    expect(new Set(keys.map((k) => partitionHash(k) < mid)).size).toBe(2); // the keys really straddle the split
    const records = await readStream(client, 'reshard');
    for (const r of records) {
      const shard = shards.find((x) => x.ShardId === r.shardId)!;
      const h = partitionHash(r.partitionKey);
      expect(h >= BigInt(shard.HashKeyRange!.StartingHashKey!) && h <= BigInt(shard.HashKeyRange!.EndingHashKey!)).toBe(true);
    }
    for (const k of keys) expect(records.filter((r) => r.partitionKey === k).map((r) => Buffer.from(r.data).toString())).toEqual(Array.from({ length: 200 }, (_, i) => `${k}:${i}`));
  });

  it('keeps order through throttling (a real 400 from the endpoint) and an endpoint outage', async () => {
    await emu.createStream('faults', 2);
    // kinesalite enforces no shard limits: a proxy answers every 4th PutRecord as a throttling Kinesis does
    const proxy = new KinesisFaultProxy(emu.endpoint);
    let puts = 0;
    proxy.refuse((call) => (call.operation === 'PutRecord' && ++puts % 4 === 0 ? { type: 'ProvisionedThroughputExceededException' } : undefined));
    await proxy.start();
    const client = proxy.client();
    try {
      const registry = new Registry();
      const producer = new KinesisProducer(client, { streamName: 'faults', retryBaseMs: 5, retryMaxMs: 100, metricPrefix: 'test_kinesis' }, registry);
      await producer.start();
      const retries = async (reason: string) => (await producer.metrics.retries.get()).values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
      const N = 2000;
      const putRange = (from: number, to: number) => {
        for (let i = from; i < to; i++) for (const s of SYMBOLS) producer.put(s, payload(s, i));
      };
      putRange(0, N / 2);
      await vi.waitFor(() => expect(proxy.count('PutRecord').refused).toBeGreaterThan(0), { timeout: 20_000 });
      // the outage starts while records are queued and in flight, and ends once the producer has met it
      await emu.down();
      putRange(N / 2, N);
      await vi.waitFor(async () => expect(await retries('error')).toBeGreaterThan(0), { timeout: 20_000 });
      await emu.up();
      await producer.flush();
      const records = await readStream(emu.client(), 'faults');
      checkExactlyOnceInOrder(records, N);
      // every refusal was a retry counted as throttling, nothing else was
      expect(await retries('throttled')).toBe(proxy.count('PutRecord').refused);
      // each refused PutRecord was sent again as it was (same aggregate, same ordering sequence) before anything else of its key
      const putsOf = (key: string) => proxy.answered.filter((c) => c.operation === 'PutRecord' && c.input['PartitionKey'] === key);
      for (const key of SYMBOLS) {
        const calls = putsOf(key);
        for (let i = 0; i < calls.length - 1; i++) {
          if (calls[i]!.refused === undefined) continue;
          expect(calls[i + 1]!.input['Data']).toBe(calls[i]!.input['Data']);
          expect(calls[i + 1]!.input['SequenceNumberForOrdering']).toBe(calls[i]!.input['SequenceNumberForOrdering']);
        }
      }
    } finally {
      client.destroy();
      await proxy.stop();
    }
  });

  it('refuses records past the buffer bound and counts them', async () => {
    await emu.createStream('bounded', 1);
    const registry = new Registry();
    const producer = new KinesisProducer(emu.client(), { streamName: 'bounded', maxBufferedBytes: 1000, metricPrefix: 'bounded' }, registry);
    await producer.start();
    let accepted = 0;
    for (let i = 0; i < 100; i++) if (producer.put('BTCUSDT', Buffer.alloc(100))) accepted++;
    expect(accepted).toBe(10);
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'bounded_user_records_total')!;
    expect(m.values.find((v) => v.labels['result'] === 'rejected_overflow')?.value).toBe(90);
    await producer.flush();
    expect(producer.buffered.bytes).toBe(0);
  });

  it('refuses a record Kinesis could never take (over 1 MiB) at once, counted, and keeps going', async () => {
    await emu.createStream('oversize', 1);
    const registry = new Registry();
    const producer = new KinesisProducer(emu.client(), { streamName: 'oversize', metricPrefix: 'oversize' }, registry);
    await producer.start();
    expect(producer.put('BTCUSDT', Buffer.alloc(1024 * 1024 + 1))).toBe(false);
    expect(producer.put('BTCUSDT', payload('BTCUSDT', 0))).toBe(true);
    await producer.flush();
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'oversize_user_records_total')!;
    expect(m.values.find((v) => v.labels['result'] === 'rejected_too_large')?.value).toBe(1);
    const records = await readStream(emu.client(), 'oversize');
    expect(records.map((r) => Buffer.from(r.data).readUInt32LE(8))).toEqual([0]);
  });
});
