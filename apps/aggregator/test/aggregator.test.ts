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
import { FEATURE_COUNT } from '@hotpath/features';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { DescribeStreamSummaryCommand, ListShardsCommand, PutRecordCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { KinesisProducer, readStream } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { EnhancedFanOutEmulator } from '@hotpath/kinesis/testing/efo';
import { DecodeStatus, hotpath } from '@hotpath/sbe';
import { FeatureStore, decodeVector, VectorStatus } from '@hotpath/state';
import { RedisServer } from '@hotpath/state/testing';
import { SymbolProcessor } from '@hotpath/processor';
import { Aggregator, AggregatorConfigSchema } from '../src/index.ts';

/**
 * Watches the leases of `shards` from a killed `owner` until others hold every one; resolves with each lease's last
 * expiry under `owner` (Redis server time, ms; the last renewal it made before it died, in flight ones included).
 */
async function expiriesUntilTaken(redis: Redis, stream: string, shards: readonly string[], owner: string): Promise<Map<string, number>> {
  const lastExpiry = new Map<string, number>();
  await vi.waitFor(
    async () => {
      for (const shard of shards) {
        const lease = await redis.hgetall(`lease:{${stream}}:${shard}`);
        if (lease['owner'] === owner) lastExpiry.set(shard, Number(lease['expires']));
      }
      for (const shard of shards) expect((await redis.hget(`lease:{${stream}}:${shard}`, 'owner')) ?? owner, shard).not.toBe(owner);
    },
    { timeout: 60_000, interval: 20 },
  );
  expect([...lastExpiry.keys()].sort()).toEqual([...shards].sort()); // (seen under the dead owner first: watched from its death)
  return lastExpiry;
}

/** The fixture as the ingestor would publish it: a Connected event, then every frame, the REST snapshot in place. */
function envelopes(): Buffer[] {
  const writer = new EnvelopeWriter('BTCUSDT', 7);
  return [writer.connected(1, 'test'), ...recordingEnvelopes(readRecording(FIXTURE_SPOT_BTCUSDT), writer)];
}

/**
 * A graceful stop given all the time it needs (its default deadline is for production; how fast this machine is, is
 * not what is tested): it must leave nothing undone, state committed and leases handed back.
 */
async function stopCleanly(agg: Aggregator): Promise<void> {
  expect((await agg.stop(120_000)).failed).toEqual([]);
}

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

describe('two aggregators sharing a 4-shard stream', { timeout: 300_000 }, () => {
  const emu = new KinesisEmulator();
  const redisServer = new RedisServer();
  const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'BNBUSDT', 'ADAUSDT'];
  const base = envelopes();
  const reference = new SymbolProcessor('X');
  base.forEach((e, i) => {
    reference.apply(e, `0:${i}`);
  });

  /** The same envelopes under another partition key: each symbol gets an identical, independent history. */
  const forSymbol = (symbol: string, list: Buffer[]): Buffer[] => {
    const d = new hotpath.EnvelopeDecoder();
    const enc = new hotpath.EnvelopeEncoder();
    const out = Buffer.alloc(300 * 1024);
    return list.map((e) => {
      d.wrap(e);
      const x = enc.wrapAndApplyHeader(out).receiveTimeUs(d.receiveTimeUs).sequence(d.sequence).connectionEpoch(d.connectionEpoch).kind(d.kind).symbol(symbol).payload(d.payload());
      return Buffer.from(out.subarray(0, x.encodedLength));
    });
  };

  beforeAll(async () => {
    await emu.start();
    await redisServer.start();
    await emu.createStream('shared', 4);
  });
  afterAll(async () => {
    await redisServer.stop();
    await emu.stop();
  });

  it('split the shards, survive the death of one, fence off its zombie, and apply everything exactly once', async () => {
    const cfg = (owner: string) =>
      AggregatorConfigSchema.parse({
        redisUrl: redisServer.url,
        symbols: SYMBOLS,
        kinesisStream: 'shared',
        kinesisEndpoint: emu.endpoint,
        owner,
        leaseTtlMs: 1500,
        pollMs: 20,
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
      });
    const a = new Aggregator(cfg('a'));
    const b = new Aggregator(cfg('b'));
    await a.start();
    await b.start();
    await vi.waitFor(() => expect([a.ownedShards.length, b.ownedShards.length]).toEqual([2, 2]), { timeout: 30_000, interval: 50 });
    expect(new Set([...a.ownedShards, ...b.ownedShards]).size).toBe(4);

    const half = Math.floor(base.length / 2);
    const producer = new KinesisProducer(emu.client(), { streamName: 'shared' });
    await producer.start();
    for (const s of SYMBOLS) for (const e of forSymbol(s, base.slice(0, half))) producer.put(s, e);
    await producer.flush();
    const redis = new Redis(redisServer.port, '127.0.0.1');
    redis.on('error', () => undefined);
    const store = new FeatureStore(redis);
    const firstHalf = new SymbolProcessor('X');
    base.slice(0, half).forEach((e, i) => {
      firstHalf.apply(e, `0:${i}`);
    });
    const atVersion = async (s: string, version: number) =>
      vi.waitFor(async () => expect((await store.readVector(s))?.version ?? 0, s).toBeGreaterThanOrEqual(version), { timeout: 60_000, interval: 50 });
    for (const s of SYMBOLS) await atVersion(s, firstHalf.version);
    const aTokens = a.leaseTokens();
    a.kill();
    const aExpiries = expiriesUntilTaken(redis, 'shared', [...aTokens.keys()], 'a');
    for (const s of SYMBOLS) for (const e of forSymbol(s, base.slice(half))) producer.put(s, e);
    await producer.flush();
    await vi.waitFor(() => expect(b.ownedShards).toHaveLength(4), { timeout: 60_000, interval: 50 });
    // b took each of a's shards only once a's lease had expired (a token is at least the Redis time it was issued at),
    // with a newer token; how long that took is the machine's business
    for (const [shard, expiry] of await aExpiries) {
      expect(b.leaseTokens().get(shard), shard).toBeGreaterThanOrEqual(expiry);
      expect(b.leaseTokens().get(shard), shard).toBeGreaterThan(aTokens.get(shard)!);
    }
    for (const s of SYMBOLS) {
      await atVersion(s, reference.version);
      const v = (await store.readVector(s))!;
      expect(v.version).toBe(reference.version);
      expect(Buffer.from(v.features.buffer).equals(Buffer.from(reference.vectorBytes(0).subarray(68)))).toBe(true);
    }
    // a's lease tokens are dead: a paused "a" waking up could not write any more
    const symbolsOf = (shard: string): string[] => (b as unknown as { symbolsOf(x: string): string[] }).symbolsOf(shard);
    const [shard, token] = [...aTokens].find(([sh]) => symbolsOf(sh).length > 0)!;
    const victim = symbolsOf(shard)[0]!;
    await expect(store.commit(victim, token, reference.vectorBytes(0), 'zombie', Buffer.alloc(0))).rejects.toThrow(/fenced/);
    expect((await store.loadState(victim))!.checkpoint).not.toBe('zombie');
    await stopCleanly(b);
    redis.disconnect();
  });
});

