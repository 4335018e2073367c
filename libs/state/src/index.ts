export { FeatureStore, FencedWriteError, StoredStateError, keys, type StoredState } from './store.ts';
export { LeaseManager, type HeldLease, type Lease, type LeaseRecord } from './leases.ts';
export { VectorStatus, STATUS_NAMES, encodeVector, decodeVector, VectorFormatError, type FeatureVectorRecord } from './vector.ts';
export { PredictionStore, ClaimOutcome, predictionKeys, MODEL_POINTER_KEY } from './predictions.ts';
export { redisAnswers } from './ping.ts';
