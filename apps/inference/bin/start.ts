/** inference: INFERENCE_* / REDIS_URL env; SIGINT/SIGTERM stop ticking, close HTTP and Redis. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InferenceConfigSchema, InferenceServer } from '../src/index.ts';

// the trained model shipped in the repo (pnpm train rebuilds it); the built-in example serves only without it
const SHIPPED_MODEL = fileURLToPath(new URL('../../../models/btcusdt-10s/model.onnx', import.meta.url));

const env = process.env;
const parsed = InferenceConfigSchema.safeParse({
  redisUrl: env['REDIS_URL'],
  symbols: env['INFERENCE_SYMBOLS'],
  replica: env['INFERENCE_REPLICA'],
  intervalMs: env['INFERENCE_INTERVAL_MS'],
  horizonS: env['INFERENCE_HORIZON_S'],
  claimTtlMs: env['INFERENCE_CLAIM_TTL_MS'],
  maxFeatureAgeMs: env['INFERENCE_MAX_FEATURE_AGE_MS'],
  minCompleteness: env['INFERENCE_MIN_COMPLETENESS'],
  localFallbackMaxAgeMs: env['INFERENCE_LOCAL_FALLBACK_MAX_AGE_MS'],
  redisTimeoutMs: env['INFERENCE_REDIS_TIMEOUT_MS'],
  modelPath: env['INFERENCE_MODEL_PATH'] ?? (existsSync(SHIPPED_MODEL) ? SHIPPED_MODEL : undefined),
  modelPointerKey: env['INFERENCE_MODEL_POINTER_KEY'],
  modelPollMs: env['INFERENCE_MODEL_POLL_MS'],
  rollbackAfterFailures: env['INFERENCE_ROLLBACK_AFTER_FAILURES'],
  adminToken: env['INFERENCE_ADMIN_TOKEN'],
  historyMax: env['INFERENCE_HISTORY_MAX'],
  accuracyWindow: env['INFERENCE_ACCURACY_WINDOW'],
  host: env['INFERENCE_HOST'],
  port: env['INFERENCE_PORT'],
  logLevel: env['LOG_LEVEL'],
});
if (!parsed.success) {
  // the token's value is never printed, only which setting is wrong
  console.error(`invalid inference configuration:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`);
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
