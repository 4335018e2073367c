/** Typed, validated configuration of the simulator: from env (SIM_*) and CLI flags. */
import { z } from 'zod';
import { FaultSchema } from './faults/faults.ts';
import { loadConfig, type ConfigSpec } from '@hotpath/config';

/** A fault armed from config: `atSeconds` of simulated time after start (0 = at once). */
export const ScheduledFaultSchema = z.object({ atSeconds: z.number().nonnegative().default(0), fault: FaultSchema });

const jsonList = z.union([
  z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not valid JSON' });
      return z.NEVER;
    }
  }),
  z.array(z.unknown()),
]);

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== ''),
);

export const SimConfigSchema = z
  .object({
    /** Loopback unless told otherwise: the admin API arms faults for anyone who can reach it. */
    host: z.string().default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(9443),
    symbols: z
      .union([csv, z.array(z.string())])
      .default(['BTCUSDT'])
      .transform((xs) => xs.map((x) => x.toUpperCase())),
    seed: z.coerce.number().int().default(1),
    /** Simulated seconds per wall-clock second (10 and 100 for load tests). */
    speed: z.coerce.number().positive().max(10_000).default(1),
    /** Simulated clock origin in µs since the epoch; default: wall clock at start. */
    startTimeUs: z.coerce.number().int().positive().optional(),
    /** Accepted X-MBX-APIKEY values; empty = any non-empty key. */
    apiKeys: z.union([csv, z.array(z.string())]).default([]),
    /** Binance closes every connection after 24 h. */
    maxConnectionSeconds: z.coerce
      .number()
      .positive()
      .default(24 * 3600),
    pingIntervalMs: z.coerce.number().int().positive().default(20_000),
    pongTimeoutMs: z.coerce.number().int().positive().default(60_000),
    /** Incoming messages per second per connection before disconnect (Binance: 5). */
    maxIncomingPerSecond: z.coerce.number().int().positive().default(5),
    maxStreamsPerConnection: z.coerce.number().int().positive().default(1024),
    /** Open stream connections at most; further handshakes get 503 (counted as rejected, reason capacity). */
    maxConnections: z.coerce.number().int().positive().default(512),
    /** Bytes queued for one connection before it is cut as a slow consumer (it would otherwise grow without bound). */
    maxBufferedBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024),
    /** Deadline for a whole HTTP request (headers and body) to arrive. */
    requestTimeoutMs: z.coerce.number().int().positive().max(600_000).default(30_000),
    /** Deadline for the request headers to arrive (slowloris). */
    headersTimeoutMs: z.coerce.number().int().positive().max(600_000).default(10_000),
    /** Bearer token `POST /admin/faults` requires; unset = open (the API is then only as private as `host`). */
    adminToken: z.string().min(16).optional(),
    /** REST request weight per minute per IP (Binance: 6000). */
    restWeightPerMinute: z.coerce.number().int().positive().default(6000),
    /** Seconds of 418 ban after repeated requests while rate limited. */
    banSeconds: z.coerce.number().int().positive().default(120),
    /** Recordings to replay (hftbacktest format) instead of the synthetic market; the first symbol names them. */
    replay: z.union([csv, z.array(z.string())]).default([]),
    /** Faults to inject on a schedule, e.g. SIM_FAULTS='[{"atSeconds":30,"fault":{"type":"dropDepthDiffs","count":2}}]'. */
    faults: jsonList.pipe(z.array(ScheduledFaultSchema)).default([]),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  // Node refuses a headers deadline past the request deadline.
  .refine((c) => c.headersTimeoutMs <= c.requestTimeoutMs, { message: 'must not exceed SIM_REQUEST_TIMEOUT_MS', path: ['headersTimeoutMs'] });

export type SimConfig = z.infer<typeof SimConfigSchema>;

/** Environment variable → setting (the compose test checks deploy files against it). */
export const SIM_ENV: Record<string, keyof SimConfig> = {
  SIM_HOST: 'host',
  SIM_PORT: 'port',
  SIM_SYMBOLS: 'symbols',
  SIM_SEED: 'seed',
  SIM_SPEED: 'speed',
  SIM_START_TIME_US: 'startTimeUs',
  SIM_API_KEYS: 'apiKeys',
  SIM_MAX_CONNECTION_SECONDS: 'maxConnectionSeconds',
  SIM_PING_INTERVAL_MS: 'pingIntervalMs',
  SIM_PONG_TIMEOUT_MS: 'pongTimeoutMs',
  SIM_REST_WEIGHT_PER_MINUTE: 'restWeightPerMinute',
  SIM_MAX_CONNECTIONS: 'maxConnections',
  SIM_MAX_BUFFERED_BYTES: 'maxBufferedBytes',
  SIM_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  SIM_HEADERS_TIMEOUT_MS: 'headersTimeoutMs',
  SIM_ADMIN_TOKEN: 'adminToken',
  SIM_REPLAY: 'replay',
  SIM_FAULTS: 'faults',
  LOG_LEVEL: 'logLevel',
};

/** `pnpm --filter exchange-sim start -- --port 9443`: each flag over its SIM_* variable. */
export const SIM_FLAGS: Record<string, keyof SimConfig> = {
  seed: 'seed',
  speed: 'speed',
  port: 'port',
  host: 'host',
  symbols: 'symbols',
  'api-keys': 'apiKeys',
  'start-time-us': 'startTimeUs',
  replay: 'replay',
};

const SIM_CONFIG: ConfigSpec<typeof SimConfigSchema> = { name: 'exchange-sim', schema: SimConfigSchema, env: SIM_ENV, flags: SIM_FLAGS, secrets: ['apiKeys', 'adminToken'] };

/**
 * The configuration from SIM_* variables (SIM_PORT, SIM_SEED, SIM_API_KEYS, ...), `flags` (parseArgs
 * values, by SIM_FLAGS) over them and `overrides` (set in code) over both; throws ConfigError naming
 * each wrong variable or flag.
 */
export function simConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof SimConfig, unknown>> = {}, flags: Readonly<Record<string, unknown>> = {}): SimConfig {
  return loadConfig(SIM_CONFIG, { env, flags, overrides });
}
