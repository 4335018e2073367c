/** The launcher's configuration (zod, from env): which Redis, which market source, which ports. */
import { z } from 'zod';
import { loadConfig, type ConfigSpec } from '@hotpath/config';
import { REDIS_CONNECTION_ENV, checkedRedisSettings, redisConnectionFields, type RedisConnectionSettings } from '@hotpath/state';

export const LauncherConfigSchema = z
  .object({
    /**
     * A Redis of the operator's (one server or a Cluster, TLS, ACL user, password file: libs/state's settings),
     * used when it answers and handed to the aggregator and inference as set; without REDIS_URL or
     * REDIS_CLUSTER_NODES a private redis-server is spawned.
     */
    ...redisConnectionFields,
    // (no default here: unset means the private server, not 127.0.0.1:6379)
    redisUrl: z.string().optional(),
    symbols: z.string().default('BTCUSDT'),
    kinesisStream: z.string().default('market-events'),
    kinesisShards: z.coerce.number().int().min(1).max(16).default(2),
    kinesisPort: z.coerce.number().int().min(0).max(65535).default(4567),
    /** Live Binance instead of exchange-sim when a key (or key file) is given. */
    binanceApiKey: z.string().min(1).optional(),
    binanceApiKeyFile: z.string().min(1).optional(),
    binanceStreamUrl: z.string().url().default('wss://stream-sbe.binance.com:9443'),
    binanceRestUrl: z.string().url().default('https://api.binance.com'),
    simPort: z.coerce.number().int().min(0).max(65535).default(9443),
    ingestorPort: z.coerce.number().int().min(0).max(65535).default(9090),
    aggregatorPort: z.coerce.number().int().min(0).max(65535).default(9091),
    inferencePort: z.coerce.number().int().min(0).max(65535).default(9092),
    /** Where the ingestor records its captures (relative to the repository; the training job reads them): on by default. */
    captureDir: z.string().min(1).default('captures'),
    /** `pretty` (pino-pretty) in a terminal, `json` otherwise (CI, docker, log shippers). */
    logFormat: z.enum(['pretty', 'json']).default(process.stdout.isTTY ? 'pretty' : 'json'),
    /** NO_COLOR (no-color.org): any value but empty means no ANSI colour in the pretty form. */
    noColor: z
      .string()
      .optional()
      .transform((v) => v !== undefined && v !== ''),
    /**
     * Where `.hotpath/state.json` (the endpoints the tools read) and by default the log files go: the repository
     * root unless set (the launcher's tests use their own, never the state of an operator's running stack).
     */
    stateRoot: z.string().min(1).optional(),
    /** One JSON-lines file per service (default `<state root>/.hotpath/logs`). */
    logDir: z.string().min(1).optional(),
    /** `--monitoring`: Prometheus and Alertmanager too, when their binaries are on PATH. */
    monitoring: z.boolean().default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .transform((c, ctx) => ({ ...c, redis: redisOf(c, ctx) }));
export type LauncherConfig = z.infer<typeof LauncherConfigSchema>;

type RedisFields = { redisUrl?: string | undefined } & Omit<Parameters<typeof checkedRedisSettings>[0], 'redisUrl'>;

/** The operator's Redis (checked, its files read), or undefined: the private server. A Redis setting without REDIS_URL or REDIS_CLUSTER_NODES is refused, not ignored. */
function redisOf(c: RedisFields, ctx: z.RefinementCtx): RedisConnectionSettings | undefined {
  if (c.redisUrl !== undefined || c.redisClusterNodes !== undefined) return checkedRedisSettings({ ...c, redisUrl: c.redisUrl ?? 'redis://127.0.0.1:6379' }, ctx);
  for (const setting of ['redisClusterNatMap', 'redisTlsCaFile', 'redisUsername', 'redisPasswordFile'] as const) {
    if (c[setting] !== undefined) ctx.addIssue({ code: 'custom', path: [setting], message: "is set but REDIS_URL is not: the launcher's own redis-server takes no TLS or AUTH settings" });
  }
  return undefined;
}

/** Environment variable → setting. */
export const LAUNCHER_ENV: Record<string, keyof LauncherConfig> = {
  ...REDIS_CONNECTION_ENV,
  HOTPATH_SYMBOLS: 'symbols',
  KINESIS_STREAM: 'kinesisStream',
  KINESIS_SHARDS: 'kinesisShards',
  KINESIS_EMULATOR_PORT: 'kinesisPort',
  BINANCE_API_KEY: 'binanceApiKey',
  BINANCE_API_KEY_FILE: 'binanceApiKeyFile',
  BINANCE_STREAM_URL: 'binanceStreamUrl',
  BINANCE_REST_URL: 'binanceRestUrl',
  SIM_PORT: 'simPort',
  INGESTOR_PORT: 'ingestorPort',
  AGGREGATOR_PORT: 'aggregatorPort',
  INFERENCE_PORT: 'inferencePort',
  HOTPATH_CAPTURE_DIR: 'captureDir',
  // (the launcher's own name wins over the general one when both are set)
  LOG_FORMAT: 'logFormat',
  LAUNCHER_LOG_FORMAT: 'logFormat',
  NO_COLOR: 'noColor',
  HOTPATH_STATE_ROOT: 'stateRoot',
  HOTPATH_LOG_DIR: 'logDir',
  LOG_LEVEL: 'logLevel',
};

const LAUNCHER_CONFIG: ConfigSpec<typeof LauncherConfigSchema> = {
  name: 'launcher',
  schema: LauncherConfigSchema,
  env: LAUNCHER_ENV,
  flags: { monitoring: 'monitoring' },
  secrets: ['redisUrl', 'binanceApiKey'],
};

/** The configuration from `env`; throws ConfigError naming each wrong variable (INFERENCE_PORT, not the setting). */
export function launcherConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof LauncherConfig, unknown>> = {},
  flags: { monitoring?: boolean | undefined } = {},
): LauncherConfig {
  return loadConfig(LAUNCHER_CONFIG, { env, overrides, flags });
}
