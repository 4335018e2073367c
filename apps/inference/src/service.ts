/**
 * The inference service: every interval, per symbol, one claim (claim +
 * feature vector), the checks, one model run, one write (latest + history +
 * push). The symbols' claims and writes go out as one pipeline per Redis node
 * (ioredis auto-pipelining) and their model runs as one batched onnxruntime
 * call (models.ts ModelBatcher): each symbol keeps its own claim, outcome,
 * fallback and metrics, but a tick of N symbols costs ~one round trip and one
 * native call, not N. Predictions from every replica come back over the push
 * channel: they feed the in-memory latest (served by HTTP), the WebSocket
 * subscribers and the grader, so each replica serves and grades all of them.
 * Without Redis, a replica still emits flagged fallbacks from its last vector
 * to its own subscribers, or counts the tick missed with a reason.
 *
 * Everything read from Redis is untrusted input (redis-input.ts: checked,
 * refused values counted and logged, never fatal). Health is what this
 * service exists for: a prediction written (by any replica) for every symbol
 * within a few intervals; health.ts composes it from memory, so /health
 * answers at once whatever Redis does.
 *
 * This file wires the service and runs the tick (claim/read → model step →
 * write); the pieces it wires: model-step.ts (checks + model run + the
 * prediction), prediction-feed.ts (latest, subscribers, history),
 * push-spans.ts (the traced push), anomaly-gauges.ts, accuracy-metrics.ts.
 */
import { performance } from 'node:perf_hooks';
import { AnomalyDetector } from '@hotpath/anomaly';
import { createLogger, createRegistry, type Logger, type Registry } from '@hotpath/telemetry';
import { ignoreRejection, withDeadline } from '@hotpath/service';
import { ClaimOutcome, PredictionStore, predictionKeys, VectorStatus, type FeatureVectorRecord, type RedisClient } from '@hotpath/state';
import { spanClock, Tracing } from '@hotpath/tracing';
import type { InferenceConfig } from './config.ts';
import { Grader, spreadBpsOf, type GradedFigures } from './grading.ts';
import { createInferenceMetrics, type InferenceMetrics } from './metrics.ts';
import { anomalyConfigOf, costsOf, DEFAULT_MODEL_DIR } from './config.ts';
import { createLifecycleMetrics, DEFAULT_LIFECYCLE, Lifecycle } from './lifecycle.ts';
import { ModelBatcher, ModelManager } from './models.ts';
import { InferenceRedis } from './redis.ts';
import { midOf, type Prediction } from './prediction.ts';
import { TickScheduler } from './schedule.ts';
import { DeferredQueue } from './deferred.ts';
import { endStage, TickTrace } from './tick-trace.ts';
import { recordFigures } from './accuracy-metrics.ts';
import { AnomalyGauges } from './anomaly-gauges.ts';
import { composeHealth, RECENT_ERROR_MS, RecentTicks, type Health, type LatencySummary } from './health.ts';
import { ModelStep } from './model-step.ts';
import { PredictionFeed } from './prediction-feed.ts';
import { PushSpans } from './push-spans.ts';
import { RedisInput } from './redis-input.ts';

export type { Health, HealthStatus } from './health.ts';
export type { RefusedSource } from './redis-input.ts';

export interface TickResult {
  outcome: 'predicted' | 'predicted_backup' | 'taken' | 'done' | 'missed' | 'refused' | 'redis_unavailable';
  /** Why a tick was missed. */
  reason?: string;
  /** Claim + vector read, model step (checks + run), the write's round trip, whole tick: set when this replica wrote the prediction. */
  redisMs?: number;
  modelMs?: number;
  writeMs?: number;
  totalMs?: number;
}

