/** inference: INFERENCE_* / REDIS_URL env; SIGINT/SIGTERM stop ticking, close HTTP and Redis (main(): one deadline, exit codes). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { INFERENCE_ENV, inferenceConfigFromEnv, InferenceServer } from '../src/index.ts';
import { describeIssues, variablesOf } from '@hotpath/config';
import { ConfigurationError, main } from '@hotpath/service';

// the trained model shipped in the repo (pnpm train rebuilds it); the built-in example serves only without it
const SHIPPED_MODEL = fileURLToPath(new URL('../../../models/btcusdt-10s/model.onnx', import.meta.url));

await main(() => {
  const parsed = inferenceConfigFromEnv(process.env, existsSync(SHIPPED_MODEL) ? { modelPath: SHIPPED_MODEL } : {});
  // the token's value is never printed, only which setting is wrong
  if (!parsed.success) throw new ConfigurationError(`invalid inference configuration:\n  ${describeIssues(parsed.error, variablesOf(INFERENCE_ENV))}`);
  const server = new InferenceServer(parsed.data);
  return { log: server.service.log, lifecycle: server };
});
