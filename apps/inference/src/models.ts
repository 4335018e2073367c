/**
 * Which model serves, and changing it without missing a tick. Sources, in
 * order: the Redis pointer (`model:current` = {"path": ...}, shared by every
 * replica), the configured file, the built-in example. A candidate is loaded,
 * verified (metadata, feature schema, golden input) and warmed beside the
 * serving one, then swapped in by one reference assignment between ticks; a
 * refused candidate leaves the serving model in place. A swapped-in model
 * that fails its first runs is rolled back to the one it replaced.
 *
 * Paths come from Redis and HTTP, so they are untrusted: every file load
 * stays inside the model directory, reads a regular file under the size cap,
 * and has a deadline; stop() aborts a load in flight (libs/model's
 * `readModelFile`). What reaches /health and API answers names no path.
 */
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { isAbsolute, relative, resolve } from 'node:path';
import { buildModel, exampleModelSpec, ModelError, OnnxModel, type ModelOutput } from '@hotpath/model';
import { ignoreRejection } from '@hotpath/service';
import type { RedisClient } from '@hotpath/state';
import type { Logger } from '@hotpath/telemetry';
import { z } from 'zod';
import type { InferenceMetrics } from './metrics.ts';

const PointerSchema = z.object({ path: z.string().min(1).max(4096) });
/** A pointer longer than this is not a path: refused without parsing. */
const MAX_POINTER_BYTES = 8192;
/** stop() waits this long for a load in flight after aborting it (an onnxruntime session build cannot be interrupted). */
const STOP_WAIT_MS = 2_000;

export interface ModelManagerOptions {
  modelPath: string | undefined;
  modelDir: string;
  maxBytes: number;
  loadTimeoutMs: number;
  pointerKey: string;
  pollMs: number;
  rollbackAfterFailures: number;
}
const LIVE = { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES };

/** `registry`: bytes the registry has read and checked against their hash (lifecycle.ts: a promotion or a rollback). */
export type ModelSource = { kind: 'file'; path: string } | { kind: 'example' } | { kind: 'registry'; id: string; bytes: Uint8Array };

export interface ModelState {
  status: 'healthy' | 'degraded' | 'unhealthy';
  version: string | null;
  source: string | null;
  lastError: string | null;
  /** What the trainer measured on held-out real Binance windows (docs/trainer.md), when the model says: the live page states it plainly. */
  realData: RealDataVerdict | null;
}

export interface RealDataVerdict {
  beatsBaselines: boolean;
  /** Pooled balanced accuracy on the held-out real windows, and the best baseline's (top-of-book imbalance, drift, momentum). */
  balancedAccuracy: number;
  bestBaselineBalancedAccuracy: number;
}

/** The real-data verdict from a model's evaluation figures (`real_beats_baselines`, `real_balanced_acc`, ...); null for a model evaluated on no real data. */
export function realDataVerdict(evaluation: Readonly<Record<string, number>>): RealDataVerdict | null {
  const beats = evaluation['real_beats_baselines'];
  const model = evaluation['real_balanced_acc'];
  const baseline = evaluation['real_best_baseline_balanced_acc'];
  if (beats === undefined || model === undefined || baseline === undefined) return null;
  return { beatsBaselines: beats === 1, balancedAccuracy: model, bestBaselineBalancedAccuracy: baseline };
}

export class ModelManager {
  private serving: { model: OnnxModel; source: ModelSource } | undefined;
  private previous: { model: OnnxModel; source: ModelSource } | undefined;
  private failuresSinceSwap = 0;
  private lastError: string | null = null;
  private pointerSeen: string | null = null;
  /** Settles when the last load queued has, and never rejects: a refusal goes to tryLoad()'s caller. */
  private loading: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  private badPointerSeen: Buffer = Buffer.alloc(0);

  constructor(
    private readonly redis: RedisClient,
    private readonly options: ModelManagerOptions,
    private readonly metrics: InferenceMetrics,
    private readonly log: Logger,
  ) {
    this.refusalLogged = ignoreRejection(log, 'load() has counted and logged the refusal (inference_model_loads_total, lastError): the serving model, or the fallback, stays');
    this.redisTroubleReported = ignoreRejection(log, 'Redis trouble is counted and logged by the tick path; the pointer is read again at the next poll');
  }

  private readonly refusalLogged: (err: unknown) => void;
  private readonly redisTroubleReported: (err: unknown) => void;

  get model(): OnnxModel | undefined {
    return this.serving?.model;
  }