export class InferenceService {
  readonly registry: Registry;
  readonly metrics: InferenceMetrics;
  readonly log: Logger;
  readonly models: ModelManager;
  readonly grader: Grader;
  /** Champion/challenger (registry, shadow, promotion, rollback) when INFERENCE_REGISTRY_DIR is set. */
  readonly lifecycle: Lifecycle | undefined;
  private readonly clients: InferenceRedis;
  private readonly modelStep: ModelStep;
  private readonly redis: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly store: PredictionStore;
  private readonly scheduler: TickScheduler;
  private readonly lastVector = new Map<string, { vector: FeatureVectorRecord; readAtMs: number }>();
  /** Where every prediction goes (pushed by any replica, or a local fallback): latest, subscribers, grader. */
  private readonly feed: PredictionFeed;
  private readonly backups = new Set<NodeJS.Timeout>();
  /** Ticks running now: a stop waits for them (bounded), so none writes or ends its spans after the service stopped. */
  private readonly ticksInFlight = new Set<Promise<TickResult>>();
  /**
   * The vectors the ticks read, graded once no tick is in flight: a grading computes the figures over the accuracy
   * window (and queues the economics), the lifecycle scans its pending pairs — at 50 symbols tens of ms that, done
   * inline, sat between every tick's read and its model run (whose run waits for a setImmediate). A prediction made
   * at a tick targets a later one, so grading it after the tick's write changes no figure.
   */
  private readonly observed = new DeferredQueue(
    () => ({ symbol: '', tickMs: 0, mid: 0, fresh: false, spreadBps: 0 }),
    (o) => {
      this.grader.observe(o.symbol, o.tickMs, o.mid, o.fresh, o.spreadBps);
      this.lifecycle?.observe(o.symbol, o.tickMs, o.mid, o.fresh);
    },
  );
  private lastRedisErrorMs = Number.NEGATIVE_INFINITY;
  private lastRedisErrorLogMs = Number.NEGATIVE_INFINITY;
  private lastTickMs: number | null = null;
  private startedAtMs = 0;
  /** Per symbol, the newest tick known to be in Redis: own writes, claims answered "already written", pushed predictions. */
  private readonly lastWritten = new Map<string, number>();
  private readonly recentTicks = new RecentTicks();
  private started = false;
  /** OpenTelemetry (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set): every tick a trace linked to its vector's newest sampled event (docs/tracing.md). */
  readonly tracing: Tracing;
  /** Anomaly flags per symbol (docs/anomalies.md), judged on every tick's vector, claimed by this replica or not. */
  readonly anomalies: AnomalyDetector;
  private readonly anomalyGauges: AnomalyGauges;
  /** The traced ticks' push spans, ended when their prediction comes back on the subscriber. */
  private readonly pushes: PushSpans;
  private readonly input: RedisInput;

