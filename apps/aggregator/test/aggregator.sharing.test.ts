import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { FEATURE_COUNT } from '@hotpath/features';
import { KinesisProducer } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { hotpath } from '@hotpath/sbe';
import { FeatureStore, decodeVector, VectorStatus } from '@hotpath/state';
import { RedisServer } from '@hotpath/state/testing';
import { SymbolProcessor } from '@hotpath/processor';
import { Aggregator, AggregatorConfigSchema } from '../src/index.ts';
import { envelopes, expiriesUntilTaken, stopCleanly } from './support.ts';

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
