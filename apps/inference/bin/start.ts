/** inference: INFERENCE_* / REDIS_URL env; SIGINT/SIGTERM stop ticking, close HTTP and Redis (main(): one deadline, exit codes). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configOrExit, parseCli } from '@hotpath/config';
import { INFERENCE_ENV, inferenceConfigFromEnv } from '../src/config.ts';

parseCli({
  name: 'inference',
  usage: `

Reads each symbol's feature vector from Redis on every tick, predicts the 10 s mid move with the ONNX model
(models/btcusdt-10s unless INFERENCE_MODEL_PATH; a challenger in shadow), scores past predictions, and
serves them: the HTTP API, a WebSocket, the live page, /health and /metrics. Configured by the environment
only (defaults: docs/configuration.md); SIGINT/SIGTERM stop ticking and close HTTP and Redis.`,
  env: INFERENCE_ENV,
  examples: ['REDIS_URL=redis://127.0.0.1:6379 pnpm --filter inference start'],
});
// the trained model shipped in the repo (pnpm train rebuilds it); the built-in example serves only without it
const SHIPPED_MODEL = fileURLToPath(new URL('../../../models/btcusdt-10s/model.onnx', import.meta.url));

// a wrong setting: its variable named on stderr (the token's value never), exit code 2
const config = configOrExit(() => inferenceConfigFromEnv(process.env, existsSync(SHIPPED_MODEL) ? { modelPath: SHIPPED_MODEL } : {}));
// (loaded after the arguments: --help answers without loading the model runtime)
const { main } = await import('@hotpath/service');
const { InferenceServer } = await import('../src/index.ts');
await main(() => {
  const server = new InferenceServer(config);
  return { log: server.service.log, lifecycle: server };
});