  state(): ModelState {
    const s = this.serving;
    return {
      status: !s ? 'unhealthy' : this.failuresSinceSwap > 0 || this.lastError !== null ? 'degraded' : 'healthy',
      version: s?.model.version ?? null,
      source: !s ? null : s.source.kind === 'file' ? this.display(s.source.path) : s.source.kind === 'registry' ? `registry ${s.source.id}` : 'built-in example',
      lastError: this.lastError,
      realData: s ? realDataVerdict(s.model.metadata.evaluation) : null,
    };
  }

  /** First load: pointer, else file, else the example. Never throws: without a model, ticks fall back. */
  async start(): Promise<void> {
    const pointer = (await this.readPointer().catch(this.redisTroubleReported)) ?? null;
    this.pointerSeen = pointer;
    if (pointer) await this.tryLoad({ kind: 'file', path: pointer }).catch(this.refusalLogged);
    if (!this.serving && this.options.modelPath) await this.tryLoad({ kind: 'file', path: this.options.modelPath }).catch(this.refusalLogged);
    if (!this.serving && !this.options.modelPath && !pointer) await this.tryLoad({ kind: 'example' }).catch(this.refusalLogged);
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  /** Aborts a load in flight and waits for it at most STOP_WAIT_MS: a stuck load never holds the process. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([this.loading.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), STOP_WAIT_MS)))]);
    clearTimeout(timer);
    if (!settled) this.log.warn({ waitedMs: STOP_WAIT_MS }, 'a model load was still running at stop; abandoned');
    await this.previous?.model.release();
    await this.serving?.model.release();
    this.serving = this.previous = undefined;
  }

  /** Loads, verifies and swaps; throws the ModelError when refused (the serving model stays). Loads run one at a time. */
  tryLoad(source: ModelSource): Promise<string> {
    if (this.stopping.signal.aborted) return Promise.reject(new ModelError('aborted', 'inference is stopping'));
    const run = this.loading.then(() => this.load(source));
    this.loading = run.catch(this.refusalLogged);
    return run;
  }

  /** Loads the current source again: the pointer, else the configured file, else the example. */
  async reload(): Promise<string> {
    const pointer = await this.readPointer();
    if (pointer) this.pointerSeen = pointer;
    return this.tryLoad(pointer ? { kind: 'file', path: pointer } : this.options.modelPath ? { kind: 'file', path: this.options.modelPath } : { kind: 'example' });
  }

  /** Points every replica at `path` (each verifies it itself), after this one has accepted it. */
  async publish(path: string): Promise<string> {
    const version = await this.tryLoad({ kind: 'file', path });
    const value = JSON.stringify({ path });
    await this.redis.set(this.options.pointerKey, value);
    this.pointerSeen = path;
    return version;
  }

  /** A run's outcome: consecutive failures right after a swap roll it back. */
  reportRun(ok: boolean): void {
    if (ok) {
      this.failuresSinceSwap = 0;
      return;
    }
    this.failuresSinceSwap++;
    if (this.failuresSinceSwap >= this.options.rollbackAfterFailures && this.previous) {
      const failed = this.serving!;
      this.serving = this.previous;
      this.previous = undefined;
      this.failuresSinceSwap = 0;
      this.lastError = `rolled back from ${failed.model.version}: ${this.options.rollbackAfterFailures} failed runs`;
      this.metrics.modelRollbacks.inc();
      this.setInfo();
      this.log.error({ from: failed.model.version, to: this.serving.model.version }, 'model rolled back');
      void failed.model.release();
    }
  }

  private async load(source: ModelSource): Promise<string> {
    let model: OnnxModel;
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.options.loadTimeoutMs)]);
    try {
      model =
        source.kind === 'file'
          ? await OnnxModel.fromFile(source.path, { ...LIVE, dir: this.options.modelDir, maxBytes: this.options.maxBytes, signal })
          : await OnnxModel.fromBytes(source.kind === 'registry' ? source.bytes : buildModel(exampleModelSpec()), { ...LIVE, signal });
      if (this.stopping.signal.aborted) {
        // finished after stop() gave up waiting: nobody will release it otherwise
        await model.release();
        throw new ModelError('aborted', 'inference is stopping');
      }
    } catch (err) {
      const refusal = err instanceof ModelError ? err : new ModelError('unreadable', 'model could not be loaded', { cause: err });
      this.metrics.modelLoads.inc({ outcome: refusal.code });
      this.lastError = `${refusal.code}: ${refusal.message}`; // for /health: a ModelError's message names no path (the log line has the source)
      this.log.error({ source: source.kind === 'registry' ? { kind: 'registry', id: source.id } : source, code: refusal.code, err }, 'model refused; the serving model stays');
      throw refusal;
    }
    const old = this.previous;
    this.previous = this.serving;
    this.serving = { model, source };
    this.failuresSinceSwap = 0;
    this.lastError = null;
    this.metrics.modelLoads.inc({ outcome: 'ok' });
    this.setInfo();
    this.log.info({ version: model.version, source: source.kind === 'registry' ? { kind: 'registry', id: source.id } : source, evaluation: model.metadata.evaluation }, 'model serving');
    // the one before the previous cannot be in a tick any more (ticks do not overlap) and is not a rollback target
    await old?.model.release();
    return model.version;
  }

  private setInfo(): void {
    this.metrics.modelInfo.reset();
    if (this.serving) this.metrics.modelInfo.set({ version: this.serving.model.version }, 1);
  }

  /** A path for /health and API answers: relative to the model directory, never absolute. */
  private display(path: string): string {
    const rel = relative(resolve(this.options.modelDir), resolve(this.options.modelDir, path));
    return rel.startsWith('..') || isAbsolute(rel) ? '(outside the model directory)' : rel;
  }

  /** The pointer's path; null when unset or malformed (counted as a Redis refusal). Throws when Redis cannot answer. */
  private async readPointer(): Promise<string | null> {
    const raw = await this.redis.getBuffer(this.options.pointerKey);
    if (raw === null) return null;
    let path: string | null = null;
    let err: unknown;
    try {
      if (raw.length > MAX_POINTER_BYTES) throw new Error(`pointer is ${raw.length} bytes, over ${MAX_POINTER_BYTES}`);
      const parsed = PointerSchema.safeParse(JSON.parse(raw.toString('utf8')));
      if (parsed.success) path = parsed.data.path;
      else err = parsed.error;
    } catch (e) {
      err = e;
    }
    if (path === null && !raw.equals(this.badPointerSeen)) {
      // counted and logged once per bad value, not at every poll
      this.badPointerSeen = raw;
      this.metrics.modelLoads.inc({ outcome: 'bad_pointer' });
      this.metrics.redisRefused.inc({ source: 'model_pointer' });
      this.log.warn({ err, key: this.options.pointerKey }, 'model pointer refused: not {"path": ...}');
      this.lastError = `bad_pointer: ${this.options.pointerKey} is not {"path": ...}`;
    }
    return path;
  }

  private async poll(): Promise<void> {
    const pointer = (await this.readPointer().catch(this.redisTroubleReported)) ?? null;
    if (pointer === null || pointer === this.pointerSeen) return;
    this.pointerSeen = pointer;
    await this.tryLoad({ kind: 'file', path: pointer }).catch(this.refusalLogged);
  }
}

