/**
 * bench:scale part 2, `inference_alone`: inference by itself on vectors fed as the aggregator writes them (no ingest
 * load: its own cost only).
 */
import type { ChildProcess } from 'node:child_process';
import { Feeder } from '../../apps/inference/test/harness.ts';
import { startBenchRedis } from '../redis-targets.ts';
import { counterSum, histogramDelta } from './metrics.ts';
import { batchMax, exact, freePort, metricsOf, pingerFloor, round, sleep, startPinger, startService, stopService, tickQuantiles, ticksOf, waitFor } from './service.ts';
import { symbolsFor } from './symbols.ts';

export interface InferenceAlone {
  symbols: number;
  inference_batch: boolean;
  predictions_per_symbol_min: number;
  cpu_ms_per_s_per_symbol: number;
  rss_mb: number;
  tick_p50_ms: number;
  tick_p99_ms: number;
  tick_redis_read_p99_ms: number;
  redis_floor_p99_ms: number;
  tick_over_own_read_p99: number;
  model_batch_max: number;
}

/**
 * Inference alone at `n` symbols: fresh vectors for each (a feeder per symbol, every 100 ms, as the aggregator
 * writes them) on an empty redis-server, inference in its own process ticking every 2 s; no ingest load, so what
 * grows is inference's own cost and nothing else's.
 */
export async function inferenceAloneStep(n: number, batch: boolean, { intervalMs, windowS }: { intervalMs: number; windowS: number }): Promise<InferenceAlone> {
  const symbols = symbolsFor(n);
  const redis = await startBenchRedis('single', 'everysec');
  const feeders = symbols.map((s) => new Feeder(redis.client, s, 100).start());
  const port = await freePort();
  const inference = startService(
    'inference-alone',
    'bench/scale/inference.ts',
    port,
    {
      REDIS_URL: redis.fields.redisUrl,
      INFERENCE_SYMBOLS: symbols.join(','),
      INFERENCE_PORT: String(port),
      INFERENCE_intervalMs: String(intervalMs),
      BENCH_SCALE_INFERENCE_BATCH: batch ? '1' : '0',
    },
    true,
  );
  let pinger: ChildProcess | undefined;
  try {
    await waitFor(`inference alone: a prediction for each of ${n} symbols`, 60_000, async () => (await redis.client.mget(symbols.map((s) => `pred:{${s}}:latest`))).every((j) => j !== null), [
      inference,
    ]);
    await sleep(2 * intervalMs);
    await ticksOf(inference);
    pinger = startPinger(redis.btcPort);
    const before = await metricsOf({ ...inference, port });
    const t0 = performance.now();
    await sleep(windowS * 1000);
    const after = await metricsOf({ ...inference, port });
    const wallS = (performance.now() - t0) / 1000;
    const tickTimes = await ticksOf(inference);
    const floor = await pingerFloor(pinger);
    const perSymbol = symbols.map((s) => counterSum(after, 'inference_predictions_total', { symbol: s }) - counterSum(before, 'inference_predictions_total', { symbol: s }));
    const { tickP99, readP99 } = tickQuantiles(tickTimes);
    return {
      symbols: n,
      inference_batch: batch,
      predictions_per_symbol_min: Math.min(...perSymbol),
      cpu_ms_per_s_per_symbol: round(((counterSum(after, 'process_cpu_seconds_total') - counterSum(before, 'process_cpu_seconds_total')) * 1000) / wallS / n, 3),
      rss_mb: round(counterSum(after, 'process_resident_memory_bytes') / 2 ** 20, 1),
      tick_p50_ms: round(
        exact(
          tickTimes.map((t) => t[0]),
          0.5,
        ),
      ),
      tick_p99_ms: round(tickP99),
      tick_redis_read_p99_ms: round(readP99),
      redis_floor_p99_ms: floor.p99,
      tick_over_own_read_p99: round(tickP99 / readP99, 2),
      model_batch_max: batchMax(histogramDelta(before, after, 'inference_model_batch_size')),
    };
  } finally {
    pinger?.kill('SIGTERM');
    await stopService(inference);
    for (const f of feeders) f.stop();
    await redis.stop();
  }
}
