export { LocalBook, type DiffResult } from './book.ts';
export { RollingSums } from './windows.ts';
export { FeatureEngine } from './engine.ts';
export { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SCHEMA_HASH, FEATURE_SET_NAME, FEATURE_SET_VERSION, OFI_WINDOWS_S, WINDOWS_S } from './features.ts';
export { StateFormatError, STATE_FORMAT_VERSION } from './snapshot.ts';
export { StateReader, StateWriter } from './snapshot.ts';
export {
  VectorStatus,
  STATUS_NAMES,
  STATUS_OFFSET,
  VERSION_OFFSET,
  TRACE_ID_OFFSET,
  FEATURES_OFFSET,
  VECTOR_FORMAT,
  encodeVector,
  decodeVector,
  VectorFormatError,
  type FeatureVectorRecord,
  type VectorTraceContext,
} from './vector.ts';
export { FEATURES_ERROR_CODES, type FeaturesErrorCode } from './errors.ts';
