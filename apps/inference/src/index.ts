export { InferenceConfigSchema, INFERENCE_ENV, inferenceConfigFromEnv, type InferenceConfig } from './config.ts';
export { InferenceServer } from './server.ts';
export { InferenceService, type Health } from './service.ts';
export type { Prediction, FallbackReason } from './prediction.ts';
export type { Figures } from './grading.ts';
export { INFERENCE_ERROR_CODES, type InferenceErrorCode } from './errors.ts';