  constructor(
    readonly config: InferenceConfig,
    /** The OTEL_* variables (default process.env); `batch` false: a round trip and a model run per symbol, as before the batching (bench:scale's comparison). */
    deps: { tracingEnv?: NodeJS.ProcessEnv; batch?: boolean } = {},
  ) {
    this.log = createLogger({ service: 'inference', level: config.logLevel });
    this.registry = createRegistry('inference');
    this.metrics = createInferenceMetrics(this.registry);
    this.anomalies = new AnomalyDetector(anomalyConfigOf(config), (kind, problem) => this.metrics.anomalyRefused.inc({ kind, problem }));
    this.anomalyGauges = new AnomalyGauges(this.anomalies, this.metrics);
    this.pushes = new PushSpans(config.intervalMs);
    this.input = new RedisInput(this.metrics, this.log, config.intervalMs);
    this.tracing = new Tracing({ service: 'inference', version: new URL('../package.json', import.meta.url), registry: this.registry, log: this.log, env: deps.tracingEnv });
    // one server or a cluster, TLS, ACL user: commands that fail fast, a subscriber that waits
    // (one symbol has nothing to pipeline or batch with: its commands and run go at once, without the coalescing hop)
    const batch = (deps.batch ?? true) && config.symbols.length > 1;
    this.clients = new InferenceRedis(config, this.metrics, this.log, () => this.noteRedisError('connection'), batch);
    this.redis = this.clients.commands;
    this.subscriber = this.clients.subscriber;
    this.store = new PredictionStore(this.redis, config.historyMax);
    this.models = new ModelManager(
      this.redis,
      {
        modelPath: config.modelPath,
        modelDir: config.modelDir ?? DEFAULT_MODEL_DIR,
        maxBytes: config.modelMaxBytes,
        loadTimeoutMs: config.modelLoadTimeoutMs,
        pointerKey: config.modelPointerKey,
        pollMs: config.modelPollMs,
        rollbackAfterFailures: config.rollbackAfterFailures,
      },
      this.metrics,
      this.log,
    );
    this.modelStep = new ModelStep(config, this.models, new ModelBatcher(batch, this.metrics), this.metrics, this.log);
    this.lifecycle =
      config.registryDir === undefined
        ? undefined
        : new Lifecycle(
            this.models,
            {
              ...DEFAULT_LIFECYCLE,
              registryDir: config.registryDir,
              pollMs: config.registryPollMs,
              alpha: config.sprtAlpha,
              beta: config.sprtBeta,
              margin: config.sprtMargin,
              maxPairs: config.sprtMaxPairs,
              decayWindow: config.decayWindow,
              baselineAccuracy: config.decayBaselineAccuracy,
              horizonMs: config.horizonS * 1000,
              intervalMs: config.intervalMs,
            },
            createLifecycleMetrics(this.registry),
            this.log,
          );
    this.grader = new Grader(
      config.intervalMs,
      config.accuracyWindow,
      (symbol, model, baseline) => recordFigures(this.metrics, symbol, model, baseline),
      (symbol) => this.metrics.graded.inc({ symbol, outcome: 'ungradable' }),
      { costs: costsOf(config), metrics: this.metrics },
    );
    this.feed = new PredictionFeed(config.symbols, this.store, this.input, this.grader, this.metrics);
    this.scheduler = new TickScheduler(
      config.intervalMs,
      {
        tick: (tickMs, lateMs) => this.tick(tickMs, lateMs),
        skipped: (_tickMs, reason) => this.metrics.skipped.inc({ reason }),
      },
      this.log,
    );
  }

  get ready(): boolean {
    return this.started && this.redis.status === 'ready';
  }

