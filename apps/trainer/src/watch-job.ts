/**
 * The `pnpm train:watch` job: its cycle (captures → candidate, or a refusal
 * with its code), the counters in `watch-status.json`, and the same ops face
 * as the services (libs/service createOpsServer): /metrics with the
 * trainer_watch_* series, /ready, and a /health that says whether the job
 * does its job — 503 when no candidate was written for two periods, or the
 * last `refusedRunsUnhealthy` cycles were all refused.
 */
import { ModelRegistry, REGISTRY_ERROR_CODES, RegistryError } from '@hotpath/model';
import { createOpsServer } from '@hotpath/service';
import { SpanStatusCode, spanClock, Tracing } from '@hotpath/tracing';
import { Counter, createRegistry, Gauge, Histogram, type Registry, serializeError } from '@hotpath/telemetry';
import type { WatchConfig } from './watch-config.ts';
import { captureDataset, captureFiles, readCaptureSpan, trainCandidate, WATCH_ERROR_CODES, WatchError, writeStatus, type WatchStatus } from './watch.ts';

/** Consecutive refused cycles after which /health says 503 (one refusal is a bad span; three in a row is a job not doing its job). */
export const REFUSED_RUNS_UNHEALTHY = 3;

export interface WatchOutcome {
  ok: boolean;
  /** The candidate's id, or the refusal's code. */
  id?: string;
  code?: string;
}

export interface WatchHealth {
  ok: boolean;
  /** Seconds since the last candidate was written (since the job started while there is none). */
  lastSuccessAgeSeconds: number;
  lastSuccessAt: string | null;
  consecutiveRefusals: number;
  lastOutcome: string | null;
}

export interface WatchJobOptions {
  /** The clock (ms); tests set it to the capture's time. */
  now?: () => number;
  /** One JSON log line per event (bin/watch.ts: stdout). */
  log?: (o: object) => void;
  /** The OTEL_* variables (default process.env): a `training cycle` span per cycle when an endpoint is set (docs/tracing.md). */
  tracingEnv?: NodeJS.ProcessEnv;
}

/** How long a stop waits for the last cycle's spans to reach the collector. */
const TRACE_FLUSH_MS = 5_000;

