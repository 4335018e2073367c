/** pino with the project's conventions: JSON, service name, secrets redacted wherever they appear. */
import { pino, type Logger, type LoggerOptions } from 'pino';

/** Paths that may carry credentials; pino replaces their values before serialisation. */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'headers["x-mbx-apikey"]',
  '*.headers["x-mbx-apikey"]',
  'req.headers["x-mbx-apikey"]',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'adminToken',
  '*.adminToken',
];

export interface LoggerConfig {
  service: string;
  level?: string;
  /** Where to write; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    name: config.service,
    level: config.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: config.service },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return config.destination ? pino(options, config.destination as pino.DestinationStream) : pino(options);
}

export type { Logger };
