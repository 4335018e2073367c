export { FeatureStore, FencedWriteError, StoredStateError, keys, type StoredState } from './store.ts';
export { LeaseManager, type HeldLease, type Lease, type LeaseRecord } from './leases.ts';
// the vector format lives with the features it carries (@hotpath/features); re-exported for the stores' users
export { VectorStatus, STATUS_NAMES, encodeVector, decodeVector, VectorFormatError, type FeatureVectorRecord, type VectorTraceContext } from '@hotpath/features';
export { PredictionStore, ClaimOutcome, predictionKeys, MODEL_POINTER_KEY } from './predictions.ts';
export { redisAnswers } from './ping.ts';
export { REDIS_CLIENT_EVENTS, pingEveryMaster, scanKeys, watchRedisClient, type RedisClientEvent, type RedisClientWatcher } from './nodes.ts';
export { STATE_ERROR_CODES, type StateErrorCode } from './errors.ts';
export {
  CLUSTER_RETRY_CAP_MS,
  REDIS_CONNECTION_ENV,
  REDIS_CONNECTION_HELP,
  REDIS_CONNECTION_ERROR_CODES,
  RedisConnection,
  RedisConnectionError,
  RedisConnectionSchema,
  checkedRedisSettings,
  connectRedis,
  createRedisClient,
  parseHostPort,
  redisConnectionEnv,
  reconnectDelay,
  redisConnectionFields,
  redisConnectionSettings,
  settingProblems,
  startCheck,
  type ClusterNodeAddress,
  type RedisClient,
  type RedisConnectionConfig,
  type RedisConnectionErrorCode,
  type RedisConnectionSettings,
  type RedisConnectionVariable,
  type RedisRole,
  type StartCheckLog,
} from './connection.ts';
