/**
 * Distributed tracing for real, the whole way (issue 20 item 4): exchange-sim
 * → ingestor → Kinesis (kinesalite) → aggregator → Redis (a spawned
 * redis-server) → inference, in this process, every frame sampled
 * (OTEL_TRACES_SAMPLER_ARG=1) and every service exporting OTLP/HTTP (JSON) to
 * an in-test receiver. The services run until enough event traces and a
 * linked prediction exist, then stop gracefully in pipeline order (ingestor
 * flushed to Kinesis, the aggregator catches up with everything acknowledged,
 * then aggregator, inference): every assertion is on what was exported by
 * then, so nothing is counted inside a time window. (The receiver keeps a span
 * the exporter re-sent after a timed-out attempt once: OTLP is at least once.)
 *
 * (a) one connected trace per sampled event — each trace rooted at `ingestor
 *     frame` that reached Redis: decode, gap check, kinesis put under the
 *     root; kinesis wait and aggregator apply under the put; redis publish
 *     under the apply; one trace id; service.name ingestor / aggregator. A
 *     record Kinesis delivered again (a shard re-read from its checkpoint) is
 *     one more wait + apply (+ publish) under the same put: each such hop is
 *     checked, and timed, on its own.
 * (b) the prediction's link — an `inference tick` span (service inference)
 *     links (trace id + span id) to the `redis publish` span of a trace the
 *     ingestor started, and the prediction inference serves on
 *     /v1/predictions/latest carries its tick's `traceId` and that event's
 *     `linkedTraceId`; the tick's stages are its children.
 * (c) span timings against `pipeline_stage_latency_seconds` (each service's
 *     /metrics text, read from its registry after the stop, so both sides
 *     cover the same events; the run waits for 20+ aggregator batches so the
 *     start-up batch is one of many). Each span pairs with a stage that
 *     measures nearly the same interval, but the metric is a histogram (13
 *     buckets, ~2× apart) and some stages are observed per batch, not per
 *     record, so exact equality is neither possible nor robust on a busy
 *     machine. Compared:
 *     - ingestor_to_kinesis ↔ `kinesis put` of a frame (both per frame: put →
 *       ack; the span wraps the metric's interval by a synchronous call at
 *       each end). As many observations as acknowledged frame puts (100 %
 *       traces every frame); the span durations' p50 within one bucket of the
 *       bucket holding the histogram's p50; every span ≤ the bound one bucket
 *       above the highest bucket with observations.
 *     - kinesis_to_aggregator ↔ `kinesis wait` (Kinesis arrival → apply).
 *       The metric is per batch and times only its NEWEST record; the span
 *       is per record, and the older records of a batch waited longer (up to
 *       a poll interval more), so spans run at or above the metric: their
 *       p50 is not below the histogram's p50 bucket minus one, nor above one
 *       bucket over the histogram's highest. (What the metric cannot see:
 *       per record, the wait for the next poll.)
 *     - aggregator_to_redis ↔ `aggregator apply` start → `redis publish`
 *       end. The metric spans the whole batch (hand-over → every write
 *       done) and each record's spans lie inside it on the same clock, so
 *       every span-derived duration ≤ the highest bucket's bound (no slack).
 *     - the event's whole way, `ingestor frame` start → its first `redis
 *       publish` end: the p50 over traces ≤ the sum of the three stages'
 *       bounds one bucket above their highest (decode and gap check are
 *       microseconds).
 *     - per trace, children within their parents: decode + gap check +
 *       kinesis put ≤ ingestor frame (sequential on one thread); per hop,
 *       kinesis wait + aggregator apply ≤ the trace's wall span; redis
 *       publish ≤ aggregator apply (each + CLOCK_SLACK_MS).
 * (d) no span left open — after every service's stop(), one report compared
 *     whole: no span ends before it starts; as many `ingestor frame` spans
 *     as frames received (each root ended and exported); nothing lost at
 *     stop; every parent a span names is in its trace (only roots have none;
 *     the link is the one cross-trace reference); every acknowledged `kinesis
 *     put` has its aggregator spans and every apply its put; and per service
 *     tracing_spans_pending 0, tracing_spans_dropped_total 0 for every
 *     reason, tracing_spans_exported_total = the spans received.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Aggregator } from 'aggregator';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { InferenceConfigSchema, InferenceServer } from 'inference';
import type { Ingestor } from 'ingestor';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { RedisServer } from '@hotpath/state/testing';
import { OtlpReceiver, type ReceivedSpan } from '@hotpath/tracing/testing';
import {
  aggregatorHops,
  bucketOf,
  bucketRange,
  byTrace,
  highestBucket,
  missingParents,
  only,
  quantile,
  quantileBucket,
  spanMs,
  type StageHistogram,
  stageHistogram,
  tracedAggregator,
  tracedIngestor,
  wallMs,
} from './support/tracing.ts';

const MODEL = fileURLToPath(new URL('../models/btcusdt-10s/model.onnx', import.meta.url));
/** Traces that reached Redis before the services are stopped: enough for a p50 that is not one trace's accident. */
const MIN_TRACES = 40;
/** Batches the aggregator has read before the services stop: the start-up batch is then one of many. */
const STEADY_BATCHES = 20;
/**
 * Slack for sums of span durations against a span that holds them: Kinesis' arrival time (the kinesis wait's
 * start) is whole milliseconds of Date.now(), and a span timed by the SDK's default clock is anchored to Date.now()
 * at its start, so two spans' times may disagree by up to a millisecond.
 */
