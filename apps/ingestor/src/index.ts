export { Ingestor } from './ingestor.ts';
export { ingestorConfigFromEnv, IngestorConfigSchema, INGESTOR_ENV, type IngestorConfig } from './config.ts';
export { INGESTOR_ERROR_CODES, type IngestorErrorCode } from './errors.ts';
