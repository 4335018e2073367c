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

/** Longest error message kept in a log line (an error's text can carry what a peer sent). */
const MAX_ERROR_MESSAGE = 2_000;

/**
 * pino's error serializer (type, message, stack, cause, own fields), minus what
 * does not belong in a log line: the arguments of a failed Redis command
 * (ioredis attaches them: a whole vector or a 100 kB state), an AWS SDK
 * error's raw response, a DOMException's 25 legacy code constants (its
 * prototype's enumerable INDEX_SIZE_ERR…DATA_CLONE_ERR: a fetch timeout
 * would log them all); messages are bounded.
 */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const o = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  const command = o['command'] as { name?: unknown } | undefined;
  if (command !== undefined) o['command'] = { name: command?.name };
  delete o['$response'];
  if (err instanceof DOMException) for (const key of Object.keys(o)) if (/^[A-Z_]+_ERR$/.test(key) && typeof o[key] === 'number') delete o[key];
  if (typeof o['message'] === 'string' && o['message'].length > MAX_ERROR_MESSAGE) o['message'] = `${o['message'].slice(0, MAX_ERROR_MESSAGE)}…`;
  if (typeof o['stack'] === 'string' && o['stack'].length > 4 * MAX_ERROR_MESSAGE) o['stack'] = `${o['stack'].slice(0, 4 * MAX_ERROR_MESSAGE)}…`;
  return o;
}

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
    serializers: { err: serializeError },
    base: { service: config.service },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return config.destination ? pino(options, config.destination as pino.DestinationStream) : pino(options);
}

export type { Logger };