describe('re-anchoring after a gap', { timeout: 300_000 }, () => {
  const emu = new KinesisEmulator();
  const redisServer = new RedisServer();
  beforeAll(async () => {
    await emu.start();
    await redisServer.start();
    await emu.createStream('gaps', 1);
  });
  afterAll(async () => {
    await redisServer.stop();
    await emu.stop();
  });

  /** The fixture with 5 depth diffs lost after envelope `at`, a GapNotice, and a REST snapshot 40 envelopes later. */
  function withGap(at: number): Buffer[] {
    const base = envelopes();
    const env = new hotpath.EnvelopeDecoder();
    const isDiff = (e: Buffer): boolean => {
      env.wrap(e);
      return env.kind === hotpath.EnvelopeKind.StreamFrame && Buffer.from(env.payload()).readUInt16LE(2) === 10003;
    };
    // the true book at the snapshot point, from an uninterrupted run
    const truth = new SymbolProcessor('BTCUSDT');
    const snapAt = at + 40;
    base.slice(0, snapAt).forEach((e, i) => {
      truth.apply(e, `0:${i}`);
    });
    const book = truth.engine.book;
    const se = new hotpath.DepthSnapshotEncoder();
    const buf = Buffer.alloc(512 * 1024);
    const s = se.wrapAndApplyHeader(buf).lastUpdateId(book.lastUpdateId).requestTimeUs(0).receiveTimeUs(0).priceExponent(-8).qtyExponent(-8);
    const bids = s.bidsCount(book.bids.size);
    for (let i = 0; i < book.bids.size; i++) bids.next().priceMantissa(book.bids.prices[i]!).qtyMantissa(book.bids.qtys[i]!);
    const asks = s.asksCount(book.asks.size);
    for (let i = 0; i < book.asks.size; i++) asks.next().priceMantissa(book.asks.prices[i]!).qtyMantissa(book.asks.qtys[i]!);
    s.symbol('BTCUSDT');
    const snapshot = Buffer.from(buf.subarray(0, s.encodedLength));
    const gn = new hotpath.GapNoticeEncoder().wrapAndApplyHeader(buf).detectedAtUs(0).expectedId(0).receivedId(0).kind(hotpath.GapKind.DepthUpdateId).symbol('BTCUSDT');
    const gap = Buffer.from(buf.subarray(0, gn.encodedLength));
    // re-number: sequences must stay increasing within the epoch
    const out: { kind: number; payload: Buffer }[] = [];
    let dropped = 0;
    base.forEach((e, i) => {
      if (i === at) out.push({ kind: hotpath.EnvelopeKind.GapNotice, payload: gap });
      if (i > at && dropped < 5 && isDiff(e)) {
        dropped++;
        return;
      }
      if (i === snapAt) out.push({ kind: hotpath.EnvelopeKind.DepthSnapshot, payload: snapshot });
      env.wrap(e);
      out.push({ kind: env.kind, payload: Buffer.from(env.payload()) });
    });
    const enc = new hotpath.EnvelopeEncoder();
    const big = Buffer.alloc(600 * 1024);
    return out.map((x, i) => {
      const e = enc
        .wrapAndApplyHeader(big)
        .receiveTimeUs(i)
        .sequence(i + 1)
        .connectionEpoch(9)
        .kind(x.kind as hotpath.EnvelopeKind)
        .symbol('BTCUSDT')
        .payload(x.payload);
      return Buffer.from(big.subarray(0, e.encodedLength));
    });
  }

  it('marks the symbol reanchoring, swaps in the validated book, in under 2 s of event time, and readers only ever see whole vectors', async () => {
    const stream = withGap(6000);
    const offline = new SymbolProcessor('BTCUSDT');
    const outcomes = stream.map((e, i) => offline.apply(e, `0:${i}`));
    // the initial connection and the gap, each re-anchored by its snapshot
    expect(outcomes.filter((o) => o === 'reanchor_started')).toHaveLength(2);
    expect(outcomes.filter((o) => o === 'reanchored')).toHaveLength(2);
    expect(offline.status).toBe(VectorStatus.Live);

    const redis = new Redis(redisServer.port, '127.0.0.1');
    const store = new FeatureStore(redis);
    let reads = 0;
    let lastVersion = -1;
    let hammering = true;
    const statuses = new Set<number>();
    const hammer = (async () => {
      while (hammering) {
        const raw = await redis.getBuffer('feat:{BTCUSDT}');
        if (raw === null) continue;
        const v = decodeVector(raw); // throws on any torn or mixed value
        expect(v.features).toHaveLength(FEATURE_COUNT);
        expect(v.version).toBeGreaterThanOrEqual(lastVersion);
        lastVersion = v.version;
        statuses.add(v.status);
        reads++;
      }
    })();
    const agg = new Aggregator(
      AggregatorConfigSchema.parse({
        redisUrl: redisServer.url,
        symbols: ['BTCUSDT'],
        kinesisStream: 'gaps',
        kinesisEndpoint: emu.endpoint,
        owner: 'g',
        pollMs: 10,
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
      }),
    );
    await agg.start();
    // the stream arrives in small pieces, so the aggregator commits many times while the reader hammers
    const producer = new KinesisProducer(emu.client(), { streamName: 'gaps' });
    await producer.start();
    for (let i = 0; i < stream.length; i += 250) {
      for (const e of stream.slice(i, i + 250)) producer.put('BTCUSDT', e);
      await producer.flush();
      // the reader reads a vector while the stream arrives, however busy the machine (no fixed pause)
      const before = reads;
      await vi.waitFor(() => expect(reads).toBeGreaterThan(before), { timeout: 60_000, interval: 5 });
    }
    await vi.waitFor(async () => expect((await store.readVector('BTCUSDT'))?.version ?? 0).toBeGreaterThanOrEqual(offline.version), { timeout: 60_000, interval: 20 });
    hammering = false;
    await hammer;
    await stopCleanly(agg);
    const v = (await store.readVector('BTCUSDT'))!;
    expect(v.version).toBe(offline.version);
    expect(v.status).toBe(VectorStatus.Live);
    expect(Buffer.from(v.features.buffer).equals(Buffer.from(offline.vectorBytes(0).subarray(68)))).toBe(true);
    expect(reads).toBeGreaterThan(10);
    const metrics = await agg.registry.getMetricsAsJSON();
    const ops = metrics.find((m) => m.name === 'aggregator_reanchor_operations_total')!.values;
    expect(ops.find((x) => x.labels['status'] === 'started')?.value).toBe(2);
    expect(ops.find((x) => x.labels['status'] === 'success')?.value).toBe(2);
    const dur = metrics.find((m) => m.name === 'aggregator_reanchor_duration_seconds')!.values as { metricName?: string; value: number }[];
    expect(dur.find((x) => x.metricName === 'aggregator_reanchor_duration_seconds_count')!.value).toBe(1); // the start-up anchor has no gap to time
    const sum = dur.find((x) => x.metricName === 'aggregator_reanchor_duration_seconds_sum')!.value;
    expect(sum).toBe(offline.lastReanchorDurationUs / 1e6); // event time, from the data: what the offline replay measured
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(2); // gap seen → new book swapped in
    redis.disconnect();
  });
});