  async start(): Promise<void> {
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onPushed(channel, message));
    // after every (re)connect: catch up on the latest prediction missed while away (a bad one is refused, counted, skipped)
    this.redis.on('ready', () => void this.feed.loadLatest());
    const connected = await this.clients.connect(this.log);
    const subscribed = this.subscriber
      .subscribe(...this.config.symbols.map(predictionKeys.channel))
      .catch(ignoreRejection(this.log, 'the subscriber queues SUBSCRIBE until Redis answers (offline queue, no retry limit): it fails only once the subscriber is closed'));
    if (connected) await subscribed;
    await this.models.start();
    // the registry's champion replaces what the pointer or file gave, then a challenger is looked for
    await this.lifecycle?.start();
    this.scheduler.start();
    this.startedAtMs = Date.now();
    this.started = true;
    this.log.info({ symbols: this.config.symbols, replica: this.config.replica, intervalMs: this.config.intervalMs, model: this.models.state().version }, 'inference started');
  }

  async stop(): Promise<void> {
    this.started = false;
    this.scheduler.stop();
    for (const t of this.backups) clearTimeout(t);
    // a tick mid-write finishes first (each of its Redis calls has its own deadline): else it would write after the
    // stop, and end its spans after tracing had shut down — never exported
    const drainMs = 2 * this.config.redisTimeoutMs + 1_000;
    await withDeadline(Promise.allSettled([...this.ticksInFlight]), drainMs, 'ticks in flight at stop').catch((err: unknown) =>
      this.log.warn({ err, ticks: this.ticksInFlight.size }, 'ticks still running at stop: left to their own deadlines'),
    );
    // pushes still awaited end now (the subscriber closes below): no span left open
    this.pushes.settleAll('push_not_received');
    await this.lifecycle?.stop();
    await this.models.stop();
    this.clients.disconnect();
  }

  /** Subscribe to every prediction (written by any replica, or emitted locally without Redis); returns the unsubscribe. */
  onPrediction(listener: (p: Prediction, json: string) => void): () => void {
    return this.feed.onPrediction(listener);
  }

  latestPrediction(symbol: string): Prediction | undefined {
    return this.feed.latestPrediction(symbol);
  }

  /** History from Redis; malformed entries are left out (counted), so one bad entry does not hide the rest. */
  history(symbol: string, sinceMs: number, limit: number): Promise<Prediction[]> {
    return this.feed.history(symbol, sinceMs, limit);
  }

  health(): Health {
    return composeHealth(this.config, {
      started: this.started,
      startedAtMs: this.startedAtMs,
      redisReady: this.redis.status === 'ready',
      lastRedisErrorMs: this.lastRedisErrorMs,
      lastTickMs: this.lastTickMs,
      lastVector: this.lastVector,
      lastWritten: this.lastWritten,
      model: this.models.state(),
    });
  }

  /** The latency budget the live page shows: recent tick stages (ms, from this replica's own ticks). */
  latencySummary(): LatencySummary {
    return this.recentTicks.summary();
  }

  accuracy(symbol: string): { model: GradedFigures; baseline: GradedFigures } {
    return this.grader.figures(symbol);
  }

  private async tick(tickMs: number, lateMs: number): Promise<void> {
    this.lastTickMs = tickMs;
    this.metrics.jitter.observe(lateMs / 1000);
    await Promise.all(this.config.symbols.map((s) => this.tickSymbol(s, tickMs, false)));
  }

  /**
   * One symbol's tick (what the scheduler runs; public for the benchmark);
   * `backup` = the late pass that stands in for a claimer that died.
   */
  tickSymbol(symbol: string, tickMs: number, backup: boolean): Promise<TickResult> {
    const running = this.tracing.enabled ? this.tracedTick(symbol, tickMs, backup) : this.runTick(symbol, tickMs, backup, undefined);
    this.ticksInFlight.add(running);
    const settled = (): void => {
      this.ticksInFlight.delete(running);
      if (this.ticksInFlight.size === 0) this.observed.flushSoon();
    };
    running.then(settled, settled);
    return running;
  }

  /** The vector a tick read, for grading (Grader, Lifecycle): graded once no tick is in flight (`observed`). */
  private observe(symbol: string, tickMs: number, mid: number, fresh: boolean, spreadBps: number): void {
    const o = this.observed.next();
    o.symbol = symbol;
    o.tickMs = tickMs;
    o.mid = mid;
    o.fresh = fresh;
    o.spreadBps = spreadBps;
    // (a safety net: ticks that never all settle at once still get graded)
    if (this.observed.size >= 4 * this.config.symbols.length + 16) this.observed.flushSoon();
  }

  private async tracedTick(symbol: string, tickMs: number, backup: boolean): Promise<TickResult> {
    const tt = new TickTrace(this.tracing, symbol, tickMs, this.config.replica, backup);
    try {
      const r = await this.runTick(symbol, tickMs, backup, tt);
      // a prediction written ends its tick when its push is back (or at the push's deadline); every other outcome now
      if (r.outcome !== 'predicted' && r.outcome !== 'predicted_backup') tt.finish(r.outcome, r.reason);
      return r;
    } catch (err) {
      tt.failed(tt.root, err, 'tick failed');
      tt.finish('error');
      throw err;
    }
  }

  private async runTick(symbol: string, tickMs: number, backup: boolean, tt: TickTrace | undefined): Promise<TickResult> {
    const t0 = performance.now();
    let claim: Awaited<ReturnType<PredictionStore['claim']>>;
    const read = tt?.stage('redis read');
    try {
      claim = await this.store.claim(symbol, tickMs, this.config.replica, this.config.claimTtlMs);
    } catch (err) {
      if (read) {
        tt!.failed(read, err, 'claim failed');
        endStage(read);
      }
      this.noteRedisError('claim', err);
      if (!backup) this.localFallback(symbol, tickMs, tt);
      return { outcome: 'redis_unavailable' };
    }
    // (the read's end is taken now and written once the claim says this replica runs the tick: else it is discarded)
    const readEndedAt = read ? spanClock() : 0;
    const redisMs = performance.now() - t0;
    this.metrics.redisRead.observe({ symbol }, redisMs / 1000);
    const now = Date.now();
    let vector: FeatureVectorRecord | undefined;
    if (claim.vector) vector = this.input.decoded(symbol, claim.vector);
    tt?.link(vector?.trace);
    if (vector) {
      this.lastVector.set(symbol, { vector, readAtMs: now });
      this.metrics.featureAge.observe({ symbol }, Math.max(0, now - vector.eventTimeUs / 1000) / 1000);
      const fresh = vector.status === VectorStatus.Live && now - vector.eventTimeUs / 1000 <= this.config.maxFeatureAgeMs;
      this.observe(symbol, tickMs, midOf(vector), fresh, spreadBpsOf(vector.bestBid, vector.bestAsk));
      this.metrics.midPrice.set({ symbol }, midOf(vector));
      // (a backup run reads the same tick's vector again: judged once, at the tick's first run)
      if (!backup) this.anomalyGauges.judge(symbol, vector, now);
    }
    if (claim.outcome === ClaimOutcome.Done) {
      if (read) tt!.discard(read);
      this.noteWritten(symbol, tickMs);
      return this.outcome(symbol, 'done');
    }
    if (claim.outcome === ClaimOutcome.Taken) {
      if (read) tt!.discard(read);
      if (!backup) this.scheduleBackup(symbol, tickMs);
      return this.outcome(symbol, 'taken');
    }
    read?.end(readEndedAt);
    if (!vector) return this.missed(symbol, claim.vector ? 'bad_vector' : 'no_features');
    const m0 = performance.now();
    const prediction = await this.modelStep.predict(symbol, tickMs, vector, null, tt, this.anomalies.latest(symbol)?.anomalies);
    const modelMs = performance.now() - m0;
    if (!prediction) return this.missed(symbol, 'no_book');
    const json = JSON.stringify(prediction);
    let written: boolean;
    const write = tt?.stage('redis write');
    // (started before the write: the PUBLISH may come back on the subscriber before the write's own reply)
    const push = tt && this.pushes.expect(tt);
    const w0 = performance.now();
    try {
      written = await this.store.write(symbol, tickMs, json);
    } catch (err) {
      if (write) {
        tt!.failed(write, err, 'write failed');
        endStage(write);
        this.pushes.settled(tt!.traceId, 'not_pushed');
      }
      this.noteRedisError('write', err);
      return this.missed(symbol, 'redis_write_failed');
    }
    const writeMs = performance.now() - w0;
    if (write) endStage(write);
    if (!written) {
      if (tt) this.pushes.settled(tt.traceId, 'not_pushed');
      return this.outcome(symbol, 'refused');
    }
    void push?.then(() => tt!.finish(backup ? 'predicted_backup' : 'predicted'));
    this.noteWritten(symbol, tickMs);
    // the challenger runs after the write, off the tick's path; it is never served
    if (this.lifecycle) void this.lifecycle.shadow(symbol, tickMs, prediction.targetMs, prediction.mid, prediction.fallback ? null : prediction.predictedReturnBps, vector.features);
    const totalMs = performance.now() - t0;
    this.metrics.totalLatency.observe({ symbol }, totalMs / 1000);
    const servedMs = Date.now();
    this.metrics.stages.observe({ stage: 'redis_to_prediction' }, Math.max(0, servedMs - vector.writtenAtUs / 1000) / 1000);
    this.metrics.stages.observe({ stage: 'exchange_to_prediction' }, Math.max(0, servedMs - vector.eventTimeUs / 1000) / 1000);
    this.count(prediction);
    this.recentTicks.record(redisMs, modelMs, totalMs);
    return { ...this.outcome(symbol, backup ? 'predicted_backup' : 'predicted'), redisMs, modelMs, writeMs, totalMs };
  }

  private outcome(symbol: string, outcome: TickResult['outcome']): TickResult {
    this.metrics.ticks.inc({ symbol, outcome });
    return { outcome };
  }

  /** Redis unreachable: a flagged fallback from the last vector read, to this replica's own subscribers only. */
  private localFallback(symbol: string, tickMs: number, tt: TickTrace | undefined): void {
    const last = this.lastVector.get(symbol);
    if (!last || Date.now() - last.readAtMs > this.config.localFallbackMaxAgeMs) return void this.missed(symbol, 'redis_unavailable');
    // (the tick's trace links to the last vector's event; the tick span ends when tickSymbol returns, so this runs inside it)
    tt?.link(last.vector.trace);
    void this.modelStep.predict(symbol, tickMs, last.vector, 'redis_unavailable', tt).then((p) => {
      if (!p) return void this.missed(symbol, 'no_book');
      this.count(p);
      this.feed.deliver(p, JSON.stringify(p), false);
    });
  }

  private scheduleBackup(symbol: string, tickMs: number): void {
    const t = setTimeout(
      () => {
        this.backups.delete(t);
        void this.tickSymbol(symbol, tickMs, true);
      },
      Math.max(0, tickMs + this.config.claimTtlMs + 50 - Date.now()),
    );
    this.backups.add(t);
  }

  private onPushed(channel: Buffer, message: Buffer): void {
    const p = this.input.checked(message, 'push');
    if (!p) return;
    // a prediction is only taken from its own symbol's channel
    if (channel.toString('latin1') !== predictionKeys.channel(p.symbol) || !this.config.symbols.includes(p.symbol))
      return void this.input.refused('push', new Error(`prediction for ${p.symbol} on another symbol's channel`));
    if (!this.input.plausible(p)) return void this.input.refused('push', new Error(`prediction for tick ${p.tickMs} is from the future`), p.symbol);
    if (this.pushes.size > 0 && p.traceId !== undefined) this.pushes.settled(p.traceId);
    this.noteWritten(p.symbol, p.tickMs);
    // re-serialized from the checked object: subscribers get only the fields the schema knows
    this.feed.deliver(p, JSON.stringify(p), true);
  }

  private noteWritten(symbol: string, tickMs: number): void {
    if ((this.lastWritten.get(symbol) ?? -1) < tickMs) this.lastWritten.set(symbol, tickMs);
  }

  private count(p: Prediction): void {
    this.metrics.predictions.inc({ symbol: p.symbol, fallback: String(p.fallback) });
    this.metrics.confidence.observe(p.confidence);
    if (p.reason) this.metrics.fallbacks.inc({ reason: p.reason });
  }

  private missed(symbol: string, reason: string): TickResult {
    this.metrics.missed.inc({ symbol, reason });
    return { ...this.outcome(symbol, 'missed'), reason };
  }

  private noteRedisError(operation: string, err?: unknown): void {
    // logged at most every RECENT_ERROR_MS: a Redis outage would otherwise log every tick
    if (err !== undefined && Date.now() - this.lastRedisErrorLogMs >= RECENT_ERROR_MS) {
      this.lastRedisErrorLogMs = Date.now();
      this.log.warn({ err, operation }, 'Redis command failed (further failures for 10 s only counted)');
    }
    this.lastRedisErrorMs = Date.now();
    this.metrics.redisErrors.inc({ operation });
  }
}
