import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { FEATURE_COUNT, FEATURES_OFFSET } from '@hotpath/features';
import { KinesisProducer } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { hotpath } from '@hotpath/sbe';
import { FeatureStore, decodeVector, VectorStatus } from '@hotpath/state';
import { RedisServer } from '@hotpath/state/testing';
import { SymbolProcessor } from '@hotpath/processor';
import { Aggregator, AggregatorConfigSchema } from '../src/index.ts';
import { envelopes, exactlyOnceDrill, stopCleanly } from './support.ts';

describe('two aggregators sharing a 4-shard stream', { timeout: 300_000 }, () => {
  const emu = new KinesisEmulator();
  const redisServer = new RedisServer();
  beforeAll(async () => {
    await emu.start();
    await redisServer.start();
  });
  afterAll(async () => {
    await redisServer.stop();
    await emu.stop();
  });

  it('split the shards, survive the death of one, fence off its zombie, and apply everything exactly once', async () => {
    const redis = new Redis(redisServer.port, '127.0.0.1');
    redis.on('error', () => undefined);
    // (the same drill runs on a Redis Cluster in cluster.e2e.test.ts)
    await exactlyOnceDrill({ emu, stream: 'shared', redis: { redisUrl: redisServer.url }, client: redis, symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'BNBUSDT', 'ADAUSDT'] });
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
    expect(Buffer.from(v.features.buffer).equals(Buffer.from(offline.vectorBytes(0).subarray(FEATURES_OFFSET)))).toBe(true);
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
