/**
 * One Tracing per service: an OpenTelemetry TracerProvider exporting OTLP/HTTP
 * (JSON) through a BOUNDED queue, or a no-op when tracing is off (the
 * default). Nothing is registered globally: each service holds its own
 * tracer, so two services in one process (tests, the launcher) never share a
 * provider.
 *
 * The hot path asks `sampleRoot()` first: a Math.random() against the ratio,
 * no allocation. Only a sampled frame creates a span (the SDK's samplers would
 * allocate a non-recording span and random ids for every frame). The
 * provider's sampler is parent-based with an always-on root, so the one
 * decision is made at the gate, at OTEL_TRACES_SAMPLER_ARG, and children
 * follow their parent's sampled flag — across processes through the envelope.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Context, ROOT_CONTEXT, type Span, type SpanContext, type Tracer, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Component } from '@hotpath/service';
import { Counter, Gauge, type Logger, type Registry } from '@hotpath/telemetry';
import { loadTracingConfig, type TracingConfig } from './config.ts';

/**
 * The one clock for span times, in epoch ms with sub-ms precision. Pass it to
 * every start and end: the SDK's own default anchors each span to Date.now()
 * (whole milliseconds) at its start, so a child ended after its parent could
 * read as ending up to a millisecond before or after it.
 */
export const spanClock = (): number => performance.timeOrigin + performance.now();

/** semconv's service.instance.id (still "incubating" there, hence spelled out). */
const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';

export interface TracingOptions {
  /** Default service.name (OTEL_SERVICE_NAME overrides). */
  service: string;
  /** service.version, or the URL of the package.json to read it from. */
  version: string | URL;
  registry: Registry;
  log?: Logger;
  /** The OTEL_* variables (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Overrides the OTEL_* configuration (tests). */
  config?: Partial<TracingConfig>;
  /** service.instance.id (default host:pid). */
  instanceId?: string;
}

export class Tracing {
  readonly config: TracingConfig;
  readonly tracer: Tracer;
  /** Spans queued or being exported now. */
  private pending = 0;
  private shutDown = false;
  /** Spans ended by discard(): never exported. */
  private readonly discarded = new WeakSet<object>();
  private readonly provider: TracerProvider | undefined;
  private readonly dropped: Counter<'reason'>;
  private readonly exported: Counter;
  /** The lifecycle component: add it FIRST so it stops last and flushes what the other components' stops still traced. */
  readonly component: Component;