export class WatchJob {
  readonly metrics: Registry;
  readonly http: ReturnType<typeof createOpsServer> | undefined;
  readonly status: WatchStatus = { cycles: 0, candidates: 0, refused: {}, lastCycleAt: null, lastOutcome: null };
  readonly tracing: Tracing;
  private readonly registry: ModelRegistry;
  private readonly now: () => number;
  private readonly log: (o: object) => void;
  private readonly runs: Counter<'outcome'>;
  private readonly refusals: Counter<'code'>;
  private readonly lastSuccess: Gauge;
  private readonly lastRun: Gauge;
  private readonly accuracy: Gauge;
  private readonly duration: Histogram;
  private readonly startedAt: number;
  private lastSuccessAt: number | null = null;
  private consecutiveRefusals = 0;
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    readonly config: WatchConfig,
    options: WatchJobOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.startedAt = this.now();
    this.registry = new ModelRegistry(config.registryDir);
    this.metrics = createRegistry('train-watch');
    const registers = [this.metrics];
    this.runs = new Counter({ name: 'trainer_watch_runs_total', help: 'Training cycles by outcome (candidate_written | refused)', labelNames: ['outcome'], registers });
    this.refusals = new Counter({ name: 'trainer_watch_refusals_total', help: 'Refused training cycles by code (WATCH_ERROR_CODES, RegistryError codes, failed)', labelNames: ['code'], registers });
    this.lastSuccess = new Gauge({ name: 'trainer_watch_last_success_timestamp_seconds', help: 'When the last candidate was written (0: none since the job started)', registers });
    this.lastRun = new Gauge({ name: 'trainer_watch_last_run_timestamp_seconds', help: 'When the last training cycle ended', registers });
    this.accuracy = new Gauge({ name: 'trainer_watch_candidate_directional_accuracy', help: "The last candidate's directional accuracy on its held-out slice (0..1)", registers });
    this.duration = new Histogram({ name: 'trainer_watch_run_duration_seconds', help: 'Training cycle duration', buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800], registers });
    // every label present from the start: rate() and increase() see the first refusal of a code
    for (const outcome of ['candidate_written', 'refused']) this.runs.inc({ outcome }, 0);
    for (const code of [...WATCH_ERROR_CODES, ...REGISTRY_ERROR_CODES, 'failed']) this.refusals.inc({ code }, 0);
    this.lastSuccess.set(0);
    // no candidate yet: not a measured accuracy of 0
    this.accuracy.set(Number.NaN);
    this.tracing = new Tracing({ service: 'train-watch', version: new URL('../package.json', import.meta.url), registry: this.metrics, env: options.tracingEnv });
    this.http = config.port === 0 ? undefined : createOpsServer({ registry: this.metrics, health: () => this.health(), ready: () => this.started, healthDeadlineMs: 1_000 });
  }

  /** Starts the ops server (if a port is set) and the first cycle; then one every `everyHours`. */
  async start(): Promise<void> {
    if (this.http) await this.http.listen({ port: this.config.port, host: this.config.host });
    this.started = true;
    this.running = this.cycle();
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.cycle());
    }, this.config.everyHours * 3_600_000);
  }

  /** Stops the timer, lets a cycle in flight finish (it writes the registry atomically either way), closes the ops server. */
  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.timer);
    await this.running;
    await this.http?.close();
    await this.tracing.shutdown(AbortSignal.timeout(TRACE_FLUSH_MS));
  }

  health(): WatchHealth {
    const now = this.now();
    const age = (now - (this.lastSuccessAt ?? this.startedAt)) / 1000;
    return {
      ok: age < 2 * this.config.everyHours * 3600 && this.consecutiveRefusals < REFUSED_RUNS_UNHEALTHY,
      lastSuccessAgeSeconds: Math.round(age),
      lastSuccessAt: this.lastSuccessAt === null ? null : new Date(this.lastSuccessAt).toISOString(),
      consecutiveRefusals: this.consecutiveRefusals,
      lastOutcome: this.status.lastOutcome,
    };
  }

  /** One cycle: the last `spanHours` of captures → a candidate, or a refusal (logged, counted, metric). Never throws. */
  async cycle(): Promise<WatchOutcome> {
    const c = this.config;
    const now = this.now();
    const fromMs = now - c.spanHours * 3_600_000;
    const end = this.duration.startTimer();
    this.status.cycles++;
    this.status.lastCycleAt = new Date(now).toISOString();
    // a cycle is rare (hours apart): every one is traced when tracing is on
    const root = this.tracing.enabled ? this.tracing.startRoot('training cycle') : undefined;
    root?.setAttribute('span_hours', c.spanHours);
    const step = async <T>(name: string, work: () => T | Promise<T>): Promise<T> => {
      const child = root === undefined ? undefined : this.tracing.startChild(name, root);
      try {
        return await work();
      } finally {
        child?.end(spanClock());
      }
    };
    try {
      const span = await step('read captures', () => readCaptureSpan(captureFiles(c.captureDir, fromMs, now), fromMs * 1000, now * 1000, c.maxGapSeconds * 1e6));
      const d = await step('dataset', () => captureDataset(span, c.symbol));
      const entry = await step('train and register', () =>
        trainCandidate(d, { registry: this.registry, name: c.name, seed: c.seed, minSamples: c.minSamples, dataSource: d.source, now: new Date(now) }),
      );
      root?.setAttribute('candidate', entry.id);
      root?.setAttribute('samples', entry.lineage.samples);
      this.status.candidates++;
      this.status.lastOutcome = `candidate ${entry.id}`;
      this.lastSuccessAt = this.now();
      this.consecutiveRefusals = 0;
      this.runs.inc({ outcome: 'candidate_written' });
      this.lastSuccess.set(this.lastSuccessAt / 1000);
      if (Number.isFinite(entry.evaluation.test_dir_acc)) this.accuracy.set(entry.evaluation.test_dir_acc!);
      this.log({ level: 'info', msg: 'candidate written', id: entry.id, samples: entry.lineage.samples, evaluation: entry.evaluation, parent: entry.lineage.parent });
      return { ok: true, id: entry.id };
    } catch (err) {
      // anything else (a full disk, a bug) fails this cycle, counted, and the next one runs: the job never dies of one
      const known = err instanceof WatchError || err instanceof RegistryError;
      const code = known ? err.code : 'failed';
      this.status.refused[code] = (this.status.refused[code] ?? 0) + 1;
      this.status.lastOutcome = `refused (${code}): ${(err as Error).message}`;
      this.consecutiveRefusals++;
      this.runs.inc({ outcome: 'refused' });
      this.refusals.inc({ code });
      if (root !== undefined) {
        root.addEvent('refused', { code, reason: (err as Error).message });
        if (!known) root.recordException(err as Error);
        root.setStatus({ code: SpanStatusCode.ERROR, message: code });
      }
      this.log({ level: known ? 'warn' : 'error', msg: 'training cycle refused', code, err: serializeError(err) });
      return { ok: false, code };
    } finally {
      root?.end(spanClock());
      end();
      this.lastRun.set(this.now() / 1000);
      await writeStatus(c.registryDir, this.status).catch((err: unknown) => this.log({ level: 'error', msg: 'watch-status.json not written', err: serializeError(err) }));
    }
  }
}