interface QueuedRun {
  model: OnnxModel;
  features: ArrayLike<number>;
  resolve: (out: ModelOutput) => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces the model runs of one tick into one onnxruntime call. Every symbol's tick asks for its run as its
 * claim comes back; the claims of a tick come back together (one pipeline), so the runs asked for before the event
 * loop's next check phase (setImmediate) go as one [N, F] batch — one native call instead of N chained ones, whose
 * queueing made the last symbol's tick wait for all the others'. Each caller still gets its own row's output or
 * error, so a tick's semantics (fallback on model_error, reportRun per symbol) do not change. Disabled (or a model
 * with a fixed batch of 1): each run goes alone, as before.
 */
export class ModelBatcher {
  private queued: QueuedRun[] = [];
  private scheduled = false;

  constructor(
    private readonly enabled: boolean,
    private readonly metrics: InferenceMetrics,
  ) {}

  run(model: OnnxModel, features: ArrayLike<number>): Promise<ModelOutput> {
    if (!this.enabled || !model.batchable) return model.run(features);
    return new Promise<ModelOutput>((resolve, reject) => {
      this.queued.push({ model, features, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const runs = this.queued;
    this.queued = [];
    this.scheduled = false;
    // (one model nearly always; a swap between two claims' replies gives two batches, each on its own model)
    const byModel = new Map<OnnxModel, QueuedRun[]>();
    for (const r of runs) {
      const group = byModel.get(r.model);
      if (group === undefined) byModel.set(r.model, [r]);
      else group.push(r);
    }
    for (const [model, group] of byModel) {
      this.metrics.modelBatch.observe(group.length);
      model.runBatch(group.map((r) => r.features)).then(
        (outs) => {
          for (let i = 0; i < group.length; i++) {
            const out = outs[i]!;
            if (out instanceof ModelError) group[i]!.reject(out);
            else group[i]!.resolve(out);
          }
        },
        (err: unknown) => {
          for (const r of group) r.reject(err);
        },
      );
    }
  }
}
