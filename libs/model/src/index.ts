export { buildModel, forward, standardize, type DenseLayer, type ModelSpec } from './builder.ts';
export { OnnxModel, type LoadOptions, type ModelOutput } from './model.ts';
export { readModelFile, resolveModelPath, DEFAULT_MODEL_MAX_BYTES, type ModelFileOptions } from './file.ts';
export { ModelError, ModelMetadataSchema, METADATA_KEY, INPUT_NAME, RETURN_OUTPUT, UP_OUTPUT, type ModelMetadata } from './metadata.ts';
export { exampleModelSpec } from './example.ts';
export { MODEL_ERROR_CODES, type ModelErrorCode } from './errors.ts';