  constructor(options: TracingOptions) {
    this.config = { ...loadTracingConfig(options.service, options.env ?? process.env), ...options.config };
    const c = this.config;
    this.dropped = new Counter({
      name: 'tracing_spans_dropped_total',
      help: 'Spans never exported: queue_full (the bounded export queue was full), export_failed (the collector refused or was unreachable), shutdown (not flushed by the stop deadline)',
      labelNames: ['reason'],
      registers: [options.registry],
    });
    for (const reason of ['queue_full', 'export_failed', 'shutdown']) this.dropped.labels({ reason });
    this.exported = new Counter({ name: 'tracing_spans_exported_total', help: 'Spans the collector accepted', registers: [options.registry] });
    const self = this;
    new Gauge({
      name: 'tracing_spans_pending',
      help: 'Spans queued or in flight to the collector (bounded by OTEL_BSP_MAX_QUEUE_SIZE)',
      registers: [options.registry],
      collect() {
        this.set(self.pending);
      },
    });
    const enabled = new Gauge({ name: 'tracing_enabled', help: '1 when spans are exported (OTEL_EXPORTER_OTLP_ENDPOINT set, OTEL_SDK_DISABLED not true)', registers: [options.registry] });
    enabled.set(c.enabled ? 1 : 0);
    if (!c.enabled) {
      this.tracer = trace.getTracer('noop'); // (no global provider is registered: the API's no-op tracer)
      this.component = { name: 'tracing' };
      return;
    }
    const version = typeof options.version === 'string' ? options.version : packageVersion(options.version);
    const exporter = this.countingExporter(new OTLPTraceExporter({ url: c.url, timeoutMillis: c.exportTimeoutMs, concurrencyLimit: 2 }), options.log);
    const batch = new BatchSpanProcessor({
      exporter,
      // (the SDK's own queue never fills: onEnd below holds the bound, counting what it drops)
      maxQueueSize: c.maxQueueSize,
      maxExportBatchSize: c.maxExportBatchSize,
      scheduledDelayMillis: c.scheduledDelayMs,
      exportTimeoutMillis: c.exportTimeoutMs,
    });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: c.serviceName,
        [ATTR_SERVICE_VERSION]: version,
        [ATTR_SERVICE_INSTANCE_ID]: options.instanceId ?? `${hostname()}:${process.pid}`,
      }),
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [
        {
          onStart: (span, ctx) => batch.onStart(span, ctx),
          onEnd(span: ReadableSpan) {
            if (self.discarded.has(span)) return;
            // (a span ended after the shutdown would wait forever in a processor that exports nothing more)
            if (self.shutDown) return void self.dropped.inc({ reason: 'shutdown' });
            if (self.pending >= c.maxQueueSize) {
              self.dropped.inc({ reason: 'queue_full' });
              return;
            }
            self.pending++;
            batch.onEnd(span);
          },
          forceFlush: () => batch.forceFlush(),
          shutdown: () => batch.shutdown(),
        },
      ],
    });
    this.tracer = this.provider.getTracer(options.service, version);
    this.component = { name: 'tracing', stop: (signal) => this.shutdown(signal) };
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** The hot path's gate: true for a sampled fraction of new traces (no allocation). */
  sampleRoot(): boolean {
    return this.config.enabled && Math.random() < this.config.ratio;
  }

  /** A new root span (call only after sampleRoot() said yes). */
  startRoot(name: string, startTime = spanClock()): Span {
    return this.tracer.startSpan(name, { root: true, startTime }, ROOT_CONTEXT);
  }

  /** A child of `parent` (a span of this process, or a context read from an envelope). */
  startChild(name: string, parent: Span | SpanContext, startTime = spanClock()): Span {
    const ctx: Context = 'spanContext' in parent ? trace.setSpan(ROOT_CONTEXT, parent) : trace.setSpanContext(ROOT_CONTEXT, parent);
    return this.tracer.startSpan(name, { startTime }, ctx);
  }

  /**
   * Ends `span` without exporting it: work that turned out not to be worth a
   * trace (inference's tick another replica ran) — ended, so nothing is left
   * open, and never sent to the collector.
   */
  discard(span: Span): void {
    this.discarded.add(span);
    span.end();
  }

  /**
   * Flushes under the stop deadline `signal` aborts at: what is not exported
   * by then is counted as dropped (shutdown) and left — a collector that is
   * down must not hold the service's stop.
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    const provider = this.provider;
    if (provider === undefined) return;
    this.shutDown = true;
    const aborted = new Promise<'aborted'>((resolve) => {
      if (signal === undefined) return;
      if (signal.aborted) resolve('aborted');
      else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const outcome = await Promise.race([
      provider.shutdown().then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      aborted,
    ]);
    if (outcome === 'aborted' && this.pending > 0) {
      this.dropped.inc({ reason: 'shutdown' }, this.pending);
      this.pending = 0;
    }
  }

  /** Counts every span's fate, decrementing `pending` when the exporter answers (success or not). */
  private countingExporter(inner: SpanExporter, log: Logger | undefined): SpanExporter {
    let failuresLogged = 0;
    return {
      export: (spans, done) => {
        inner.export(spans, (result) => {
          this.pending = Math.max(0, this.pending - spans.length);
          if (result.code === 0) this.exported.inc(spans.length);
          else {
            this.dropped.inc({ reason: 'export_failed' }, spans.length);
            // (one line per failure would flood the log while the collector is down: the counter says how many)
            if (failuresLogged++ % 100 === 0) log?.warn({ err: result.error, spans: spans.length }, 'trace export failed: spans dropped (counted in tracing_spans_dropped_total)');
          }
          done(result);
        });
      },
      shutdown: () => inner.shutdown(),
      forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
    };
  }
}

/** A package's version (service.version) from its package.json; '0.0.0' when it cannot be read. */
export function packageVersion(packageJson: URL): string {
  try {
    const v = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
