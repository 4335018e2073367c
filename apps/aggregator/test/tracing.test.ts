/**
 * Distributed tracing across processes for real (issue 20): exchange-sim →
 * ingestor → Kinesis (kinesalite) → aggregator → Redis (a spawned
 * redis-server), spans received by an in-test OTLP/HTTP receiver in the JSON
 * encoding the exporter sends. A sampled frame is one connected trace:
 * ingestor frame → decode, gap check, kinesis put → (in the envelope) →
 * aggregator kinesis wait, aggregator apply → redis publish. Tracing off sends
 * nothing; a collector that is down leaves the pipeline working and counts
 * what it drops.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KinesisProducer } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { Redis } from 'ioredis';
import { FeatureStore } from '@hotpath/state';
import { RedisServer } from '@hotpath/state/testing';
import type { Registry } from '@hotpath/telemetry';
import { OtlpReceiver, type ReceivedSpan } from '@hotpath/tracing/testing';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import type { Ingestor } from 'ingestor';
import { Aggregator, AggregatorConfigSchema } from '../src/index.ts';
import { tracedAggregator, tracedIngestor } from '../../../test/support/tracing.ts';
import { envelopes, expectReplayed, replayOf, stopCleanly } from './support.ts';

const metric = async (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> =>
  ((await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);

describe('tracing: ingestor → Kinesis → aggregator → Redis', { timeout: 60_000 }, () => {
  const emu = new KinesisEmulator();
  const redisServer = new RedisServer();
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    await Promise.all([emu.start(), redisServer.start()]);
    receiver = await OtlpReceiver.start();
  });
  afterAll(async () => {
    await receiver?.stop();
    await redisServer.stop();
    await emu.stop();
  });

  /** Runs the pipeline on its own stream with `env` as both services' OTEL_* variables until `until` holds, then stops it cleanly. */
  async function pipeline(stream: string, env: NodeJS.ProcessEnv, until: (ingestor: Ingestor, aggregator: Aggregator, store: FeatureStore) => Promise<void>): Promise<void> {
    await emu.createStream(stream, 1);
    // (an exchange per pipeline: each ingestor's REST snapshots count against its own weight budget)
    const sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 5, seed: 11, symbols: ['BTCUSDT'], apiKeys: ['k'], logLevel: 'silent' }));
    await sim.start();
    const ingestor = tracedIngestor(sim, emu, stream, env);
    const aggregator = tracedAggregator(redisServer.url, emu, stream, env, { pollMs: 20, leaseTtlMs: 600 });
    const redis = new Redis(redisServer.port, '127.0.0.1');
    await redis.flushall(); // (each pipeline's vectors from nothing: the store refuses a version older than the one there)
    try {
      await Promise.all([ingestor.start(), aggregator.start()]);
      await until(ingestor, aggregator, new FeatureStore(redis));
    } finally {
      await ingestor.stop(10_000);
      await stopCleanly(aggregator);
      redis.disconnect();
      await sim.stop();
    }
  }

  const hasVector = async (store: FeatureStore): Promise<void> => {
    await vi.waitFor(async () => expect((await store.readVector('BTCUSDT').catch(() => undefined))?.version ?? 0).toBeGreaterThan(0), { timeout: 30_000, interval: 50 });
  };

  /** The traces whose spans reached Redis: trace id → its spans. */
  const completeTraces = (): Map<string, ReceivedSpan[]> => {
    const byTrace = new Map<string, ReceivedSpan[]>();
    for (const s of receiver.spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    return new Map([...byTrace].filter(([, spans]) => spans.some((s) => s.name === 'redis publish') && spans.some((s) => s.name === 'ingestor frame')));
  };

  it('a sampled frame is one connected trace across both processes, parent → child', async () => {
    receiver.spans.length = 0;
    let frames = 0;
    await pipeline('traced', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '0.05', OTEL_BSP_SCHEDULE_DELAY: '100' }, async (ingestor, _aggregator, store) => {
      await vi.waitFor(() => expect(completeTraces().size).toBeGreaterThan(0), { timeout: 30_000, interval: 50 });
      frames = await metric(ingestor.registry, 'ingestor_sbe_messages_total');
      // the vector carries the newest sampled event's context: the 'redis publish' span that wrote it (inference links to it)
      await vi.waitFor(
        async () => {
          const trace = (await store.readVector('BTCUSDT'))?.trace;
          expect(trace?.traceFlags).toBe(1);
          const publish = receiver.spans.find((x) => x.name === 'redis publish' && x.spanId === trace?.spanId);
          expect(publish?.traceId).toBe(trace?.traceId);
        },
        { timeout: 30_000, interval: 50 },
      );
    });
    const [, spans] = [...completeTraces()][0]!;
    const one = (name: string): ReceivedSpan => {
      const found = spans.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const frame = one('ingestor frame');
    expect(frame.parentSpanId).toBe('');
    expect(frame.service).toBe('ingestor');
    expect(frame.resource['service.version']).toBe('0.1.0');
    expect(frame.resource['service.instance.id']).toEqual(expect.any(String));
    for (const name of ['decode', 'gap check', 'kinesis put']) expect(one(name).parentSpanId, name).toBe(frame.spanId);
    const put = one('kinesis put');
    const wait = one('kinesis wait');
    const apply = one('aggregator apply');
    expect([wait.service, apply.service]).toEqual(['aggregator', 'aggregator']);
    expect(wait.parentSpanId).toBe(put.spanId);
    expect(apply.parentSpanId).toBe(put.spanId);
    const publish = one('redis publish');
    expect(publish.parentSpanId).toBe(apply.spanId);
    // causality in the timings: the envelope is applied after it was put, the vector written after the apply began
    expect(apply.startNs).toBeGreaterThanOrEqual(put.startNs);
    expect(publish.startNs).toBeGreaterThanOrEqual(apply.startNs);
    expect(publish.endNs).toBeLessThanOrEqual(apply.endNs);
    for (const s of spans) expect(s.endNs, s.name).toBeGreaterThanOrEqual(s.startNs);
    // sampled at 5 %: most frames started no trace (each trace has exactly one root)
    const roots = receiver.spans.filter((s) => s.name === 'ingestor frame');
    expect(new Set(roots.map((s) => s.traceId)).size).toBe(roots.length);
    expect(roots.length).toBeLessThan(frames / 5);
  });

  it('tracing off (no endpoint, even at 100 %): the pipeline runs and nothing is sent', async () => {
    const before = receiver.requests;
    let ingestorRegistry: Registry | undefined;
    await pipeline('untraced', { OTEL_TRACES_SAMPLER_ARG: '1' }, async (ingestor, _aggregator, store) => {
      ingestorRegistry = ingestor.registry;
      await hasVector(store);
    });
    expect(await metric(ingestorRegistry!, 'tracing_enabled')).toBe(0);
    expect(receiver.requests).toBe(before);
  });

  it('a collector that is down: vectors still reach Redis, the spans are dropped and counted', async () => {
    const deadPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await pipeline(
      'collector-down',
      { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${deadPort}`, OTEL_TRACES_SAMPLER_ARG: '1', OTEL_BSP_MAX_QUEUE_SIZE: '64', OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_BSP_EXPORT_TIMEOUT: '500' },
      async (ingestor, aggregator, store) => {
        await hasVector(store);
        const v0 = (await store.readVector('BTCUSDT'))!.version;
        await vi.waitFor(async () => expect((await store.readVector('BTCUSDT'))!.version).toBeGreaterThan(v0 + 50), { timeout: 30_000, interval: 50 });
        await vi.waitFor(async () => expect(await metric(ingestor.registry, 'tracing_spans_dropped_total')).toBeGreaterThan(0), { timeout: 30_000, interval: 50 });
        await vi.waitFor(async () => expect(await metric(aggregator.registry, 'tracing_spans_dropped_total')).toBeGreaterThan(0), { timeout: 30_000, interval: 50 });
        expect(await metric(ingestor.registry, 'tracing_spans_pending')).toBeLessThanOrEqual(64);
      },
    );
  });

  it('a malformed trace context in envelopes is ignored and counted: every record is still applied', async () => {
    // the fixture as the ingestor writes it (schema version 2), each with the sampled flag but no trace id nor parent id
    const list = envelopes().map((e) => {
      const x = Buffer.from(e);
      x[8 + 53] = 1; // traceFlags: after the header (8) and the version-1 block (29) + traceId (16) + parentSpanId (8)
      return x;
    });
    await emu.createStream('malformed', 1);
    const producer = new KinesisProducer(emu.client(), { streamName: 'malformed' });
    await producer.start();
    for (const e of list) producer.put('BTCUSDT', e);
    await producer.flush();
    await producer.stop(10_000);
    const aggregator = new Aggregator(
      AggregatorConfigSchema.parse({
        redisUrl: redisServer.url,
        symbols: ['BTCUSDT'],
        kinesisStream: 'malformed',
        kinesisEndpoint: emu.endpoint,
        owner: 'm',
        leaseTtlMs: 600,
        pollMs: 20,
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
      }),
      { tracingEnv: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' } },
    );
    const redis = new Redis(redisServer.port, '127.0.0.1');
    await redis.flushall();
    try {
      await aggregator.start();
      await expectReplayed(new FeatureStore(redis), ['BTCUSDT'], replayOf(list));
      expect(await metric(aggregator.registry, 'aggregator_trace_context_invalid_total', { reason: 'malformed' })).toBe(list.length);
      expect(await metric(aggregator.registry, 'aggregator_kinesis_records_processed_total', { status: 'undecodable' })).toBe(0);
    } finally {
      await stopCleanly(aggregator);
      redis.disconnect();
    }
  });
});
