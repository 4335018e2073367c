/**
 * Composition root of the ingestor: config → REST client, Kinesis producer,
 * publisher, per-symbol tracker, exchange connection, /health and /metrics.
 */
import type { FastifyInstance } from 'fastify';
import { KinesisProducer, createKinesisClient, visitStream, type KinesisClient } from '@hotpath/kinesis';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';
import { DeadlineError, Lifecycle, createOpsServer, retry, withDeadline, type StopReport } from '@hotpath/service';
import { Counter, Gauge, Histogram, createLogger, createRegistry, createStageLatency, type Logger, type Registry } from '@hotpath/telemetry';
import { Tracing, spanClock, type Span } from '@hotpath/tracing';
import { resolveApiKey, type IngestorConfig } from './config.ts';
import { ExchangeConnection } from './connection.ts';
import { MAX_ENVELOPE_PAYLOAD_BYTES, Publisher } from './publisher.ts';
import { BinanceRest } from './rest.ts';
import { ResumeScanner } from './resume.ts';
import { SymbolTracker } from './tracker.ts';

const TRADES = spot.TradesStreamEventDecoder.TEMPLATE_ID;
const BEST_BID_ASK = spot.BestBidAskStreamEventDecoder.TEMPLATE_ID;
const DEPTH_SNAPSHOT = spot.DepthSnapshotStreamEventDecoder.TEMPLATE_ID;
const DEPTH_DIFF = spot.DepthDiffStreamEventDecoder.TEMPLATE_ID;
/** The message_type label of each stream template (anything else: 'other'). */
const MESSAGE_TYPES: ReadonlyMap<number, string> = new Map([
  [TRADES, 'trade'],
  [BEST_BID_ASK, 'best_bid_ask'],
  [DEPTH_SNAPSHOT, 'depth_snapshot'],
  [DEPTH_DIFF, 'depth_diff'],
]);

/** The look back's first windows, most recent first (then INGESTOR_RESUME_LOOKBACK_SECONDS): see resume(). */
const RESUME_WINDOWS_SECONDS = [30, 120] as const;

export class Ingestor {
  readonly registry: Registry;
  readonly log: Logger;
  readonly producer: KinesisProducer;
  readonly tracker: SymbolTracker;
  private readonly connection: ExchangeConnection;
  private readonly publisher: Publisher;
  private readonly decoder = new spot.SpotStreamDecoder();
  private readonly http: FastifyInstance;
  private readonly messages: Counter<'message_type'>;
  /** `messages` per template id, bound once: the per-frame path does no label lookup. */
  private readonly messagesOfTemplate = new Map<number, ReturnType<Counter<'message_type'>['labels']>>();
  private readonly otherMessages: ReturnType<Counter<'message_type'>['labels']>;
  private readonly decodeErrors: Counter<'reason'>;
  private readonly decodeTime: Histogram<never>;
  private readonly connectionEventEncoder = new hotpath.ConnectionEventEncoder();
  private readonly scratch = Buffer.alloc(4096);
  /** Called with receive → Kinesis-acknowledged latency (ms) of every stream frame (benches). */
  /** Called with each stream frame's put → Kinesis ack latency (default: the pipeline stage metric; benches replace it). */
  onFrameAck: ((ms: number) => void) | undefined;
  private readonly stages: Histogram<'stage'>;
  private readonly resumes: Counter<'result'>;
  /** What the last look back read: records, and the window it ended in (seconds). */
  private readonly resumeRecords: Gauge;
  private readonly resumeWindow: Gauge;
  /** Aborted by stop(): REST calls and every retry wait end at once. */
  private readonly stopping = new AbortController();
  readonly lifecycle: Lifecycle;
  /** OpenTelemetry (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set): a span tree per sampled frame, docs/tracing.md. */
  readonly tracing: Tracing;
  /** When the current stop must be over (ms since the epoch). */
  private stopDeadline = Number.POSITIVE_INFINITY;
  private readonly observeReceive: (seconds: number) => void;