const CLOCK_SLACK_MS = 1;
/** The aggregator's GetRecords interval: production's (kinesalite throttles more than 5 calls a second per shard, as AWS does). */
const POLL_MS = 200;

/** A service's registry (each service's own prom-client registry). */
type Registry = Ingestor['registry'];

const metric = async (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> =>
  ((await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);

/** What inference serves on /v1/predictions/latest, the trace fields read loosely (checked below). */
type ServedPrediction = { tickMs: number; traceId?: unknown; linkedTraceId?: unknown };

describe('tracing, the whole pipeline: ingestor → Kinesis → aggregator → Redis → inference', { timeout: 60_000 }, () => {
  const emu = new KinesisEmulator();
  const redisServer = new RedisServer();
  let receiver: OtlpReceiver;
  let sim: ExchangeSimulator;
  let ingestor: Ingestor;
  let aggregator: Aggregator;
  let inference: InferenceServer;
  /** Each service's /metrics text, read after its stop (the registry outlives the HTTP side). */
  const metricsText: Record<'ingestor' | 'aggregator' | 'inference', string> = { ingestor: '', aggregator: '', inference: '' };
  let served: ServedPrediction | undefined;
  let spans: ReceivedSpan[] = [];

  beforeAll(async () => {
    await Promise.all([emu.start(), redisServer.start()]);
    await emu.createStream('traced-e2e', 1);
    receiver = await OtlpReceiver.start();
    // 100 %, exported every 100 ms, so that nothing may be dropped (asserted) even on a loaded machine: a queue far
    // above what 100 ms hold here; batches as large, so exports go one per timer tick (a full batch exports at once,
    // and more than the exporter's 2 exports in flight fail — counted as export_failed — when the receiver, on this
    // process's event loop, answers slowly); an export timeout a loaded machine keeps
    const env = {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
      OTEL_TRACES_SAMPLER_ARG: '1',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BSP_MAX_QUEUE_SIZE: '100000',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100000',
      OTEL_BSP_EXPORT_TIMEOUT: '30000',
    };
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 1, seed: 7, symbols: ['BTCUSDT'], apiKeys: ['k'], logLevel: 'silent' }));
    await sim.start();
    ingestor = tracedIngestor(sim, emu, 'traced-e2e', env);
    aggregator = tracedAggregator(redisServer.url, emu, 'traced-e2e', env, { pollMs: POLL_MS });
    // INFERENCE_SYMBOLS=BTCUSDT, the shipped model, 200 ms ticks (a generous Redis timeout: a busy machine is not a sick Redis)
    inference = new InferenceServer(
      InferenceConfigSchema.parse({
        redisUrl: redisServer.url,
        symbols: ['BTCUSDT'],
        port: 0,
        host: '127.0.0.1',
        intervalMs: 200,
        horizonS: 1,
        redisTimeoutMs: 5_000,
        modelPath: MODEL,
        logLevel: 'silent',
      }),
      { tracingEnv: env },
    );
    // the aggregator reading before the first frame: no start-up backlog, whose first records would wait out the lease
    // round (their kinesis wait then measures start-up, not the pipeline)
    await Promise.all([aggregator.start(), inference.start()]);
    await vi.waitFor(() => expect(aggregator.ownedShards).toHaveLength(1), { timeout: 30_000, interval: 20 });
    await ingestor.start();

    const published = (): number => [...byTrace(receiver.spans).values()].filter((t) => t.some((s) => s.name === 'redis publish') && t.some((s) => s.name === 'ingestor frame')).length;
    await vi.waitFor(() => expect(published()).toBeGreaterThanOrEqual(MIN_TRACES), { timeout: 120_000, interval: 100 });
    // past the start-up burst (the first batch holds everything put while the reader started): the figures compared
    // below are then mostly the steady state's
    await vi.waitFor(async () => expect(stageHistogram(await aggregator.registry.metrics(), 'kinesis_to_aggregator')?.count ?? 0).toBeGreaterThanOrEqual(STEADY_BATCHES), {
      timeout: 120_000,
      interval: 100,
    });
    // the stages as the services serve them (the figures compared are read again after the stop, when they are final)
    for (const [name, port] of [
      ['ingestor', ingestor.httpPort],
      ['aggregator', aggregator.httpPort],
    ] as const)
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), name).toMatch(/^pipeline_stage_latency_seconds_bucket\{/m);
    served = await vi.waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${inference.port}/v1/predictions/latest?symbol=BTCUSDT`);
        expect(res.status).toBe(200);
        return (await res.json()) as ServedPrediction;
      },
      { timeout: 30_000, interval: 100 },
    );

    // stop in pipeline order, each given all the time it needs (how fast this machine is, is not what is tested)
    expect((await ingestor.stop(60_000)).failed).toEqual([]);
    await sim.stop();
    const acked = await metric(ingestor.registry, 'ingestor_kinesis_user_records_total', { result: 'acked' });
    // everything acknowledged is read and applied before the aggregator stops: every put must have its aggregator spans
    await vi.waitFor(async () => expect(await metric(aggregator.registry, 'aggregator_kinesis_records_processed_total')).toBeGreaterThanOrEqual(acked), { timeout: 60_000, interval: 50 });
    expect((await aggregator.stop(60_000)).failed).toEqual([]);
    expect((await inference.stop(60_000)).failed).toEqual([]);
    metricsText.ingestor = await ingestor.registry.metrics();
    metricsText.aggregator = await aggregator.registry.metrics();
    metricsText.inference = await inference.service.registry.metrics();
    spans = [...receiver.spans];
  }, 420_000);

  afterAll(async () => {
    // (each a no-op when beforeAll already stopped it)
    await ingestor?.stop(10_000);
    await aggregator?.stop(10_000);
    await inference?.stop(10_000);
    await sim?.stop().catch(() => undefined);
    await receiver?.stop();
    await redisServer.stop();
    await emu.stop();
  });

  /** The event traces that reached Redis: rooted at `ingestor frame`, with a `redis publish`. */
  const eventTraces = (): ReceivedSpan[][] => [...byTrace(spans).values()].filter((t) => t.some((s) => s.name === 'ingestor frame') && t.some((s) => s.name === 'redis publish'));

  it('(a) one connected trace per sampled event, parent → child across both processes', () => {
    const traces = eventTraces();
    expect(traces.length).toBeGreaterThanOrEqual(MIN_TRACES);
    for (const t of traces) {
      const frame = only(t, 'ingestor frame');
      expect(frame.parentSpanId, 'the root').toBe('');
      for (const name of ['decode', 'gap check', 'kinesis put']) expect(only(t, name).parentSpanId, name).toBe(frame.spanId);
      const put = only(t, 'kinesis put');
      // (usually one hop; a record Kinesis delivered again is applied again: each delivery its own wait and apply)
      const hops = aggregatorHops(t);
      expect(hops.length).toBeGreaterThanOrEqual(1);
      expect(t.filter((s) => s.name === 'kinesis wait')).toHaveLength(hops.length);
      expect(t.filter((s) => s.name === 'redis publish')).toHaveLength(hops.filter((h) => h.publish !== undefined).length);
      for (const { wait, apply, publish } of hops) {
        expect(wait, `trace ${frame.traceId}: a kinesis wait ending where its apply starts`).toBeDefined();
        expect([wait!.parentSpanId, apply.parentSpanId], 'kinesis wait, aggregator apply').toEqual([put.spanId, put.spanId]);
        if (publish !== undefined) expect(publish.parentSpanId).toBe(apply.spanId);
        // (an event that moved nothing — e.g. ignored before the book's anchor — is still traced to the batch's write)
        expect(apply.attributes['outcome']).toEqual(expect.any(String));
      }
      expect(new Set(t.map((s) => s.traceId))).toEqual(new Set([frame.traceId]));
      expect(Object.fromEntries(t.map((s) => [s.name, s.service]))).toEqual({
        'ingestor frame': 'ingestor',
        decode: 'ingestor',
        'gap check': 'ingestor',
        'kinesis put': 'ingestor',
        'kinesis wait': 'aggregator',
        'aggregator apply': 'aggregator',
        'redis publish': 'aggregator',
      });
    }
    // each frame its own trace: one root per trace id
    const roots = spans.filter((s) => s.name === 'ingestor frame');
    expect(new Set(roots.map((s) => s.traceId)).size).toBe(roots.length);
  });

  it('(b) the prediction links to its event: an inference tick span → the redis publish span of an event trace; the served prediction carries both trace ids', () => {
    // a link's target: the redis publish span of a trace the ingestor started (a frame's, or a re-anchoring's snapshot)
    const traces = byTrace(spans);
    const fromIngestor = (traceId: string): boolean => (traces.get(traceId) ?? []).some((s) => s.parentSpanId === '' && s.service === 'ingestor');
    const publishes = new Map(spans.filter((s) => s.name === 'redis publish' && fromIngestor(s.traceId)).map((s) => [s.spanId, s]));
    const ticks = spans.filter((s) => s.name === 'inference tick');
    expect(ticks.length).toBeGreaterThan(0);
    for (const tick of ticks) {
      expect(tick.service).toBe('inference');
      expect(tick.parentSpanId, 'a tick is its own trace').toBe('');
    }
    const linked = ticks.filter((t) => t.links.length > 0);
    expect(linked.length).toBeGreaterThan(0);
    for (const tick of linked) {
      expect(tick.links).toHaveLength(1);
      const [link] = tick.links;
      const target = publishes.get(link!.spanId);
      const seen = (traces.get(link!.traceId) ?? []).map((s) => `${s.service}:${s.name}${s.spanId === link!.spanId ? '*' : ''}`).join(', ');
      expect(target, `tick ${tick.spanId}'s link → ${link!.traceId}/${link!.spanId} is a redis publish span of an event trace (that trace: ${seen || 'none'})`).toBeDefined();
      expect(link!.traceId).toBe(target!.traceId);
      // causality: the vector was published before the tick that read it ended
      expect(target!.startNs).toBeLessThanOrEqual(tick.endNs);
    }
    // the prediction served over HTTP is the one a tick span made, linked to the event trace its vector came from
    expect(served).toBeDefined();
    expect(served!.traceId).toEqual(expect.stringMatching(/^[0-9a-f]{32}$/));
    expect(served!.linkedTraceId).toEqual(expect.stringMatching(/^[0-9a-f]{32}$/));
    const tick = only(
      ticks.filter((t) => t.traceId === served!.traceId),
      'inference tick',
    );
    expect(tick.links.map((l) => l.traceId)).toEqual([served!.linkedTraceId]);
    expect(fromIngestor(served!.linkedTraceId as string)).toBe(true);
    expect([...publishes.values()].some((p) => p.traceId === served!.linkedTraceId)).toBe(true);
    // the tick's children, each under the tick
    const children = spans.filter((s) => s.traceId === tick.traceId && s !== tick);
    expect(children.length).toBeGreaterThan(0);
    for (const c of children) expect(c.service).toBe('inference');
    // the tick's stages (checks, model run and push as the tick took them): its Redis round trips at least
    expect(children.map((c) => c.name)).toEqual(expect.arrayContaining(['redis read', 'redis write']));
    for (const c of children) expect(['redis read', 'checks', 'model run', 'redis write', 'push']).toContain(c.name);
    expect(missingParents([tick, ...children])).toEqual([]);
  });

  describe('(c) span timings agree with pipeline_stage_latency_seconds', () => {
    const stage = (service: keyof typeof metricsText, name: string): StageHistogram => {
      const h = stageHistogram(metricsText[service], name);
      expect(h, `${service} /metrics has ${name}`).toBeDefined();
      expect(h!.count, `${name} observations`).toBeGreaterThan(0);
      return h!;
    };
    /** Every duration (ms) is at most `slack` buckets above the highest bucket with observations. */
    const noneAbove = (h: StageHistogram, ms: number[], slack: number): void => {
      const limit = Math.min(h.bounds.length - 1, highestBucket(h) + slack);
      const over = ms.filter((d) => bucketOf(h, d / 1000) > limit);
      expect(over, `${h.stage}: span durations above ${bucketRange(h, limit, limit)}`).toEqual([]);
    };

    it('ingestor_to_kinesis ↔ kinesis put: as many, p50 within one bucket, none above the highest bucket + 1', () => {
      const h = stage('ingestor', 'ingestor_to_kinesis');
      // (frames' puts only: the ack of a REST snapshot or backfill envelope is not this stage)
      const frames = new Set(spans.filter((s) => s.name === 'ingestor frame').map((s) => s.spanId));
      const puts = spans.filter((s) => s.name === 'kinesis put' && frames.has(s.parentSpanId) && !s.events.includes('dropped')).map(spanMs);
      expect(puts.length).toBe(h.count);
      const p50 = quantileBucket(h, 0.5);
      expect(bucketOf(h, quantile(puts, 0.5) / 1000), `span p50 ${quantile(puts, 0.5)} ms vs the histogram's p50 bucket ${bucketRange(h, p50, p50)}`).toBeGreaterThanOrEqual(p50 - 1);
      expect(bucketOf(h, quantile(puts, 0.5) / 1000)).toBeLessThanOrEqual(p50 + 1);
      noneAbove(h, puts, 1);
    });

    it('kinesis_to_aggregator ↔ kinesis wait: p50 not below the histogram p50 bucket − 1 nor above its highest bucket + 1', () => {
      const h = stage('aggregator', 'kinesis_to_aggregator');
      const waits = spans.filter((s) => s.name === 'kinesis wait').map(spanMs);
      expect(waits.length).toBeGreaterThan(0);
      const p50 = quantileBucket(h, 0.5);
      const at = bucketOf(h, quantile(waits, 0.5) / 1000);
      const why = `span p50 ${quantile(waits, 0.5)} ms vs the histogram's p50 bucket ${bucketRange(h, p50, p50)}, highest ${bucketRange(h, highestBucket(h), highestBucket(h))}`;
      expect(at, why).toBeGreaterThanOrEqual(p50 - 1);
      expect(at, why).toBeLessThanOrEqual(highestBucket(h) + 1);
    });

    it('aggregator_to_redis ↔ apply start → publish end: inside the batch the metric times, so none above its highest bucket', () => {
      const h = stage('aggregator', 'aggregator_to_redis');
      const writes = eventTraces().flatMap((t) => aggregatorHops(t).flatMap(({ apply, publish }) => (publish === undefined ? [] : [Number(publish.endNs - apply.startNs) / 1e6])));
      noneAbove(h, writes, 0);
    });

    it('the whole way (frame start → publish end): its p50 within the three stages’ bounds; per trace, children within their parents', () => {
      const bound = (service: keyof typeof metricsText, name: string): number => {
        const h = stage(service, name);
        return h.bounds[Math.min(h.bounds.length - 1, highestBucket(h) + 1)]! * 1000;
      };
      const traces = eventTraces();
      // (to the first write: a record delivered again is written again later, which is not the event's way)
      const whole = traces.map((t) => Number(aggregatorHops(t).find((h) => h.publish !== undefined)!.publish!.endNs - only(t, 'ingestor frame').startNs) / 1e6);
      const limitMs = bound('ingestor', 'ingestor_to_kinesis') + bound('aggregator', 'kinesis_to_aggregator') + bound('aggregator', 'aggregator_to_redis');
      expect(quantile(whole, 0.5), `frame → publish p50 vs the three hops' highest buckets + 1 (${limitMs} ms)`).toBeLessThanOrEqual(limitMs);
      for (const [i, t] of traces.entries()) {
        const ms = (name: string) => spanMs(only(t, name));
        const frame = only(t, 'ingestor frame');
        expect(whole[i], `trace ${frame.traceId}: frame → publish`).toBeGreaterThan(0);
        expect(ms('decode') + ms('gap check') + ms('kinesis put'), `trace ${frame.traceId}: ingestor children`).toBeLessThanOrEqual(ms('ingestor frame') + CLOCK_SLACK_MS);
        const wall = wallMs(t);
        for (const { wait, apply, publish } of aggregatorHops(t)) {
          expect(spanMs(wait!) + spanMs(apply), `trace ${frame.traceId}: aggregator hops vs the trace's wall span ${wall} ms`).toBeLessThanOrEqual(wall + CLOCK_SLACK_MS);
          if (publish !== undefined) expect(spanMs(publish)).toBeLessThanOrEqual(spanMs(apply) + CLOCK_SLACK_MS);
        }
      }
    });
  });

  it('(d) no span left open: every span started was ended and exported, every parent present, nothing pending or dropped', async () => {
    // one report, compared whole: a failure shows every figure at once (which service, spans of which kind)
    const missing = [...byTrace(spans).values()].flatMap(missingParents);
    const continued = new Set(spans.filter((s) => s.name === 'aggregator apply').map((s) => s.parentSpanId));
    const puts = new Set(spans.filter((s) => s.name === 'kinesis put').map((s) => s.spanId));
    const services = { ingestor: ingestor.registry, aggregator: aggregator.registry, inference: inference.service.registry };
    const tracing: Record<string, Record<string, number>> = {};
    for (const [service, registry] of Object.entries(services))
      tracing[service] = {
        pending: await metric(registry, 'tracing_spans_pending'),
        queue_full: await metric(registry, 'tracing_spans_dropped_total', { reason: 'queue_full' }),
        export_failed: await metric(registry, 'tracing_spans_dropped_total', { reason: 'export_failed' }),
        shutdown: await metric(registry, 'tracing_spans_dropped_total', { reason: 'shutdown' }),
        exported: await metric(registry, 'tracing_spans_exported_total'),
        received: spans.filter((s) => s.service === service).length,
      };
    const report = {
      endedBeforeStart: spans.filter((s) => s.endNs < s.startNs).map((s) => `${s.service}: ${s.name}`),
      // every frame started a root (100 %), and each root was ended and exported
      frames: (await metric(ingestor.registry, 'ingestor_sbe_messages_total')) + (await metric(ingestor.registry, 'ingestor_sbe_decode_errors_total')),
      frameRoots: spans.filter((s) => s.name === 'ingestor frame').length,
      lostAtStop: await metric(ingestor.registry, 'ingestor_kinesis_user_records_total', { result: 'lost_at_stop' }),
      // a span ended whose parent never was (or was never exported) names a parent its trace lacks
      missingParents: missing.slice(0, 10),
      missingParentCount: missing.length,
      // every acknowledged put was continued by the aggregator, and the aggregator continued nothing else
      putsNotContinued: spans.filter((s) => s.name === 'kinesis put' && !s.events.includes('dropped') && !continued.has(s.spanId)).length,
      appliesWithoutPut: [...continued].filter((id) => !puts.has(id)).length,
      tracing,
    };
    const quiet = (t: Record<string, number>) => ({ ...t, pending: 0, queue_full: 0, export_failed: 0, shutdown: 0, exported: t['received'] });
    expect(report, `${receiver.duplicates} spans received twice`).toEqual({
      endedBeforeStart: [],
      frames: report.frames,
      frameRoots: report.frames,
      lostAtStop: 0,
      missingParents: [],
      missingParentCount: 0,
      putsNotContinued: 0,
      appliesWithoutPut: 0,
      tracing: { ingestor: quiet(tracing['ingestor']!), aggregator: quiet(tracing['aggregator']!), inference: quiet(tracing['inference']!) },
    });
  });
});
