/**
 * bench:scale's inference process: what apps/inference/bin/start.ts runs (config from INFERENCE_* / REDIS_URL, the
 * shipped model, main()'s signals and deadline), with two differences for the bench:
 *  - BENCH_SCALE_INFERENCE_BATCH=0 turns off the tick's batching (claims and writes one command each, one model
 *    run per symbol: what inference did before), so one run can compare both;
 *  - every symbol's tick result is kept (its whole tick and its Redis read, exact, not histogram buckets) and sent
 *    to the bench on request over IPC: {cmd: 'ticks'} → {ticks: [totalMs, redisMs][]} (and forgotten).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configOrExit } from '@hotpath/config';
import { main } from '@hotpath/service';
import { inferenceConfigFromEnv, InferenceServer } from 'inference';

const SHIPPED_MODEL = fileURLToPath(new URL('../../models/btcusdt-10s/model.onnx', import.meta.url));
const config = configOrExit(() => inferenceConfigFromEnv(process.env, existsSync(SHIPPED_MODEL) ? { modelPath: SHIPPED_MODEL } : {}));
// (a variable, not a literal: InferenceServer passes its deps on to InferenceService, which takes `batch`)
const deps = { tracingEnv: {}, batch: process.env['BENCH_SCALE_INFERENCE_BATCH'] !== '0' };
let ticks: [number, number][] = [];
process.on('message', (m: { cmd: string }) => {
  if (m.cmd !== 'ticks') return;
  const out = ticks;
  ticks = [];
  process.send?.({ ticks: out });
});
await main(() => {
  const server = new InferenceServer(config, deps);
  const service = server.service;
  const tickSymbol = service.tickSymbol.bind(service);
  service.tickSymbol = (symbol, tickMs, backup) => {
    const running = tickSymbol(symbol, tickMs, backup);
    void running.then(
      (r) => {
        if (r.totalMs !== undefined && r.redisMs !== undefined) ticks.push([r.totalMs, r.redisMs]);
      },
      () => undefined,
    );
    return running;
  };
  return { log: service.log, lifecycle: server };
});
