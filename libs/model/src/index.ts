export { buildModel, forward, standardize, type DenseLayer, type Head, type ModelSpec } from './builder.ts';
export { forwardTrees, isTreeEnsemble, scaleTrees, standardize32, type Tree, type TreeEnsemble } from './trees.ts';
export { OnnxModel, type LoadOptions, type ModelOutput } from './model.ts';
export { readModelFile, resolveModelPath, DEFAULT_MODEL_MAX_BYTES, type ModelFileOptions } from './file.ts';
export { ModelError, ModelMetadataSchema, METADATA_KEY, INPUT_NAME, RETURN_OUTPUT, UP_OUTPUT, type ModelMetadata } from './metadata.ts';
export { exampleModelSpec } from './example.ts';
export { MODEL_ERROR_CODES, type ModelErrorCode } from './errors.ts';
export {
  CALL_SETS,
  callCostBps,
  DEFAULT_COSTS,
  economics,
  economicsSection,
  EXECUTIONS,
  strongestCalls,
  type CallFigures,
  type CallSet,
  type Costs,
  type Economics,
  type EconomicsInput,
  type EconomicsOptions,
  type EconomicsRow,
  type Execution,
  type ExecutionFigures,
} from './economics.ts';
export {
  DECISIONS,
  EntrySchema,
  LineageSchema,
  ModelRegistry,
  REGISTRY_ERROR_CODES,
  RegistryError,
  type Decision,
  type DecisionKind,
  type Lineage,
  type NewCandidate,
  type RegistryEntry,
  type RegistryErrorCode,
} from './registry.ts';
