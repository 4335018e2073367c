export { Ingestor } from './ingestor.ts';
export { loadConfig, IngestorConfigSchema, ConfigError, INGESTOR_ENV, type IngestorConfig } from './config.ts';
