/**
 * What the whole-pipeline trace test (test/tracing.e2e.test.ts) reads: the
 * spans the in-test OTLP receiver got, grouped by trace, and the
 * `pipeline_stage_latency_seconds` histograms in the Prometheus text a
 * service's /metrics serves — both pure, so a failure reads against data —
 * and the traced ingestor and aggregator it and
 * apps/aggregator/test/tracing.test.ts run.
 */
import { Aggregator, AggregatorConfigSchema } from 'aggregator';
import type { ExchangeSimulator } from 'exchange-sim';
import { Ingestor, ingestorConfigFromEnv } from 'ingestor';
import type { KinesisEmulator } from '@hotpath/kinesis/testing';
import type { ReceivedSpan } from '@hotpath/tracing/testing';

/** An ingestor of BTCUSDT from `sim` into `stream` on the emulator, its OTEL_* variables `env` (not started). */
export function tracedIngestor(sim: ExchangeSimulator, emu: KinesisEmulator, stream: string, env: NodeJS.ProcessEnv): Ingestor {
  return new Ingestor(
    ingestorConfigFromEnv(
      {},
      {
        streamUrl: sim.urls.ws,
        restUrl: sim.urls.rest,
        symbols: ['BTCUSDT'],
        apiKey: 'k',
        kinesisStream: stream,
        kinesisEndpoint: emu.endpoint,
        port: 0,
        host: '127.0.0.1',
        resumeLookbackSeconds: 0,
        logLevel: 'silent',
      },
    ),
    { kinesisClient: emu.client(), tracingEnv: env },
  );
}

/** An aggregator of BTCUSDT from `stream` into Redis at `redisUrl`, owner = the stream, its OTEL_* variables `env` (not started). */
export function tracedAggregator(redisUrl: string, emu: KinesisEmulator, stream: string, env: NodeJS.ProcessEnv, over: { pollMs: number; leaseTtlMs?: number }): Aggregator {
  return new Aggregator(
    AggregatorConfigSchema.parse({
      redisUrl,
      symbols: ['BTCUSDT'],
      kinesisStream: stream,
      kinesisEndpoint: emu.endpoint,
      owner: stream,
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      ...over,
    }),
    { tracingEnv: env },
  );
}

/** A span's duration in milliseconds (OTLP's nanosecond times). */
export const spanMs = (s: ReceivedSpan): number => Number(s.endNs - s.startNs) / 1e6;

/** trace id → its spans, in arrival order. */
export function byTrace(spans: readonly ReceivedSpan[]): Map<string, ReceivedSpan[]> {
  const out = new Map<string, ReceivedSpan[]>();
  for (const s of spans) {
    const list = out.get(s.traceId);
    if (list === undefined) out.set(s.traceId, [s]);
    else list.push(s);
  }
  return out;
}

/** The one span of `name` in a trace; throws (naming the trace) when there is none or more than one. */
export function only(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`trace ${spans[0]?.traceId}: ${found.length} '${name}' spans (${spans.map((s) => s.name).join(', ')})`);
  return found[0]!;
}

/** One delivery of a record to the aggregator within an event trace: its wait, its apply, the write it led to. */
export interface AggregatorHop {
  wait: ReceivedSpan | undefined;
  apply: ReceivedSpan;
  publish: ReceivedSpan | undefined;
}

/**
 * A trace's aggregator spans, one hop per `aggregator apply` in start order — more than one when Kinesis
 * delivered the record again (at least once: a shard taken over re-reads from its checkpoint). A wait is
 * paired with the apply it ends at (the aggregator ends the one where the other starts), a publish by parent.
 */
export function aggregatorHops(spans: readonly ReceivedSpan[]): AggregatorHop[] {
  return spans
    .filter((s) => s.name === 'aggregator apply')
    .sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0))
    .map((apply) => ({
      wait: spans.find((s) => s.name === 'kinesis wait' && s.endNs === apply.startNs),
      apply,
      publish: spans.find((s) => s.name === 'redis publish' && s.parentSpanId === apply.spanId),
    }));
}

/** A trace's wall span in ms: its earliest start to its latest end. */
export function wallMs(spans: readonly ReceivedSpan[]): number {
  let start = spans[0]!.startNs;
  let end = spans[0]!.endNs;
  for (const s of spans) {
    if (s.startNs < start) start = s.startNs;
    if (s.endNs > end) end = s.endNs;
  }
  return Number(end - start) / 1e6;
}

/** The parent span ids a trace's spans name that are not among its spans ('' — a root — excluded). */
export function missingParents(spans: readonly ReceivedSpan[]): string[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.flatMap((s) => (s.parentSpanId === '' || ids.has(s.parentSpanId) ? [] : [`${s.service}: ${s.name} → ${s.parentSpanId}`]));
}

/** One stage's histogram: bucket upper bounds (seconds, ascending, the last +Inf) and their cumulative counts. */
export interface StageHistogram {
  stage: string;
  bounds: number[];
  cumulative: number[];
  count: number;
}

/** `pipeline_stage_latency_seconds{stage}` from Prometheus text exposition (a service's /metrics); undefined when the stage has no series. */
export function stageHistogram(metricsText: string, stage: string): StageHistogram | undefined {
  const buckets: [number, number][] = [];
  for (const m of metricsText.matchAll(/^pipeline_stage_latency_seconds_bucket\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (labels['stage'] !== stage || labels['le'] === undefined) continue;
    buckets.push([labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels['le']), Number(m[2])]);
  }
  if (buckets.length === 0) return undefined;
  buckets.sort((a, b) => a[0] - b[0]);
  return { stage, bounds: buckets.map((b) => b[0]), cumulative: buckets.map((b) => b[1]), count: buckets[buckets.length - 1]![1] };
}

/** Index of the bucket a value (seconds) falls in: the first bound ≥ it. */
export const bucketOf = (h: StageHistogram, seconds: number): number => h.bounds.findIndex((le) => seconds <= le);

/** Index of the bucket holding the histogram's q-quantile (the first whose cumulative count reaches q of all). */
export const quantileBucket = (h: StageHistogram, q: number): number => h.cumulative.findIndex((c) => c >= q * h.count);

/** Index of the highest bucket with observations (the first that holds them all). */
export const highestBucket = (h: StageHistogram): number => h.cumulative.indexOf(h.count);

/** The q-quantile of values (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** "[le_a, le_b]" for messages: a bucket range in ms. */
export const bucketRange = (h: StageHistogram, from: number, to: number): string =>
  `(${from <= 0 ? 0 : h.bounds[from - 1]! * 1000} ms, ${(h.bounds[Math.min(to, h.bounds.length - 1)]! * 1000).toString()} ms]`;
