/**
 * Inference's tick traces for real (issue 20): a spawned redis-server holding
 * a feature vector WITH a trace context (what the aggregator writes: its
 * `redis publish` span), inference with tracing on exporting to an in-test
 * OTLP/HTTP receiver. Every tick is a root span `inference tick` with its
 * stages as children and a link to the vector's trace context; the served
 * prediction carries both trace ids; a fallback is an event with its reason;
 * a tick another replica claimed ends with an event; tracing off sends nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import { encodeVector, keys, predictionKeys } from '@hotpath/state';
import { RedisServer } from '@hotpath/state/testing';
import type { Registry } from '@hotpath/telemetry';
import { OtlpReceiver, type ReceivedSpan } from '@hotpath/tracing/testing';
import { InferenceConfigSchema, InferenceServer, inferenceConfigFromEnv, type Prediction } from '../src/index.ts';
import { Feeder, modelFailingOnFeederVectors } from './harness.ts';

/** The context the aggregator's `redis publish` span would have written into the vector. */
const EVENT = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };

const metric = async (registry: Registry, name: string): Promise<number> => ((await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? []).reduce((a, v) => a + v.value, 0);

describe('inference tick traces', { timeout: 60_000 }, () => {
  const redisServer = new RedisServer();
  let receiver: OtlpReceiver;
  let redis: Redis;
  let feeder: Feeder;
  let writer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    await redisServer.start();
    receiver = await OtlpReceiver.start();
    redis = new Redis(redisServer.port, '127.0.0.1');
    feeder = new Feeder(redis, 'BTCUSDT');
    // the feeder's vectors, each with the event's trace context (a fresh vector every 50 ms, as the aggregator would)
    const write = () => void redis.set(keys.vector('BTCUSDT'), encodeVector({ ...feeder.vector(), trace: EVENT }), 'PX', 60_000).catch(() => undefined);
    write();
    writer = setInterval(write, 50);
  });
  afterAll(async () => {
    clearInterval(writer);
    redis?.disconnect();
    await receiver?.stop();
    await redisServer.stop();
  });

  const server = (env: NodeJS.ProcessEnv, replica: string, over: Partial<z.input<typeof InferenceConfigSchema>> = {}): InferenceServer =>
    new InferenceServer(
      InferenceConfigSchema.parse({
        redisUrl: redisServer.url,
        replica,
        symbols: ['BTCUSDT'],
        port: 0,
        host: '127.0.0.1',
        intervalMs: 200,
        horizonS: 1,
        claimTtlMs: 60,
        redisTimeoutMs: 5_000,
        logLevel: 'silent',
        ...over,
      }),
      { tracingEnv: env },
    );

  const ticks = (): ReceivedSpan[] => receiver.spans.filter((s) => s.name === 'inference tick');
  const childrenOf = (root: ReceivedSpan): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === root.traceId && s.parentSpanId === root.spanId);
  /** A predicted tick whose whole tree has arrived (five stages; four for a fallback, which runs no model). */
  const predictedTick = (mode: (t: ReceivedSpan) => boolean, stages = 5): ReceivedSpan | undefined =>
    ticks().find((t) => t.attributes['outcome'] === 'predicted' && mode(t) && childrenOf(t).length === stages);

  it('a tick is a root span with its stages as children, linked to the vector’s event; the prediction carries both ids', async () => {
    receiver.spans.length = 0;
    const r = server({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' }, 'traced');
    const future = Date.now() + 3_600_000;
    await r.start();
    try {
      const tick = await vi.waitFor(
        () => {
          const t = predictedTick((s) => s.attributes['fallback.reason'] === undefined);
          expect(t).toBeDefined();
          return t!;
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(tick.service).toBe('inference');
      expect(tick.parentSpanId).toBe('');
      expect(tick.attributes['symbol']).toBe('BTCUSDT');
      const children = childrenOf(tick);
      expect(children.map((c) => c.name).sort()).toEqual(['checks', 'model run', 'push', 'redis read', 'redis write']);
      for (const c of children) {
        expect(c.service).toBe('inference');
        expect(c.startNs, c.name).toBeGreaterThanOrEqual(tick.startNs);
        expect(c.endNs, c.name).toBeLessThanOrEqual(tick.endNs);
        expect(c.endNs, c.name).toBeGreaterThanOrEqual(c.startNs);
      }
      const at = (name: string): ReceivedSpan => children.find((c) => c.name === name)!;
      // the stages in the order the tick runs them
      expect(at('checks').startNs).toBeGreaterThanOrEqual(at('redis read').endNs);
      expect(at('model run').startNs).toBeGreaterThanOrEqual(at('checks').endNs);
      expect(at('redis write').startNs).toBeGreaterThanOrEqual(at('model run').endNs);
      expect(at('push').events).not.toContain('push_not_received');
      // the link: exactly the span context the vector carries
      expect(tick.links).toEqual([{ traceId: EVENT.traceId, spanId: EVENT.spanId, attributes: { 'link.kind': 'newest_sampled_event' } }]);
      // the served prediction (HTTP history and the latest in memory): its own trace and the linked one
      const res = await fetch(`http://127.0.0.1:${r.port}/v1/predictions?symbol=BTCUSDT&since=0&limit=1000`);
      const served = ((await res.json()) as { predictions: Prediction[] }).predictions.find((p) => p.traceId === tick.traceId);
      expect(served?.linkedTraceId).toBe(EVENT.traceId);
      const stored = (await redis.xrange(predictionKeys.stream('BTCUSDT'), '-', '+')).map(([, f]) => JSON.parse(f[1]!) as Prediction);
      expect(stored.find((p) => p.traceId === tick.traceId)?.linkedTraceId).toBe(EVENT.traceId);
      await vi.waitFor(() => expect(r.service.latestPrediction('BTCUSDT')?.traceId).toMatch(/^[0-9a-f]{32}$/), { timeout: 5_000 });

      // a fallback: the reason as an event (and attribute) on the tick, the prediction still carries its ids
      feeder.mode = 'stale';
      const fallback = await vi.waitFor(
        () => {
          const t = predictedTick((s) => s.attributes['fallback.reason'] === 'stale_features', 4);
          expect(t).toBeDefined();
          return t!;
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(fallback.events).toContain('fallback');
      // no model run for a fallback: the four other stages
      expect(
        childrenOf(fallback)
          .map((c) => c.name)
          .sort(),
      ).toEqual(['checks', 'push', 'redis read', 'redis write']);
      expect(childrenOf(fallback).find((c) => c.name === 'checks')?.attributes['fallback.reason']).toBe('stale_features');
      feeder.mode = 'live';

      // a tick another replica claimed: discarded — ended, never exported (N − 1 empty traces per tick otherwise)
      await redis.set(predictionKeys.claim('BTCUSDT', future), 'another-replica', 'PX', 60_000);
      expect((await r.service.tickSymbol('BTCUSDT', future, true)).outcome).toBe('taken');
    } finally {
      await r.stop();
    }
    // (the stop flushed everything ended before it: the taken tick and its claim would be here)
    expect(ticks().some((s) => s.attributes['tick.ms'] === future)).toBe(false);
    const ids = new Set(receiver.spans.map((s) => s.spanId));
    expect(receiver.spans.filter((s) => s.service === 'inference' && s.parentSpanId !== '' && !ids.has(s.parentSpanId))).toEqual([]);
    const pending = (await r.service.registry.getMetricsAsJSON()).find((m) => m.name === 'tracing_spans_pending')?.values[0]?.value;
    expect(pending).toBe(0);
    // stopped: every tick's tree ended (a tick whose root arrived has all its children: nothing left open at stop)
    for (const t of ticks().filter((s) => s.attributes['outcome'] === 'predicted')) expect(childrenOf(t).length, t.spanId).toBeGreaterThanOrEqual(4);
  });

  it('a model that fails at run time: the exception on its model run span, a model_error fallback event on the tick', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'models-'));
    writeFileSync(join(dir, 'failing.onnx'), modelFailingOnFeederVectors('failing'));
    const r = server({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' }, 'failing', { modelDir: dir, modelPath: 'failing.onnx', rollbackAfterFailures: 1_000 });
    await r.start();
    expect(r.service.models.state().version).toMatch(/^failing@1\+/);
    try {
      const tick = await vi.waitFor(
        () => {
          const t = predictedTick((s) => s.attributes['replica'] === 'failing' && s.attributes['fallback.reason'] === 'model_error');
          expect(t).toBeDefined();
          return t!;
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(tick.events).toContain('fallback');
      expect(childrenOf(tick).find((c) => c.name === 'model run')?.events).toContain('exception');
    } finally {
      await r.stop();
    }
  });

  it('a symbol without features: the tick ends `missed` with its reason; Redis gone: the claim failure on `redis read`, the tick `redis_unavailable`', async () => {
    const own = new RedisServer();
    await own.start();
    let ownStopped = false;
    const r = new InferenceServer(
      InferenceConfigSchema.parse({
        redisUrl: own.url,
        replica: 'lonely',
        symbols: ['ETHUSDT'],
        port: 0,
        intervalMs: 200,
        horizonS: 1,
        claimTtlMs: 60,
        redisTimeoutMs: 500,
        logLevel: 'silent',
      }),
      { tracingEnv: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' } },
    );
    await r.start();
    const mine = (outcome: string) => ticks().find((t) => t.attributes['replica'] === 'lonely' && t.attributes['outcome'] === outcome);
    try {
      const missed = await vi.waitFor(
        () => {
          const t = mine('missed');
          expect(t).toBeDefined();
          return t!;
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(missed.events).toEqual(['missed']);
      expect(missed.links).toEqual([]);
      await own.stop();
      ownStopped = true;
      const down = await vi.waitFor(
        () => {
          const t = mine('redis_unavailable');
          expect(t).toBeDefined();
          return t!;
        },
        { timeout: 30_000, interval: 50 },
      );
      expect(down.events).toContain('redis_unavailable');
      expect(childrenOf(down).find((c) => c.name === 'redis read')?.events).toContain('exception');
    } finally {
      await r.stop();
      if (!ownStopped) await own.stop();
    }
  });

  it('tracing off (no endpoint, even at 100 %): ticks predict, nothing is sent, predictions carry no trace ids', async () => {
    const before = receiver.requests;
    const r = server({ OTEL_TRACES_SAMPLER_ARG: '1' }, 'untraced');
    await r.start();
    try {
      await vi.waitFor(() => expect(r.service.latestPrediction('BTCUSDT')?.replica).toBe('untraced'), { timeout: 30_000, interval: 50 });
      const mine = (await redis.xrevrange(predictionKeys.stream('BTCUSDT'), '+', '-', 'COUNT', 1)).map(([, f]) => JSON.parse(f[1]!) as Prediction)[0]!;
      expect(mine.replica).toBe('untraced');
      expect(mine.traceId).toBeUndefined();
      expect(mine.linkedTraceId).toBeUndefined();
      expect(await metric(r.service.registry, 'tracing_enabled')).toBe(0);
    } finally {
      await r.stop();
    }
    expect(receiver.requests).toBe(before);
  });

  it('INFERENCE_TRACE_UI_URL: an http(s) URL with {traceId}, else an error naming the variable', () => {
    expect(inferenceConfigFromEnv({ INFERENCE_TRACE_UI_URL: 'http://localhost:16686/trace/{traceId}' }).traceUiUrl).toBe('http://localhost:16686/trace/{traceId}');
    expect(inferenceConfigFromEnv({}).traceUiUrl).toBeUndefined();
    expect(() => inferenceConfigFromEnv({ INFERENCE_TRACE_UI_URL: 'http://localhost:16686/trace/' })).toThrow(/INFERENCE_TRACE_UI_URL: must contain \{traceId\}/);
    expect(() => inferenceConfigFromEnv({ INFERENCE_TRACE_UI_URL: 'javascript:alert(1)//{traceId}' })).toThrow(/INFERENCE_TRACE_UI_URL: must be an http\(s\) URL/);
  });
});
