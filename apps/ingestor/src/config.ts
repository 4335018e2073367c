/** Typed ingestor configuration from INGESTOR_* / KINESIS_* env, validated at start with a message per bad value. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadConfig, type ConfigSpec } from '@hotpath/config';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== ''),
);

export const IngestorConfigSchema = z
  .object({
    /** SBE stream base: wss://stream-sbe.binance.com:9443 or the simulator's ws://127.0.0.1:9443. */
    streamUrl: z.string().url(),
    /** REST base: https://api.binance.com or the simulator's http://127.0.0.1:9443. */
    restUrl: z.string().url(),
    // (required_error: unset says so, not "Invalid input")
    symbols: z
      .union([csv, z.array(z.string())], { required_error: 'Required' })
      .transform((xs) => xs.map((x) => x.toUpperCase()))
      .pipe(z.array(z.string().regex(/^[A-Z0-9]{2,20}$/, 'a symbol is 2–20 letters or digits, e.g. BTCUSDT')).min(1)),
    apiKey: z.string().min(1).optional(),
    apiKeyFile: z.string().min(1).optional(),
    kinesisStream: z.string().min(1).default('market-events'),
    kinesisRegion: z.string().min(1).default('us-east-1'),
    /** Emulator endpoint (http://…); unset = AWS with the default credential chain. */
    kinesisEndpoint: z.string().url().optional(),
    port: z.coerce.number().int().min(0).max(65535).default(9090),
    /** Address for /health and /metrics: loopback unless told (compose sets 0.0.0.0 inside its network). */
    host: z.string().min(1).default('127.0.0.1'),
    /** Reconnect when no frame arrived for this long. */
    watchdogMs: z.coerce.number().int().positive().default(10_000),
    /** Rotate (make-before-break) before Binance's 24 h limit. */
    rotateAfterSeconds: z.coerce
      .number()
      .positive()
      .default(23.5 * 3600),
    reconnectBaseMs: z.coerce.number().int().positive().default(250),
    reconnectMaxMs: z.coerce.number().int().positive().default(30_000),
    /** The largest WebSocket frame taken from the exchange; a larger one closes the connection (Binance's are KBs). */
    maxFrameBytes: z.coerce
      .number()
      .int()
      .min(4096)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** Trades recovered per trade-id gap at most (the newest ones); a larger gap is published as an incomplete backfill. */
    maxBackfillTrades: z.coerce.number().int().min(1).max(1_000_000).default(50_000),
    /**
     * At start, how far back the stream is read to take over from a predecessor (its newest trade id, gaps it did
     * not backfill); 0 = not at all. Downtime longer than this loses the trades in between (they are not flagged).
     */
    resumeLookbackSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .default(900),
    /** The look back gives up after this (logged, counted); the ingestor starts anyway. */
    resumeTimeoutMs: z.coerce.number().int().min(100).max(300_000).default(20_000),
    /** Graceful stop: how long to flush Kinesis before what is left is counted as lost and the process exits. */
    stopTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** REST depth snapshot size (weight 50 at 1000). */
    snapshotLimit: z.coerce.number().int().min(5).max(5000).default(1000),
    /** Max REST weight per minute the ingestor allows itself (Binance: 6000 per IP). */
    restWeightBudget: z.coerce.number().int().positive().default(2400),
    /**
     * REST calls in flight at once. Many symbols re-anchoring together (every one at start) otherwise send every
     * snapshot request at the same moment: a slow exchange then answers the last ones after their 10 s timeout, and
     * their retries add to the queue they timed out in.
     */
    restConcurrency: z.coerce.number().int().min(1).max(64).default(8),
    /** Directory for capture files; unset = no recording. */
    captureDir: z.string().optional(),
    /** A capture file is closed and a new one started after this long (the training job reads only closed files)… */
    captureRotateSeconds: z.coerce.number().int().min(10).max(86_400).default(3_600),
    /** … and capture files older than this are deleted at each rotation (0 = keep all). */
    captureRetentionHours: z.coerce
      .number()
      .min(0)
      .max(24 * 365)
      .default(48),
    captureRotateBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(256 * 1024 * 1024),
    maxBufferedBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(128 * 1024 * 1024),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .refine((c) => c.apiKey !== undefined || c.apiKeyFile !== undefined, { message: 'set INGESTOR_API_KEY or INGESTOR_API_KEY_FILE', path: ['apiKey'] });

export type IngestorConfig = z.infer<typeof IngestorConfigSchema>;

/** Environment variable → setting (the compose test checks deploy files against it). */
export const INGESTOR_ENV: Record<string, keyof IngestorConfig> = {
  INGESTOR_STREAM_URL: 'streamUrl',
  INGESTOR_REST_URL: 'restUrl',
  INGESTOR_SYMBOLS: 'symbols',
  INGESTOR_API_KEY: 'apiKey',
  INGESTOR_API_KEY_FILE: 'apiKeyFile',
  KINESIS_STREAM: 'kinesisStream',
  KINESIS_REGION: 'kinesisRegion',
  KINESIS_ENDPOINT: 'kinesisEndpoint',
  INGESTOR_PORT: 'port',
  INGESTOR_HOST: 'host',
  INGESTOR_MAX_FRAME_BYTES: 'maxFrameBytes',
  INGESTOR_MAX_BACKFILL_TRADES: 'maxBackfillTrades',
  INGESTOR_STOP_TIMEOUT_MS: 'stopTimeoutMs',
  INGESTOR_RESUME_LOOKBACK_SECONDS: 'resumeLookbackSeconds',
  INGESTOR_RESUME_TIMEOUT_MS: 'resumeTimeoutMs',
  INGESTOR_WATCHDOG_MS: 'watchdogMs',
  INGESTOR_ROTATE_AFTER_SECONDS: 'rotateAfterSeconds',
  INGESTOR_SNAPSHOT_LIMIT: 'snapshotLimit',
  INGESTOR_REST_WEIGHT_BUDGET: 'restWeightBudget',
  INGESTOR_REST_CONCURRENCY: 'restConcurrency',
  INGESTOR_CAPTURE_DIR: 'captureDir',
  INGESTOR_CAPTURE_ROTATE_SECONDS: 'captureRotateSeconds',
  INGESTOR_CAPTURE_RETENTION_HOURS: 'captureRetentionHours',
  LOG_LEVEL: 'logLevel',
};

const INGESTOR_CONFIG: ConfigSpec<typeof IngestorConfigSchema> = { name: 'ingestor', schema: IngestorConfigSchema, env: INGESTOR_ENV, secrets: ['apiKey'] };

/** The configuration from `env` (+ `overrides`, set in code); throws ConfigError naming each wrong variable. */
export function ingestorConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof IngestorConfig, unknown>> = {}): IngestorConfig {
  return loadConfig(INGESTOR_CONFIG, { env, overrides });
}

/** The API key, from the value or the secret file (trimmed). Never log the result. */
export function resolveApiKey(config: IngestorConfig): string {
  if (config.apiKey !== undefined) return config.apiKey;
  return readFileSync(config.apiKeyFile!, 'utf8').trim();
}
