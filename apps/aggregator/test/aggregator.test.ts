/**
 * The aggregator against a real Kinesis API (kinesalite) and a private
 * redis-server, on the real recorded fixture: the live result equals an
 * offline replay of the same envelopes bit for bit — uninterrupted, after a
 * kill of the aggregator mid-run (a second instance takes over when the
 * lease expires), and across a redis-server kill -9 + restart.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { DescribeStreamSummaryCommand, ListShardsCommand, PutRecordCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { KinesisProducer, readStream } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { EnhancedFanOutEmulator } from '@hotpath/kinesis/testing/efo';
import { DecodeStatus, hotpath } from '@hotpath/sbe';
import { FeatureStore, decodeVector, VectorStatus } from '@hotpath/state';
import { RedisServer } from '@hotpath/state/testing';
import { SymbolProcessor } from '@hotpath/processor';
import { Aggregator, AggregatorConfigSchema } from '../src/index.ts';
import { envelopes, expiriesUntilTaken, stopCleanly } from './support.ts';

describe('aggregator', { timeout: 300_000 }, () => {
  const emu = new KinesisEmulator();
  const redisServer = new RedisServer();
  const all = envelopes();
  let reference: SymbolProcessor;

  beforeAll(async () => {
    await emu.start();
    await redisServer.start();
    // Offline reference: the same envelopes through the same code, no I/O.
    reference = new SymbolProcessor('BTCUSDT');
    all.forEach((e, i) => {
      reference.apply(e, `0:${i}`);
    });
  });
  afterAll(async () => {
    await redisServer.stop();
    await emu.stop();
  });

  async function publish(stream: string, envs: Buffer[], duplicates = false): Promise<void> {
    await emu.createStream(stream, 4);
    const producer = new KinesisProducer(emu.client(), { streamName: stream });
    await producer.start();
    envs.forEach((e, i) => {
      producer.put('BTCUSDT', e);
      if (duplicates && i % 1000 === 0) producer.put('BTCUSDT', e); // a producer retry: the same envelope twice
    });
    await producer.flush();
  }

  const config = (stream: string, owner: string, extra: object = {}) =>
    AggregatorConfigSchema.parse({
      redisUrl: redisServer.url,
      symbols: ['BTCUSDT'],
      kinesisStream: stream,
      kinesisEndpoint: emu.endpoint,
      owner,
      leaseTtlMs: 600,
      pollMs: 20,
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      ...extra,
    });

  async function waitForVersion(store: FeatureStore, version: number, symbol = 'BTCUSDT'): Promise<void> {
    await vi.waitFor(async () => expect((await store.readVector(symbol).catch(() => undefined))?.version ?? 0, `${symbol}'s version`).toBeGreaterThanOrEqual(version), {
      timeout: 60_000,
      interval: 50,
    });
  }

  async function expectEqualsReference(redis: Redis): Promise<void> {
    const store = new FeatureStore(redis);
    const v = (await store.readVector('BTCUSDT'))!;
    const want = decodeVector(reference.vectorBytes(0));
    expect(v.version).toBe(want.version);
    expect(v.status).toBe(VectorStatus.Live);
    expect(Buffer.from(v.features.buffer).equals(Buffer.from(want.features.buffer))).toBe(true);
    const saved = (await store.loadState('BTCUSDT'))!;
    const restored = SymbolProcessor.restore('BTCUSDT', saved.state, saved.checkpoint);
    expect(restored.engine.serialize().equals(reference.engine.serialize())).toBe(true);
  }

  it.each(['worker', 'inline'] as const)('applies the whole stream once (duplicated envelopes skipped) and matches the offline replay bit for bit (fetch: %s)', async (fetch) => {
    const stream = `s1-${fetch}`;
    await publish(stream, all, true);
    const redis0 = new Redis(redisServer.port, '127.0.0.1');
    await redis0.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
    redis0.disconnect();
    const agg = new Aggregator(config(stream, 'a', { fetch }));
    await agg.start();
    const redis = new Redis(redisServer.port, '127.0.0.1');
    redis.on('error', () => undefined);
    await waitForVersion(new FeatureStore(redis), reference.version);
    // (the test's reader can see the write before the aggregator has processed its own reply)
    await vi.waitFor(async () => {
      const h = await agg.health();
      expect(h).toMatchObject({ ok: true, leases: 4, redis: 'ok' });
      expect(h.lastWriteAgeMs).toBeGreaterThanOrEqual(0);
      expect(h.kinesisLagSeconds).toBeGreaterThanOrEqual(0);
    });
    const updates = (await agg.registry.getMetricsAsJSON()).find((x) => x.name === 'aggregator_feature_updates_total')!.values[0]!.value;
    expect(updates).toBeGreaterThan(0);
    await stopCleanly(agg);
    await expectEqualsReference(redis);
    const m = (await agg.registry.getMetricsAsJSON()).find((x) => x.name === 'aggregator_kinesis_records_processed_total')!;
    expect(m.values.find((v) => v.labels['status'] === 'duplicate')?.value).toBeGreaterThan(0);
    expect((await readStream(emu.client(), stream)).length).toBeGreaterThan(all.length);
    redis.disconnect();
  });

  it('a killed instance is replaced once its leases expired; the survivor resumes from the checkpoint; result unchanged', async () => {
    const half = Math.floor(all.length / 2);
    const quarter = Math.floor(all.length / 4);
    await publish('s2', all.slice(0, quarter));
    const redis = new Redis(redisServer.port, '127.0.0.1');
    redis.on('error', () => undefined);
    await redis.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
    const store = new FeatureStore(redis);
    const firstHalf = new SymbolProcessor('BTCUSDT');
    all.slice(0, half).forEach((e, i) => {
      firstHalf.apply(e, `0:${i}`);
    });
    // a commits its state once (first batch) and then only publishes vectors: its death leaves a long replay
    const a = new Aggregator(config('s2', 'a', { leaseTtlMs: 2000, stateCommitMs: 60_000 }));
    await a.start();
    const firstQuarter = new SymbolProcessor('BTCUSDT');
    all.slice(0, quarter).forEach((e, i) => {
      firstQuarter.apply(e, `0:${i}`);
    });
    await waitForVersion(store, firstQuarter.version);
    const more = new KinesisProducer(emu.client(), { streamName: 's2' });
    await more.start();
    // in several Kinesis records, so a publishes several vectors past its committed state
    const step = Math.ceil((half - quarter) / 4);
    for (let i = quarter; i < half; i += step) {
      for (const e of all.slice(i, Math.min(half, i + step))) more.put('BTCUSDT', e);
      await more.flush();
    }
    await waitForVersion(store, firstHalf.version);
    const aShards = [...a.ownedShards];
    a.kill(); // kill -9: no graceful commit, no lease release
    const aExpiries = expiriesUntilTaken(redis, 's2', aShards, 'a');
    // the rest of the stream arrives while nobody is reading
    const producer = new KinesisProducer(emu.client(), { streamName: 's2' });
    await producer.start();
    for (const e of all.slice(half)) producer.put('BTCUSDT', e);
    await producer.flush();
    // b replays from a's last committed state (older than a's last published vector): readers must never see a version go back
    const seen: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) seen.push((await store.readVector('BTCUSDT'))?.version ?? 0);
    })();
    // (small GetRecords batches, so the replay publishes vectors older than a's last one)
    const b = new Aggregator(config('s2', 'b', { leaseTtlMs: 2000, getRecordsLimit: 1 }));
    try {
      await b.start();
      await waitForVersion(store, reference.version);
      watching = false;
      await watcher;
      expect(seen[0]).toBeGreaterThanOrEqual(firstHalf.version);
      expect(seen.every((v, i) => i === 0 || v >= seen[i - 1]!)).toBe(true);
      // took over (order, not durations: how long it takes is the machine's business) with newer fencing tokens, each
      // only once a's lease had expired: a token is at least the Redis time it was issued at
      expect(b.ownedShards).toHaveLength(4);
      const aTokens = [...a.leaseTokens().values()];
      for (const token of b.leaseTokens().values()) expect(token).toBeGreaterThan(Math.max(...aTokens, 0));
      for (const [shard, expiry] of await aExpiries) expect(b.leaseTokens().get(shard), shard).toBeGreaterThanOrEqual(expiry);
      const m = (await b.registry.getMetricsAsJSON()).find((x) => x.name === 'aggregator_kinesis_records_processed_total')!;
      const applied = m.values.find((v) => v.labels['status'] === 'applied')!.value;
      expect(applied).toBeLessThan(reference.version); // resumed from the checkpoint, not from the start...
      expect(applied).toBeGreaterThan(reference.version - firstHalf.version); // ...which is older than what a had published
      const ops = (await b.registry.getMetricsAsJSON()).find((x) => x.name === 'aggregator_redis_operations_total')!.values;
      const stale = ops.filter((v) => v.labels['status'] === 'stale').reduce((n, v) => n + v.value, 0);
      expect(stale).toBeGreaterThan(0); // the replay's older vectors were refused
    } finally {
      watching = false;
      await stopCleanly(b); // (also when an assertion failed: a running instance would write into the next test)
    }
    await expectEqualsReference(redis);
    redis.disconnect();
  });

  it('a graceful stop commits state at the last record and hands the leases back: the successor starts at once and replays nothing', async () => {
    const half = Math.floor(all.length / 2);
    await publish('s6', all.slice(0, half));
    const redis = new Redis(redisServer.port, '127.0.0.1');
    redis.on('error', () => undefined);
    await redis.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
    const store = new FeatureStore(redis);
    const firstHalf = new SymbolProcessor('BTCUSDT');
    all.slice(0, half).forEach((e, i) => {
      firstHalf.apply(e, `0:${i}`);
    });
    // state commits are rare (60 s), so only the stop can have committed the last record
    const a = new Aggregator(config('s6', 'a', { leaseTtlMs: 30_000, stateCommitMs: 60_000 }));
    await a.start();
    await waitForVersion(store, firstHalf.version);
    await stopCleanly(a);
    const producer = new KinesisProducer(emu.client(), { streamName: 's6' });
    await producer.start();
    for (const e of all.slice(half)) producer.put('BTCUSDT', e);
    await producer.flush();
    const b = new Aggregator(config('s6', 'b', { leaseTtlMs: 30_000, stateCommitMs: 60_000 }));
    await b.start(); // with a 30 s TTL, only released leases can be taken in the first round
    expect(b.ownedShards).toHaveLength(4);
    await waitForVersion(store, reference.version);
    const m = (await b.registry.getMetricsAsJSON()).find((x) => x.name === 'aggregator_kinesis_records_processed_total')!;
    expect(m.values.find((v) => v.labels['status'] === 'applied')!.value).toBe(reference.version - firstHalf.version);
    await stopCleanly(b);
    await expectEqualsReference(redis);
    redis.disconnect();
  });

  it('counts garbage records and unknown symbols, and is not disturbed by them', async () => {
    await emu.createStream('s7', 2);
    // a well-formed KPL aggregate (magic, protobuf, MD5) whose one record points at a partition key that is not there
    const body = Buffer.from([0x1a, 0x05, 0x08, 0x05, 0x1a, 0x01, 0x00]);
    const bad = Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), body, createHash('md5').update(body).digest()]);
    await emu.client().send(new PutRecordCommand({ StreamName: 's7', PartitionKey: 'BTCUSDT', Data: bad }));
    const producer = new KinesisProducer(emu.client(), { streamName: 's7' });
    await producer.start();
    all.forEach((e, i) => {
      producer.put('BTCUSDT', e);
      if (i % 2000 === 0) {
        producer.put('BTCUSDT', Buffer.from('not an envelope at all'));
        producer.put('BTCUSDT', e.subarray(0, 20)); // a truncated envelope
        producer.put('DOGEUSDT', e); // a symbol this instance is not configured for
      }
    });
    await producer.flush();
    const redis = new Redis(redisServer.port, '127.0.0.1');
    redis.on('error', () => undefined);
    await redis.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
    const agg = new Aggregator(config('s7', 'g'));
    await agg.start();
    await waitForVersion(new FeatureStore(redis), reference.version);
    // what the stream holds is what must be counted: a put retried after a lost answer holds its records twice
    // (envelopes are told apart by their identity; garbage cannot be)
    const held = { undecodable: 0, unknown_symbol: 0 };
    const env = new hotpath.EnvelopeDecoder();
    for (const r of await readStream(emu.client(), 's7', { onMalformed: () => undefined })) {
      if (r.partitionKey === 'DOGEUSDT') held.unknown_symbol++;
      else if (env.wrap(r.data) !== DecodeStatus.Ok) held.undecodable++;
    }
    const injected = Math.ceil(all.length / 2000);
    expect(held.undecodable).toBeGreaterThanOrEqual(2 * injected);
    expect(held.unknown_symbol).toBeGreaterThanOrEqual(injected);
    const count = async (status: string) =>
      (await agg.registry.getMetricsAsJSON()).find((x) => x.name === 'aggregator_kinesis_records_processed_total')!.values.find((v) => v.labels['status'] === status)?.value ?? 0;
    // (the unknown symbol's shard is read on its own: counted once its reader got there)
    await vi.waitFor(async () => expect({ undecodable: await count('undecodable'), unknown_symbol: await count('unknown_symbol') }).toEqual(held), { timeout: 60_000 });
    expect(await count('malformed_kpl')).toBe(1); // (put once, by a client that does not retry)
    await stopCleanly(agg);
    await expectEqualsReference(redis);
    redis.disconnect();
  });

  it('follows a shard split: reads the parent to its end, then the child, and a restart resumes in the child', async () => {
    const half = Math.floor(all.length / 2);
    await publish('s9', all.slice(0, half));
    const redis = new Redis(redisServer.port, '127.0.0.1');
    redis.on('error', () => undefined);
    await redis.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
    const store = new FeatureStore(redis);
    const firstHalf = new SymbolProcessor('BTCUSDT');
    all.slice(0, half).forEach((e, i) => {
      firstHalf.apply(e, `0:${i}`);
    });
    const agg = new Aggregator(config('s9', 'r', { leaseTtlMs: 600 }));
    await agg.start();
    await waitForVersion(store, firstHalf.version);
    // split every shard in two; the rest of the stream lands in the children
    const client = emu.client();
    const { Shards } = await client.send(new ListShardsCommand({ StreamName: 's9' }));
    for (const sh of Shards!) {
      const lo = BigInt(sh.HashKeyRange!.StartingHashKey!);
      const hi = BigInt(sh.HashKeyRange!.EndingHashKey!);
      await client.send(new SplitShardCommand({ StreamName: 's9', ShardToSplit: sh.ShardId!, NewStartingHashKey: String((lo + hi) / 2n) }));
      await vi.waitFor(async () => expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: 's9' }))).StreamDescriptionSummary!.StreamStatus).toBe('ACTIVE'), { timeout: 60_000 });
    }
    const producer = new KinesisProducer(client, { streamName: 's9' });
    await producer.start();
    for (const e of all.slice(half)) producer.put('BTCUSDT', e);
    await producer.flush();
    await waitForVersion(store, reference.version);
    await vi.waitFor(() => expect(agg.ownedShards).toHaveLength(8), { timeout: 60_000 }); // the 8 children; the 4 parents finished and released
    await stopCleanly(agg);
    await expectEqualsReference(redis);
    const saved = await store.loadState('BTCUSDT');
    const child = (await client.send(new ListShardsCommand({ StreamName: 's9' }))).Shards!.filter((x) => x.ParentShardId !== undefined).map((x) => x.ShardId!);
    expect(child).toContain(saved!.checkpoint.split('/')[0]); // the checkpoint now lives in a child shard
    // a restart: parents are finished, the child resumes after its checkpoint, nothing is applied twice
    const again = new Aggregator(config('s9', 'r2', { leaseTtlMs: 600 }));
    await again.start();
    expect(again.ownedShards).toHaveLength(8);
    // a producer retry re-sends the last envelope: once it has been read, the readers are at the end of the child
    const retry = new KinesisProducer(client, { streamName: 's9' });
    await retry.start();
    retry.put('BTCUSDT', all[all.length - 1]!);
    await retry.flush();
    const count = async (status: string) =>
      (await again.registry.getMetricsAsJSON()).find((x) => x.name === 'aggregator_kinesis_records_processed_total')?.values.find((v) => v.labels['status'] === status)?.value ?? 0;
    await vi.waitFor(async () => expect(await count('duplicate')).toBe(1), { timeout: 60_000 });
    expect(await count('applied')).toBe(0);
    await stopCleanly(again);
    await expectEqualsReference(redis);
    redis.disconnect();
  });

  it('survives the death of its fetch worker: the shards are given up and taken again from their checkpoints, result unchanged', async () => {
    const half = Math.floor(all.length / 2);
    await publish('s10', all.slice(0, half));
    const redis = new Redis(redisServer.port, '127.0.0.1');
    await redis.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
    const store = new FeatureStore(redis);
    const agg = new Aggregator(config('s10', 'w', { getRecordsLimit: 5, stateCommitMs: 100 }));
    expect(agg.config.fetch).toBe('worker');
    await agg.start();
    const halfway = new SymbolProcessor('BTCUSDT');
    all.slice(0, half).forEach((e, i) => {
      halfway.apply(e, `0:${i}`);
    });
    await waitForVersion(store, halfway.version);
    const before = agg.leaseTokens();
    // (private: a crash of the thread is what this drill is about, not an API)
    await (agg as unknown as { fetcher: { close(): Promise<void> } }).fetcher.close();
    const producer = new KinesisProducer(emu.client(), { streamName: 's10' });
    await producer.start();
    all.slice(half).forEach((e) => {
      producer.put('BTCUSDT', e);
    });
    await producer.flush();
    await waitForVersion(store, reference.version);
    // every shard was given up and leased again (a new token), not silently left unread
    const after = agg.leaseTokens();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [shard, token] of after) expect(token).toBeGreaterThan(before.get(shard)!);
    await stopCleanly(agg);
    await expectEqualsReference(redis);
    redis.disconnect();
  });

  it.each(['worker', 'inline'] as const)(
    'reads by enhanced fan-out (SubscribeToShard over HTTP/2): a killed instance is replaced from the checkpoints, result unchanged (fetch: %s)',
    async (fetch) => {
      // kinesalite has no SubscribeToShard: the fan-out emulator serves it (reading kinesalite) and forwards every other call
      const efo = new EnhancedFanOutEmulator(emu.endpoint, { subscriptionMs: 700 });
      await efo.start();
      const stream = `s11-${fetch}`;
      const half = Math.floor(all.length / 2);
      await publish(stream, all.slice(0, half));
      const redis = new Redis(redisServer.port, '127.0.0.1');
      await redis.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
      const store = new FeatureStore(redis);
      const cfg = (owner: string) => ({ ...config(stream, owner, { fetch, stateCommitMs: 100 }), kinesisEndpoint: efo.endpoint, consumer: 'fanout' as const });
      const a = new Aggregator(cfg('a'));
      await a.start();
      const halfway = new SymbolProcessor('BTCUSDT');
      all.slice(0, half).forEach((e, i) => {
        halfway.apply(e, `0:${i}`);
      });
      await waitForVersion(store, halfway.version);
      a.kill();
      const byA = efo.subscriptions;
      expect(byA).toBeGreaterThanOrEqual(1); // a read by fan-out
      const producer = new KinesisProducer(emu.client(), { streamName: stream });
      await producer.start();
      all.slice(half).forEach((e) => {
        producer.put('BTCUSDT', e);
      });
      await producer.flush();
      const b = new Aggregator(cfg('b')); // same consumer name: registration is reused
      await b.start();
      await waitForVersion(store, reference.version);
      await stopCleanly(b);
      await expectEqualsReference(redis);
      expect(efo.subscriptions).toBeGreaterThan(byA); // and so did b (the shards it took; more on expiry)
      redis.disconnect();
      await efo.stop();
    },
  );

  it('with no committed state, LATEST reads only what arrives after the start (and the book waits for the next snapshot)', async () => {
    const half = Math.floor(all.length / 2);
    await publish('s12', all.slice(0, half));
    const redis = new Redis(redisServer.port, '127.0.0.1');
    await redis.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
    const agg = new Aggregator(config('s12', 'l', { initialPosition: 'LATEST' }));
    await agg.start();
    const producer = new KinesisProducer(emu.client(), { streamName: 's12' });
    await producer.start();
    const processed = async () =>
      ((await agg.registry.getMetricsAsJSON()).find((x) => x.name === 'aggregator_kinesis_records_processed_total')!.values as { value: number }[]).reduce((a, v) => a + v.value, 0);
    const fresh = async () =>
      (await agg.registry.getMetricsAsJSON())
        .find((x) => x.name === 'aggregator_kinesis_records_processed_total')!
        .values.filter((v) => v.labels['status'] !== 'duplicate')
        .reduce((a, v) => a + v.value, 0);
    // Probe until the readers (in the fetch worker, which takes a moment to boot) have their LATEST iterators: a probe
    // put before that is never read, every one after is (the first read is fresh, the rest are duplicates of it).
    let probes = 0;
    await vi.waitFor(
      async () => {
        producer.put('BTCUSDT', all[0]!);
        probes++;
        await producer.flush();
        expect(await processed()).toBeGreaterThan(0);
      },
      { timeout: 60_000, interval: 100 },
    );
    // then the envelope after it: once it is processed, so is every probe the readers will ever see
    producer.put('BTCUSDT', all[1]!);
    await producer.flush();
    await vi.waitFor(async () => expect(await fresh()).toBe(2), { timeout: 30_000 });
    const base = await processed();
    expect(base).toBeLessThanOrEqual(probes + 1); // nothing from before the start
    all.slice(half).forEach((e) => {
      producer.put('BTCUSDT', e);
    });
    await producer.flush();
    await vi.waitFor(async () => expect(await processed()).toBe(base + all.length - half), { timeout: 60_000 });
    const v = await new FeatureStore(redis).readVector('BTCUSDT');
    expect(v?.status).not.toBe(VectorStatus.Live); // no snapshot in the second half: not anchored
    await stopCleanly(agg);
    redis.disconnect();
  });

  it('survives a redis-server kill -9 and restart mid-run', async () => {
    await publish('s3', all);
    const redis = new Redis(redisServer.port, '127.0.0.1');
    redis.on('error', () => undefined);
    await redis.del('feat:{BTCUSDT}', 'state:{BTCUSDT}', 'fence:{BTCUSDT}');
    const store = new FeatureStore(redis);
    const agg = new Aggregator(config('s3', 'c', { leaseTtlMs: 5000 }));
    await agg.start();
    await waitForVersion(store, Math.floor(reference.version / 3));
    await redisServer.restart(300);
    await waitForVersion(store, reference.version);
    await stopCleanly(agg);
    await expectEqualsReference(redis);
    redis.disconnect();
  });
});
