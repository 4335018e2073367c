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

  it('keeps order through throttling (whole requests refused with a real 400, single records refused in a 200) and an endpoint outage', async () => {
    await emu.createStream('faults', 2);
    // kinesalite enforces no shard limits: a proxy answers every 4th PutRecords as a throttling Kinesis does,
    // and refuses every 7th record of the others in its answer (FailedRecordCount), as Kinesis does when one shard is over its limit
    const proxy = new KinesisFaultProxy(emu.endpoint);
    let puts = 0;
    let records = 0;
    proxy.refuse((call) => (call.operation === 'PutRecords' && ++puts % 4 === 0 ? { type: 'ProvisionedThroughputExceededException' } : undefined));
    proxy.refuseRecords(() => (++records % 7 === 0 ? 'ProvisionedThroughputExceededException' : undefined));
    await proxy.start();
    const client = proxy.client();
    try {
      const registry = new Registry();
      const producer = new KinesisProducer(client, { streamName: 'faults', retryBaseMs: 5, retryMaxMs: 100, metricPrefix: 'test_kinesis' }, registry);
      await producer.start();
      const retries = async (reason: string) => (await producer.metrics.retries.get()).values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
      const counted = async (metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, result: string) =>
        (await metric.get()).values.find((v) => v.labels['result'] === result)?.value ?? 0;
      // records keep coming, a few per turn of the event loop, so that requests go out one after another, until the faults were met
      let n = 0;
      const putUntil = async (met: () => boolean | Promise<boolean>, deadlineMs = 20_000) => {
        const deadline = Date.now() + deadlineMs;
        while (!(await met())) {
          if (Date.now() > deadline) throw new Error('the producer did not meet the fault in time');
          for (const s of SYMBOLS) producer.put(s, payload(s, n));
          n++;
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      await putUntil(() => proxy.count('PutRecords').refused > 0 && proxy.answered.some((c) => (c.refusedRecords?.length ?? 0) > 0));
      // the outage starts while records are queued and in flight, and ends once the producer has met it
      await emu.down();
      await putUntil(async () => (await retries('error')) > 0);
      await emu.up();
      await producer.flush();
      const stored = await readStream(emu.client(), 'faults');
      checkExactlyOnceInOrder(stored, n);
      // every refusal was a retry counted as throttling: whole requests, and requests with refused records
      const partial = proxy.answered.filter((c) => (c.refusedRecords?.length ?? 0) > 0);
      expect(await retries('throttled')).toBe(proxy.count('PutRecords').refused + partial.length);
      expect(await counted(producer.metrics.requests, 'partial')).toBe(partial.length);
      expect(await counted(producer.metrics.records, 'throttled')).toBe(partial.reduce((n, c) => n + c.refusedRecords!.length, 0));
      // the keys shared requests (5 keys, far fewer requests than aggregates)
      const sent = proxy.answered.filter((c) => c.operation === 'PutRecords' && c.refused === undefined);
      expect(sent.some((c) => (c.input['Records'] as unknown[]).length === SYMBOLS.length)).toBe(true);
      // each refused record (whole request or alone) was sent again as it was (same aggregate) before anything else of its key
      let resent = 0;
      for (const key of SYMBOLS) {
        const sends: { data: string; refused: boolean }[] = [];
        for (const c of proxy.answered) {
          if (c.operation !== 'PutRecords') continue;
          (c.input['Records'] as { PartitionKey: string; Data: string }[]).forEach((r, i) => {
            if (r.PartitionKey === key) sends.push({ data: r.Data, refused: c.refused !== undefined || (c.refusedRecords?.includes(i) ?? false) });
          });
        }
        for (let i = 0; i < sends.length - 1; i++) {
          if (!sends[i]!.refused) continue;
          resent++;
          expect(sends[i + 1]!.data).toBe(sends[i]!.data);
        }
      }
      expect(resent).toBeGreaterThan(0);
    } finally {
      client.destroy();
      await proxy.stop();
    }
  });

  it('the keys ready together share one PutRecords, within its limits (500 records, 5 MiB)', async () => {
    await emu.createStream('shared', 4);
    const proxy = new KinesisFaultProxy(emu.endpoint);
    await proxy.start();
    const client = proxy.client();
    try {
      const producer = new KinesisProducer(client, { streamName: 'shared' });
      await producer.start();
      // 501 keys ready in one turn: two requests, 500 records and 1
      const keys = Array.from({ length: 501 }, (_, i) => `K${String(i).padStart(4, '0')}USDT`);
      for (const k of keys) producer.put(k, Buffer.from(k));
      await producer.flush();
      const puts = () => proxy.answered.filter((c) => c.operation === 'PutRecords').map((c) => (c.input['Records'] as unknown[]).length);
      expect(puts()).toEqual([500, 1]);
      // six records of 1000 KiB: five fit one request's 5 MiB, the sixth goes in a second
      const big = Array.from({ length: 6 }, (_, i) => `BIG${i}USDT`);
      for (const k of big) producer.put(k, Buffer.alloc(1000 * 1024, k));
      await producer.flush();
      expect(puts().slice(2).sort()).toEqual([1, 5]); // answered in either order
      const stored = await readStream(emu.client(), 'shared');
      expect(new Set(stored.map((r) => r.partitionKey))).toEqual(new Set([...keys, ...big]));
      for (const r of stored) if (r.partitionKey.startsWith('K')) expect(Buffer.from(r.data).toString()).toBe(r.partitionKey);
    } finally {
      client.destroy();
      await proxy.stop();
    }
  });

  it('one request in flight: the keys that become ready while it is answered go together in the next', async () => {
    await emu.createStream('one-in-flight', 2);
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    // the first PutRecords is held at the proxy until the test lets it through
    const proxy = new KinesisFaultProxy(emu.endpoint, async (call) => {
      if (call.operation === 'PutRecords' && first) {
        first = false;
        await held;
      }
      return undefined;
    });
    await proxy.start();
    const client = proxy.client();
    try {
      const producer = new KinesisProducer(client, { streamName: 'one-in-flight' });
      await producer.start();
      producer.put('BTCUSDT', payload('BTCUSDT', 0));
      await vi.waitFor(() => expect(first).toBe(false)); // the first request reached the proxy
      for (const s of SYMBOLS) producer.put(s, payload(s, s === 'BTCUSDT' ? 1 : 0));
      release!();
      await producer.flush();
      const puts = proxy.answered.filter((c) => c.operation === 'PutRecords').map((c) => (c.input['Records'] as { PartitionKey: string }[]).map((r) => r.PartitionKey));
      expect(puts, JSON.stringify(puts)).toHaveLength(2);
      expect(puts[0]).toEqual(['BTCUSDT']);
      expect([...puts[1]!].sort()).toEqual([...SYMBOLS].sort()); // every key once, BTCUSDT's second record among them
      const stored = await readStream(emu.client(), 'one-in-flight');
      for (const s of SYMBOLS) expect(stored.filter((r) => r.partitionKey === s).map((r) => Buffer.from(r.data).readUInt32LE(8))).toEqual(s === 'BTCUSDT' ? [0, 1] : [0]);
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
