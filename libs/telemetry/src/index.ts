export { createLogger, REDACTED_PATHS, serializeError, type Logger, type LoggerConfig } from './logger.ts';
export { createRegistry, Counter, Gauge, Histogram, Registry } from './metrics.ts';
export { createStageLatency, STAGES, type Stage } from './stages.ts';
