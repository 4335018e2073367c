export { Ingestor } from './ingestor.ts';
export { loadConfig, IngestorConfigSchema, ConfigError, type IngestorConfig } from './config.ts';