  constructor(
    readonly config: IngestorConfig,
    options: { log?: Logger; kinesisClient?: KinesisClient /** The OTEL_* variables (default process.env). */; tracingEnv?: NodeJS.ProcessEnv } = {},
  ) {
    this.log = options.log ?? createLogger({ service: 'ingestor', level: config.logLevel });
    this.registry = createRegistry('ingestor');
    this.tracing = new Tracing({ service: 'ingestor', version: new URL('../package.json', import.meta.url), registry: this.registry, log: this.log, env: options.tracingEnv });
    const apiKey = resolveApiKey(config);
    const kinesisClient = options.kinesisClient ?? createKinesisClient({ region: config.kinesisRegion, ...(config.kinesisEndpoint ? { endpoint: config.kinesisEndpoint } : {}) });
    this.producer = new KinesisProducer(kinesisClient, { streamName: config.kinesisStream, maxBufferedBytes: config.maxBufferedBytes, metricPrefix: 'ingestor_kinesis' }, this.registry);
    this.publisher = new Publisher(this.producer, this.registry, config.captureDir, config.captureRotateBytes, undefined, {
      rotateSeconds: config.captureRotateSeconds,
      retentionHours: config.captureRetentionHours,
    });
    const rest = new BinanceRest(config.restUrl, config.restWeightBudget, this.registry, this.log, this.stopping.signal, config.restConcurrency);
    this.tracker = new SymbolTracker(config.symbols, this.publisher, rest, config.snapshotLimit, this.registry, this.log, config.maxBackfillTrades, this.tracing);
    this.messages = new Counter({ name: 'ingestor_sbe_messages_total', help: 'SBE messages received by type', labelNames: ['message_type'], registers: [this.registry] });
    for (const [templateId, type] of MESSAGE_TYPES) this.messagesOfTemplate.set(templateId, this.messages.labels({ message_type: type }));
    this.otherMessages = this.messages.labels({ message_type: 'other' });
    this.decodeErrors = new Counter({ name: 'ingestor_sbe_decode_errors_total', help: 'Frames that failed to decode, by status', labelNames: ['reason'], registers: [this.registry] });
    this.stages = createStageLatency(this.registry);
    this.resumes = new Counter({ name: 'ingestor_resume_total', help: 'Look backs at start: ok (found a predecessor), empty, failed', labelNames: ['result'], registers: [this.registry] });
    this.resumeRecords = new Gauge({ name: 'ingestor_resume_records_read', help: 'Records the last look back at start read', registers: [this.registry] });
    this.resumeWindow = new Gauge({ name: 'ingestor_resume_window_seconds', help: 'How far back the last look back at start had to read (s)', registers: [this.registry] });
    const toKinesis = this.stages.labels({ stage: 'ingestor_to_kinesis' });
    const toIngestor = this.stages.labels({ stage: 'exchange_to_ingestor' });
    this.observeReceive = (seconds) => toIngestor.observe(seconds);
    this.onFrameAck = (ms) => toKinesis.observe(ms / 1000);
    this.decodeTime = new Histogram({
      name: 'ingestor_sbe_decode_duration_seconds',
      help: 'SBE frame validation + header decode',
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002],
      registers: [this.registry],
    });
    const streams = config.symbols.flatMap((s) => ['trade', 'bestBidAsk', 'depth'].map((k) => `${s.toLowerCase()}@${k}`));
    this.connection = new ExchangeConnection(
      {
        url: `${config.streamUrl}/stream?streams=${streams.join('/')}`,
        apiKey,
        watchdogMs: config.watchdogMs,
        rotateAfterSeconds: config.rotateAfterSeconds,
        reconnectBaseMs: config.reconnectBaseMs,
        reconnectMaxMs: config.reconnectMaxMs,
        maxFrameBytes: config.maxFrameBytes,
      },
      {
        frame: (data, epoch, t) => this.onFrame(data, epoch, t),
        live: (epoch, previous, switchover) => this.onLive(epoch, previous, switchover),
        lost: (epoch, reason) => this.onLost(epoch, reason),
      },
      this.registry,
      this.log,
    );
    this.http = createOpsServer({ registry: this.registry, health: () => this.health(), ready: () => this.lifecycle.status === 'started' });
    // Order matters: /health answers (not ready) while Kinesis is awaited; stop runs backwards — the exchange
    // connection closes first, REST work ends, Kinesis is flushed, then the HTTP side goes.
    this.lifecycle = new Lifecycle()
      // first, so it stops last: the spans of everything else's stop are flushed (within the shared deadline)
      .add(this.tracing.component)
      .add({ name: 'http', start: () => this.http.listen({ port: this.config.port, host: this.config.host }).then(() => undefined), stop: () => this.http.close() })
      .add({ name: 'capture', stop: () => this.publisher.close() })
      .add({
        name: 'kinesis producer',
        // Kinesis not reachable yet is not fatal: wait for it (reported on /health), until stopped
        start: (signal) =>
          retry(() => this.producer.start(), { what: 'Kinesis ListShards', signal, baseMs: 250, maxMs: 5_000, onRetry: (err) => this.log.warn({ err }, 'Kinesis not reachable yet: retrying') }),
        stop: async (signal) => {
          // (a margin before the shared deadline: what is left must be counted before the lifecycle gives up on this step)
          const { unflushed } = await this.producer.stop(Math.max(1, this.stopDeadline - Date.now() - 100));
          this.publisher.closed = true;
          if (unflushed > 0) this.log.error({ unflushed }, 'stop deadline passed with envelopes not acknowledged by Kinesis: counted as lost_at_stop');
          signal.throwIfAborted();
        },
      })
      .add({ name: 'resume', start: () => this.resume(kinesisClient) })
      .add({
        name: 'exchange connection',
        start: () => this.connection.start(),
        stop: () => {
          this.connection.stop();
          this.stopping.abort(new Error('ingestor stopping'));
          this.tracker.stop();
          return withDeadline(Promise.allSettled([...this.tracker.pending]), Math.max(1, this.stopDeadline - Date.now() - 500), 'REST work').then(
            () => undefined,
            () => undefined,
          );
        },
      });
  }

  health(): { ok: boolean; connected: boolean; lastMessageAgeMs: number; kinesis: string; bufferFill: number } {
    const age = this.connection.lastMessageMs === 0 ? Number.POSITIVE_INFINITY : Date.now() - this.connection.lastMessageMs;
    const fill = this.producer.buffered.fill;
    const kinesis = this.producer.lastError ?? 'ok';
    return {
      ok: this.connection.connected && age < this.config.watchdogMs && this.producer.lastError === undefined && fill < 0.9,
      connected: this.connection.connected,
      lastMessageAgeMs: Number.isFinite(age) ? age : -1,
      kinesis,
      bufferFill: fill,
    };
  }

  /** Starts in order (HTTP, Kinesis — waited for —, the exchange connection); a failure stops what had started. */
  async start(): Promise<void> {
    await this.lifecycle.start();
    this.log.info({ symbols: this.config.symbols, stream: this.config.kinesisStream, shards: this.producer.shardCount, writerId: this.publisher.writerId }, 'ingestor started');
  }

  get httpPort(): number {
    const a = this.http.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /**
   * Graceful stop within `deadlineMs` (default INGESTOR_STOP_TIMEOUT_MS): close
   * the exchange connection, end REST work, flush Kinesis; what could not be
   * flushed by then is counted (ingestor_kinesis_user_records_total{result=
   * "lost_at_stop"}) and logged — the next process re-anchors, it does not
   * replay it.
   */
  async stop(deadlineMs = this.config.stopTimeoutMs): Promise<StopReport> {
    this.stopDeadline = Date.now() + deadlineMs;
    const report = await this.lifecycle.stop(deadlineMs);
    for (const f of report.failed) this.log.error({ component: f.name, err: f.err }, 'did not stop cleanly');
    return report;
  }

  /**
   * Reads back what predecessors published and continues from there
   * (resume.ts). The look back starts with the most recent records and widens
   * (RESUME_WINDOWS_SECONDS, then resumeLookbackSeconds) only while a symbol has
   * no trade in it yet: a predecessor that ran until moments ago is found in
   * seconds however busy the stream, and the whole look back is read only
   * after a long downtime. One deadline covers every window. A failure is
   * logged and counted, not fatal: the ingestor must run even when the look
   * back cannot.
   */
  private async resume(client: KinesisClient): Promise<void> {
    const lookback = this.config.resumeLookbackSeconds;
    if (lookback === 0) return;
    const windows = [...RESUME_WINDOWS_SECONDS.filter((s) => s < lookback), lookback];
    const deadline = Date.now() + this.config.resumeTimeoutMs;
    let records = 0;
    let scanner = new ResumeScanner(this.config.symbols);
    let windowSeconds = 0;
    try {
      for (windowSeconds of windows) {
        // Kinesis may be briefly away (an outage while the process starts): retried, all within the one deadline
        await retry(
          async () => {
            records = 0;
            scanner = new ResumeScanner(this.config.symbols);
            await visitStream(
              client,
              this.config.kinesisStream,
              {
                since: new Date(Date.now() - windowSeconds * 1000),
                deadlineMs: Math.max(1, deadline - Date.now()),
                pollMs: 200,
                partitionKeys: this.config.symbols,
                onMalformed: () => undefined, // (the aggregator counts them; here they carry nothing to resume from)
              },
              (batch) => {
                records += batch.length;
                for (const r of batch) scanner.add(r.data);
              },
            );
          },
          { what: 'stream look back', deadlineMs: Math.max(1, deadline - Date.now()), baseMs: 250, maxMs: 2_000, signal: this.stopping.signal, retryable: (err) => !(err instanceof DeadlineError) },
        );
        if ([...scanner.points.values()].every((p) => p.lastTradeId >= 0)) break;
      }
      const points = scanner.points;
      let found = false;
      for (const [symbol, point] of points) {
        if (point.lastTradeId >= 0 || point.unrepairedTradeGaps.length > 0) found = true;
        this.tracker.resume(symbol, point);
      }
      this.resumes.inc({ result: found ? 'ok' : 'empty' });
      this.resumeRecords.set(records);
      this.resumeWindow.set(windowSeconds);
      this.log.info({ records, windowSeconds, points: Object.fromEntries(points) }, found ? 'resuming after a predecessor' : 'no predecessor on the stream');
    } catch (err) {
      this.resumes.inc({ result: 'failed' });
      this.log.error({ err, windowSeconds }, 'could not read back the stream: trades missed while no ingestor ran will not be backfilled');
    }
  }

  /** Hook for fault drills and tests: a make-before-break switch now. */
  switchOver(reason = 'manual'): void {
    this.connection.switchOver(reason);
  }

  private onFrame(data: Buffer, epoch: number, receiveTimeUs: number): void {
    const started = performance.now();
    // A sampled fraction of frames gets a span tree; the others allocate nothing for tracing (sampleRoot is a Math.random()).
    const root = this.tracing.sampleRoot() ? this.tracing.startRoot('ingestor frame') : undefined;
    // Before the tracker sees it: a frame that cannot be published must read as a gap there, which repairs it.
    if (data.length > MAX_ENVELOPE_PAYLOAD_BYTES) {
      this.decodeErrors.inc({ reason: 'oversized' });
      if (root !== undefined) endDropped(root, 'oversized');
      return;
    }
    const decodeSpan = root === undefined ? undefined : this.tracing.startChild('decode', root);
    const status = this.decoder.wrap(data);
    this.decodeTime.observe((performance.now() - started) / 1000);
    decodeSpan?.end(spanClock());
    if (status !== DecodeStatus.Ok) {
      const reason = this.decoder.error()?.code ?? 'unknown';
      this.decodeErrors.inc({ reason });
      if (root !== undefined) endDropped(root, `undecodable: ${reason}`);
      return;
    }
    (this.messagesOfTemplate.get(this.decoder.templateId) ?? this.otherMessages).inc();
    const symbol = this.symbolOf();
    const eventTimeUs = this.eventTimeOf();
    // (a clock behind the exchange's would read negative: counted as 0)
    if (eventTimeUs > 0) this.observeReceive(Math.max(0, receiveTimeUs - eventTimeUs) / 1e6);
    if (root === undefined) {
      if (!this.tracker.accept(this.decoder, symbol, epoch, receiveTimeUs)) return;
      this.publisher.publish(hotpath.EnvelopeKind.StreamFrame, symbol, epoch, receiveTimeUs, data, this.onFrameAck);
      return;
    }
    this.publishSampled(root, data, symbol, epoch, receiveTimeUs);
  }

  /** The rest of a sampled frame: gap check, then envelope + Kinesis put, the put span ending at the ack. */
  private publishSampled(root: Span, data: Buffer, symbol: string, epoch: number, receiveTimeUs: number): void {
    root.setAttribute('symbol', symbol);
    root.setAttribute('message_type', MESSAGE_TYPES.get(this.decoder.templateId) ?? 'other');
    const gap = this.tracing.startChild('gap check', root);
    const accepted = this.tracker.accept(this.decoder, symbol, epoch, receiveTimeUs);
    gap.end(spanClock());
    if (!accepted) return endDropped(root, 'not published: a gap or a re-anchoring in progress');
    const put = this.tracing.startChild('kinesis put', root);
    const onAck = this.onFrameAck;
    const ok = this.publisher.publish(
      hotpath.EnvelopeKind.StreamFrame,
      symbol,
      epoch,
      receiveTimeUs,
      data,
      (ms) => {
        onAck?.(ms);
        const end = spanClock();
        put.end(end);
        root.end(end);
      },
      put.spanContext(),
    );
    if (!ok) {
      const end = spanClock();
      endDropped(put, 'refused: the producer buffer is full or the publisher is closed', end);
      root.end(end);
    }
  }

  private eventTimeOf(): number {
    switch (this.decoder.templateId) {
      case TRADES:
        return this.decoder.tradesStreamEvent.eventTime;
      case BEST_BID_ASK:
        return this.decoder.bestBidAskStreamEvent.eventTime;
      case DEPTH_SNAPSHOT:
        return this.decoder.depthSnapshotStreamEvent.eventTime;
      default:
        return this.decoder.depthDiffStreamEvent.eventTime;
    }
  }

  private symbolOf(): string {
    switch (this.decoder.templateId) {
      case TRADES:
        return this.decoder.tradesStreamEvent.symbol();
      case BEST_BID_ASK:
        return this.decoder.bestBidAskStreamEvent.symbol();
      case DEPTH_SNAPSHOT:
        return this.decoder.depthSnapshotStreamEvent.symbol();
      default:
        return this.decoder.depthDiffStreamEvent.symbol();
    }
  }

  private onLive(epoch: number, previous: number, switchover: boolean): void {
    const type = switchover ? hotpath.ConnectionEventType.SwitchedOver : hotpath.ConnectionEventType.Connected;
    for (const symbol of this.config.symbols) this.publishConnectionEvent(symbol, epoch, previous, type, switchover ? 'make-before-break' : 'connected');
    if (!switchover) this.tracker.onNewConnection(epoch);
  }

  private onLost(epoch: number, reason: string): void {
    for (const symbol of this.config.symbols) this.publishConnectionEvent(symbol, epoch, epoch, hotpath.ConnectionEventType.Disconnected, reason);
  }

  private publishConnectionEvent(symbol: string, epoch: number, previous: number, type: hotpath.ConnectionEventType, reason: string): void {
    const now = Date.now() * 1000;
    const e = this.connectionEventEncoder
      .wrapAndApplyHeader(this.scratch)
      .eventTimeUs(now)
      .connectionEpoch(epoch)
      .previousEpoch(previous)
      .lastSequence(0)
      .type(type)
      .symbol(symbol)
      .reason(reason.slice(0, 200));
    this.publisher.publish(hotpath.EnvelopeKind.ConnectionEvent, symbol, epoch, now, this.scratch.subarray(0, e.encodedLength));
  }
}

/** Ends a span whose frame went no further, the reason as an event (SRE: why did this one stop here?). */
function endDropped(span: Span, reason: string, end = spanClock()): void {
  span.addEvent('dropped', { reason }, end);
  span.end(end);
}
