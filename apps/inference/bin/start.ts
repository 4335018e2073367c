/** inference: INFERENCE_* / REDIS_URL env; SIGINT/SIGTERM stop ticking, close HTTP and Redis. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inferenceConfigFromEnv, InferenceServer } from '../src/index.ts';
import { describeIssues } from '@hotpath/config';

// the trained model shipped in the repo (pnpm train rebuilds it); the built-in example serves only without it
const SHIPPED_MODEL = fileURLToPath(new URL('../../../models/btcusdt-10s/model.onnx', import.meta.url));

const parsed = inferenceConfigFromEnv(process.env, existsSync(SHIPPED_MODEL) ? { modelPath: SHIPPED_MODEL } : {});
if (!parsed.success) {
  // the token's value is never printed, only which setting is wrong
  console.error(`invalid inference configuration:\n  ${describeIssues(parsed.error)}`);
  process.exit(2);
}
const server = new InferenceServer(parsed.data);
await server.start();
let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
