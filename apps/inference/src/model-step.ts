/**
 * A tick's model step: the checks on its vector (prediction.ts), the model run (one batched onnxruntime call per tick,
 * models.ts ModelBatcher), and the prediction built from them — a flagged fallback when a check or the run failed.
 */
import { performance } from 'node:perf_hooks';
import type { Anomaly } from '@hotpath/anomaly';
import type { Logger } from '@hotpath/telemetry';
import type { FeatureVectorRecord } from '@hotpath/state';
import type { InferenceConfig } from './config.ts';
import type { InferenceMetrics } from './metrics.ts';
import type { ModelBatcher, ModelManager } from './models.ts';
import { buildPrediction, completeness, vetVector, type FallbackReason, type Prediction } from './prediction.ts';
import { endStage, type TickTrace } from './tick-trace.ts';

export class ModelStep {
  constructor(
    private readonly config: InferenceConfig,
    private readonly models: ModelManager,
    /** A tick's model runs as one onnxruntime call (models.ts). */
    private readonly batcher: ModelBatcher,
    private readonly metrics: InferenceMetrics,
    private readonly log: Logger,
  ) {}

  /** `forced`: the fallback reason already known (Redis unavailable): the model is not run. */
  async predict(
    symbol: string,
    tickMs: number,
    vector: FeatureVectorRecord,
    forced: FallbackReason | null,
    tt: TickTrace | undefined,
    anomalies: readonly Anomaly[] = [],
  ): Promise<Prediction | undefined> {
    const now = Date.now();
    const model = this.models.model;
    const checks = tt?.stage('checks');
    const complete = completeness(vector.features);
    let reason = forced ?? vetVector(vector, now, this.config, model?.metadata.featureSchemaHash, complete);
    if (checks) {
      checks.setAttribute('completeness', complete);
      if (reason !== null) checks.setAttribute('fallback.reason', reason);
      endStage(checks);
    }
    let returnBps = 0;
    let pUp = 0.5;
    if (reason === null && model) {
      const m0 = performance.now();
      const run = tt?.stage('model run');
      run?.setAttribute('model.version', model.version);
      try {
        ({ returnBps, pUp } = await this.batcher.run(model, vector.features));
        this.models.reportRun(true);
      } catch (err) {
        reason = 'model_error';
        if (run) tt!.failed(run, err, 'model run failed');
        this.models.reportRun(false);
        this.log.error({ symbol, err }, 'model run failed');
      }
      if (run) endStage(run);
      this.metrics.modelDuration.observe((performance.now() - m0) / 1000);
    }
    if (reason !== null) tt?.fallback(reason);
    const traced = tt === undefined ? {} : { traceId: tt.traceId, ...(tt.linkedTraceId === undefined ? {} : { linkedTraceId: tt.linkedTraceId }) };
    const p = buildPrediction(symbol, tickMs, now, this.config.horizonS, this.config.replica, vector, {
      returnBps,
      pUp,
      modelVersion: model?.version ?? null,
      reason,
      completeness: complete,
      // (the verdict's list is the detector's, replaced next tick: the prediction keeps its own copy)
      anomalies: anomalies.length === 0 ? [] : anomalies.map((a) => ({ ...a })),
      ...traced,
    });
    if (p) this.metrics.completeness.observe({ symbol }, p.completeness);
    return p;
  }
}
