/** inference: INFERENCE_* / REDIS_URL env; SIGINT/SIGTERM stop ticking, close HTTP and Redis (main(): one deadline, exit codes). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inferenceConfigFromEnv, InferenceServer } from '../src/index.ts';
import { configOrExit } from '@hotpath/config';
import { main } from '@hotpath/service';

// the trained model shipped in the repo (pnpm train rebuilds it); the built-in example serves only without it
const SHIPPED_MODEL = fileURLToPath(new URL('../../../models/btcusdt-10s/model.onnx', import.meta.url));

// a wrong setting: its variable named on stderr (the token's value never), exit code 2
const config = configOrExit(() => inferenceConfigFromEnv(process.env, existsSync(SHIPPED_MODEL) ? { modelPath: SHIPPED_MODEL } : {}));
await main(() => {
  const server = new InferenceServer(config);
  return { log: server.service.log, lifecycle: server };
});
