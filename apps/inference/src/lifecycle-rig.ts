/**
 * The lifecycle without the tick loop: a ModelManager and a Lifecycle wired
 * as the service wires them, for driving on a manual clock (the regime-change
 * test and `pnpm soak:lifecycle`, scripts/lifecycle-scenario.ts). The caller
 * runs the serving model, calls shadow() and observe() per tick, as
 * service.ts does.
 */
import type { RedisClient } from '@hotpath/state';
import { createLogger, createRegistry, type Registry } from '@hotpath/telemetry';
import { createLifecycleMetrics, DEFAULT_LIFECYCLE, Lifecycle, type LifecycleOptions } from './lifecycle.ts';
import { createInferenceMetrics } from './metrics.ts';
import { ModelManager } from './models.ts';

export interface LifecycleRig {
  models: ModelManager;
  lifecycle: Lifecycle;
  metrics: Registry;
  stop(): Promise<void>;
}

export async function startLifecycleRig(
  redis: RedisClient,
  o: Partial<LifecycleOptions> & Pick<LifecycleOptions, 'registryDir' | 'horizonMs' | 'intervalMs'> & { modelDir: string; logLevel?: 'info' | 'warn' | 'silent' },
): Promise<LifecycleRig> {
  const metrics = createRegistry('inference');
  const log = createLogger({ service: 'inference', level: o.logLevel ?? 'warn' });
  const models = new ModelManager(
    redis,
    { modelPath: undefined, modelDir: o.modelDir, maxBytes: 64 << 20, loadTimeoutMs: 10_000, pointerKey: 'model:current', pollMs: 3_600_000, rollbackAfterFailures: 3 },
    createInferenceMetrics(metrics),
    log,
  );
  // the registry is polled by the caller (its clock), not by a timer
  const lifecycle = new Lifecycle(models, { ...DEFAULT_LIFECYCLE, pollMs: 3_600_000, ...o }, createLifecycleMetrics(metrics), log);
  await models.start();
  await lifecycle.start();
  return {
    models,
    lifecycle,
    metrics,
    async stop() {
      await lifecycle.stop();
      await models.stop();
    },
  };
}
