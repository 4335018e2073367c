/** The inference service's configuration, validated at start (zod). */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { fileURLToPath } from 'node:url';
import { loadConfig, symbolList, type ConfigSpec } from '@hotpath/config';
import { ANOMALY_KINDS, DEFAULT_ANOMALY_CONFIG, type AnomalyConfig } from '@hotpath/anomaly';
import { DEFAULT_COSTS, type Costs } from '@hotpath/model';
import { REDIS_CONNECTION_ENV, checkedRedisSettings, redisConnectionFields } from '@hotpath/state';

/** Without INFERENCE_MODEL_DIR: the repository's models/ (in the image: /app/models), where the shipped model lives. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../../models', import.meta.url));

/** A URL the live page links to: http(s) only (a javascript: or data: URL in an href would run on a click). */
const pageLink = z
  .string()
  .max(2_000)
  // canParse first: a malformed URL is a config error, not a throw
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http(s) URL')
  .optional();

export const InferenceConfigSchema = z
  .object({
    /** Which Redis (one server or a Cluster), TLS, ACL user, password file: libs/state's connection settings (REDIS_URL, REDIS_CLUSTER_NODES…). */
    ...redisConnectionFields,
    symbols: symbolList,
    /** This replica's name in claims and predictions. */
    replica: z.string().default(() => `inference-${randomUUID().slice(0, 8)}`),
    intervalMs: z.coerce.number().int().min(100).default(2_000),
    horizonS: z.coerce.number().positive().default(10),
    /** How long a tick's claim protects it; after that (plus a margin) another replica may make a dead claimer's prediction. */
    claimTtlMs: z.coerce.number().int().positive().default(500),
    /** Features older than this (wall clock vs their event time) give a flagged fallback. The spec's stale threshold is 5 s. */
    maxFeatureAgeMs: z.coerce.number().int().positive().default(5_000),
    /** Below this share of finite features the model is not trusted. */
    minCompleteness: z.coerce.number().min(0).max(1).default(0.9),
    /** Without Redis, a fallback may use the last vector read for this long; after that the tick is reported missing. */
    localFallbackMaxAgeMs: z.coerce.number().int().positive().default(30_000),
    /** Per Redis command: a tick never waits longer on a sick Redis. */
    redisTimeoutMs: z.coerce.number().int().positive().default(250),
    /** A model file; when neither it nor the Redis pointer is set, the built-in example model serves. */
    modelPath: z.string().optional(),
    /** Every model path (this file, the Redis pointer, POST /admin/model) must resolve inside this directory; unset: DEFAULT_MODEL_DIR. */
    modelDir: z.string().min(1).optional(),
    /** A model file larger than this is refused before it is read (the shipped one is ~4 KB). */
    modelMaxBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
    /** A model load (read, verify, warm) that takes longer is abandoned; stop() also aborts one in flight. */
    modelLoadTimeoutMs: z.coerce.number().int().positive().default(10_000),
    modelPointerKey: z.string().default('model:current'),
    modelPollMs: z.coerce.number().int().positive().default(5_000),
    /** Consecutive failed runs of a freshly swapped model before the previous one is restored. */
    rollbackAfterFailures: z.coerce.number().int().positive().default(3),
    /** Bearer token for /admin/*; without one the admin endpoints answer 403. */
    adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
    historyMax: z.coerce.number().int().positive().default(10_000),
    /** Other services' /health for the live page and /v1/status: "name=url,name=url". */
    statusPeers: z
      .union([z.string(), z.record(z.string(), z.string().url())])
      .default({})
      .transform((v, ctx) => {
        if (typeof v !== 'string') return v;
        const out: Record<string, string> = {};
        for (const pair of v.split(',').filter(Boolean)) {
          const [name, url] = pair.split('=');
          if (!name || !url || !/^https?:\/\//.test(url)) ctx.addIssue({ code: 'custom', message: `"${pair}" is not name=http://…` });
          else out[name] = url;
        }
        return out;
      }),
    /** Graded predictions kept per symbol for the rolling accuracy figures (1800 = one hour at 2 s). */
    accuracyWindow: z.coerce.number().int().positive().default(1_800),
    /** Costs the grading judges predictions against (libs/model economics), bps per side: taking liquidity (plus half the spread)… */
    takerFeeBps: z.coerce.number().min(0).max(1_000).default(DEFAULT_COSTS.takerFeeBps),
    /** … and resting at the touch (fill assumed). */
    makerFeeBps: z.coerce.number().min(-1_000).max(1_000).default(DEFAULT_COSTS.makerFeeBps),
    /** The rule acts only when |predicted return| exceeds the cost by more than this, bps. */
    ruleMarginBps: z.coerce.number().min(0).max(1_000).default(DEFAULT_COSTS.marginBps),
    /** Share of graded calls counted as the strongest (highest confidence). */
    strongestShare: z.coerce.number().gt(0).max(1).default(DEFAULT_COSTS.strongestShare),
    /** The model registry (docs/inference.md, "Model lifecycle"); unset = no challenger, no promotion, no rollback. */
    registryDir: z.string().min(1).optional(),
    registryPollMs: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
    /** The promotion test (SPRT on paired directional hits): false promotion rate α, missed promotion rate β at H1 = 0.5 + margin. */
    sprtAlpha: z.coerce.number().gt(0).lt(0.5).default(0.05),
    sprtBeta: z.coerce.number().gt(0).lt(0.5).default(0.1),
    sprtMargin: z.coerce.number().gt(0).lt(0.5).default(0.1),
    sprtMaxPairs: z.coerce.number().int().positive().default(2_000),
    /** The champion has decayed when its accuracy over this many counted ticks (one per horizon) is under the baseline. */
    decayWindow: z.coerce.number().int().min(10).max(100_000).default(60),
    decayBaselineAccuracy: z.coerce.number().min(0).max(1).default(0.5),
    /** WebSocket subscribers at once; more are refused (503) before the upgrade. */
    wsMaxClients: z.coerce.number().int().positive().default(256),
    /** A subscriber this far behind (bytes queued on its socket) is dropped. */
    wsMaxBufferedBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(1 << 20),
    /** Whole-request deadline (headers and body), against slow clients. */
    requestTimeoutMs: z.coerce.number().int().positive().default(10_000),
    port: z.coerce.number().int().min(0).max(65535).default(9092),
    /** Loopback by default; a container sets INFERENCE_HOST=0.0.0.0. */
    host: z.string().default('127.0.0.1'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** The trace UI's URL for one trace, `{traceId}` standing for the id (Jaeger: http://localhost:16686/trace/{traceId}); the live page links predictions to their traces. Unset: no links. */
    traceUiUrl: z
      .string()
      .max(2_000)
      .refine((t) => t.includes('{traceId}'), 'must contain {traceId}')
      .refine((t) => {
        try {
          return ['http:', 'https:'].includes(new URL(t.split('{traceId}').join('0'.repeat(32))).protocol);
        } catch {
          return false;
        }
      }, 'must be an http(s) URL')
      .optional(),
    /** Links on the live page (each shown only when set): Prometheus, Alertmanager, Grafana, the model report. http(s) only: the page puts them in an href. */
    prometheusUrl: pageLink,
    alertmanagerUrl: pageLink,
    grafanaUrl: pageLink,
    modelReportUrl: pageLink,
    // anomaly flags (docs/anomalies.md has each threshold's reasoning and the replay on real data behind the defaults)
    /** Ticks of rolling history per symbol and measure, and the valid ones a rolling threshold needs before it may fire (a warm-up longer than the window is the window). */
    anomalyWindow: z.coerce.number().int().min(2).max(100_000).default(DEFAULT_ANOMALY_CONFIG.window),
    anomalyWarmup: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_ANOMALY_CONFIG.warmup),
    /** price_jump: |10 s mid return| > k × σ (RMS of the window's 10 s returns, never below the floor, bps). */
    anomalyPriceJumpK: z.coerce.number().positive().finite().default(DEFAULT_ANOMALY_CONFIG.priceJumpK),
    anomalyPriceJumpMinSigmaBps: z.coerce.number().positive().finite().default(DEFAULT_ANOMALY_CONFIG.priceJumpMinSigmaBps),
    /** spread_blowout: spread > m × its rolling median and > the floor (bps). */
    anomalySpreadM: z.coerce.number().positive().finite().default(DEFAULT_ANOMALY_CONFIG.spreadM),
    anomalySpreadMinBps: z.coerce.number().min(0).finite().default(DEFAULT_ANOMALY_CONFIG.spreadMinBps),
    /** imbalance_extreme: |top-of-book quantity imbalance| above this level. */
    anomalyImbalanceLevel: z.coerce.number().gt(0).lt(1).default(DEFAULT_ANOMALY_CONFIG.imbalanceLevel),
    /** trade_burst: trades/s over 5 s > m × its rolling median and > the floor. */
    anomalyTradeBurstM: z.coerce.number().positive().finite().default(DEFAULT_ANOMALY_CONFIG.tradeBurstM),
    anomalyTradeBurstMinRate: z.coerce.number().min(0).finite().default(DEFAULT_ANOMALY_CONFIG.tradeBurstMinRate),
    /** latency_spike: exchange event → vector written > m × its rolling median and > the floor (ms). */
    anomalyLatencyM: z.coerce.number().positive().finite().default(DEFAULT_ANOMALY_CONFIG.latencyM),
    anomalyLatencyMinMs: z.coerce.number().min(0).finite().default(DEFAULT_ANOMALY_CONFIG.latencyMinMs),
    /** feature_age_spike: age > the limit, or > m × its rolling median and > the floor (ms). */
    anomalyFeatureAgeLimitMs: z.coerce.number().positive().finite().default(DEFAULT_ANOMALY_CONFIG.featureAgeLimitMs),
    anomalyFeatureAgeM: z.coerce.number().positive().finite().default(DEFAULT_ANOMALY_CONFIG.featureAgeM),
    anomalyFeatureAgeMinMs: z.coerce.number().min(0).finite().default(DEFAULT_ANOMALY_CONFIG.featureAgeMinMs),
    /** The kinds judged, comma-separated (default all; "none" for none). */
    anomalyKinds: z
      .union([z.string(), z.array(z.enum(ANOMALY_KINDS))])
      .default([...ANOMALY_KINDS])
      .transform((v, ctx) => {
        if (typeof v !== 'string') return v;
        const names =
          v.trim() === 'none'
            ? []
            : v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean);
        const unknown = names.filter((n) => !(ANOMALY_KINDS as readonly string[]).includes(n));
        if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown anomaly kind ${unknown.join(', ')} (known: ${ANOMALY_KINDS.join(', ')}, or none)` });
        return names as (typeof ANOMALY_KINDS)[number][];
      }),
  })
  // the connection settings as the factory takes them, its files checked: an unreadable one is a ConfigError naming the variable
  .transform((c, ctx) => ({ ...c, redis: checkedRedisSettings(c, ctx) }));
export type InferenceConfig = z.infer<typeof InferenceConfigSchema>;

/** Environment variable → setting (the compose test checks deploy files against it). */
export const INFERENCE_ENV: Record<string, keyof InferenceConfig> = {
  ...REDIS_CONNECTION_ENV,
  INFERENCE_SYMBOLS: 'symbols',
  INFERENCE_REPLICA: 'replica',
  INFERENCE_INTERVAL_MS: 'intervalMs',
  INFERENCE_HORIZON_S: 'horizonS',
  INFERENCE_CLAIM_TTL_MS: 'claimTtlMs',
  INFERENCE_MAX_FEATURE_AGE_MS: 'maxFeatureAgeMs',
  INFERENCE_MIN_COMPLETENESS: 'minCompleteness',
  INFERENCE_LOCAL_FALLBACK_MAX_AGE_MS: 'localFallbackMaxAgeMs',
  INFERENCE_REDIS_TIMEOUT_MS: 'redisTimeoutMs',
  INFERENCE_MODEL_PATH: 'modelPath',
  INFERENCE_MODEL_DIR: 'modelDir',
  INFERENCE_MODEL_MAX_BYTES: 'modelMaxBytes',
  INFERENCE_MODEL_LOAD_TIMEOUT_MS: 'modelLoadTimeoutMs',
  INFERENCE_MODEL_POINTER_KEY: 'modelPointerKey',
  INFERENCE_MODEL_POLL_MS: 'modelPollMs',
  INFERENCE_ROLLBACK_AFTER_FAILURES: 'rollbackAfterFailures',
  INFERENCE_ADMIN_TOKEN: 'adminToken',
  INFERENCE_HISTORY_MAX: 'historyMax',
  INFERENCE_STATUS_PEERS: 'statusPeers',
  INFERENCE_ACCURACY_WINDOW: 'accuracyWindow',
  INFERENCE_TAKER_FEE_BPS: 'takerFeeBps',
  INFERENCE_MAKER_FEE_BPS: 'makerFeeBps',
  INFERENCE_RULE_MARGIN_BPS: 'ruleMarginBps',
  INFERENCE_STRONGEST_SHARE: 'strongestShare',
  INFERENCE_REGISTRY_DIR: 'registryDir',
  INFERENCE_REGISTRY_POLL_MS: 'registryPollMs',
  INFERENCE_SPRT_ALPHA: 'sprtAlpha',
  INFERENCE_SPRT_BETA: 'sprtBeta',
  INFERENCE_SPRT_MARGIN: 'sprtMargin',
  INFERENCE_SPRT_MAX_PAIRS: 'sprtMaxPairs',
  INFERENCE_DECAY_WINDOW: 'decayWindow',
  INFERENCE_DECAY_BASELINE_ACCURACY: 'decayBaselineAccuracy',
  INFERENCE_WS_MAX_CLIENTS: 'wsMaxClients',
  INFERENCE_WS_MAX_BUFFERED_BYTES: 'wsMaxBufferedBytes',
  INFERENCE_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  INFERENCE_HOST: 'host',
  INFERENCE_PORT: 'port',
  LOG_LEVEL: 'logLevel',
  INFERENCE_TRACE_UI_URL: 'traceUiUrl',
  INFERENCE_PROMETHEUS_URL: 'prometheusUrl',
  INFERENCE_ALERTMANAGER_URL: 'alertmanagerUrl',
  INFERENCE_GRAFANA_URL: 'grafanaUrl',
  INFERENCE_MODEL_REPORT_URL: 'modelReportUrl',
  INFERENCE_ANOMALY_WINDOW: 'anomalyWindow',
  INFERENCE_ANOMALY_WARMUP: 'anomalyWarmup',
  INFERENCE_ANOMALY_PRICE_JUMP_K: 'anomalyPriceJumpK',
  INFERENCE_ANOMALY_PRICE_JUMP_MIN_SIGMA_BPS: 'anomalyPriceJumpMinSigmaBps',
  INFERENCE_ANOMALY_SPREAD_M: 'anomalySpreadM',
  INFERENCE_ANOMALY_SPREAD_MIN_BPS: 'anomalySpreadMinBps',
  INFERENCE_ANOMALY_IMBALANCE_LEVEL: 'anomalyImbalanceLevel',
  INFERENCE_ANOMALY_TRADE_BURST_M: 'anomalyTradeBurstM',
  INFERENCE_ANOMALY_TRADE_BURST_MIN_RATE: 'anomalyTradeBurstMinRate',
  INFERENCE_ANOMALY_LATENCY_M: 'anomalyLatencyM',
  INFERENCE_ANOMALY_LATENCY_MIN_MS: 'anomalyLatencyMinMs',
  INFERENCE_ANOMALY_FEATURE_AGE_LIMIT_MS: 'anomalyFeatureAgeLimitMs',
  INFERENCE_ANOMALY_FEATURE_AGE_M: 'anomalyFeatureAgeM',
  INFERENCE_ANOMALY_FEATURE_AGE_MIN_MS: 'anomalyFeatureAgeMinMs',
  INFERENCE_ANOMALY_KINDS: 'anomalyKinds',
};

const INFERENCE_CONFIG: ConfigSpec<typeof InferenceConfigSchema> = { name: 'inference', schema: InferenceConfigSchema, env: INFERENCE_ENV, secrets: ['redisUrl', 'adminToken'] };

/**
 * The configuration from `env`, over `defaults` (what the caller picks when no variable is set: the
 * shipped model); throws ConfigError naming each wrong variable.
 */
export function inferenceConfigFromEnv(env: NodeJS.ProcessEnv = process.env, defaults: Partial<Record<keyof InferenceConfig, unknown>> = {}): InferenceConfig {
  return loadConfig(INFERENCE_CONFIG, { env, defaults });
}

/** The anomaly detector's settings from the configuration: one symbol slot per configured symbol (no other is ever ticked). */
export function anomalyConfigOf(c: InferenceConfig): AnomalyConfig {
  return {
    window: c.anomalyWindow,
    // (clamped, not refused: either of the two variables may be the one set, and an error must name the one that was)
    warmup: Math.min(c.anomalyWarmup, c.anomalyWindow),
    priceJumpK: c.anomalyPriceJumpK,
    priceJumpMinSigmaBps: c.anomalyPriceJumpMinSigmaBps,
    spreadM: c.anomalySpreadM,
    spreadMinBps: c.anomalySpreadMinBps,
    imbalanceLevel: c.anomalyImbalanceLevel,
    tradeBurstM: c.anomalyTradeBurstM,
    tradeBurstMinRate: c.anomalyTradeBurstMinRate,
    latencyM: c.anomalyLatencyM,
    latencyMinMs: c.anomalyLatencyMinMs,
    featureAgeLimitMs: c.anomalyFeatureAgeLimitMs,
    featureAgeM: c.anomalyFeatureAgeM,
    featureAgeMinMs: c.anomalyFeatureAgeMinMs,
    maxSymbols: Math.max(1, c.symbols.length),
    kinds: c.anomalyKinds,
  };
}

/** The costs the grading judges predictions against, from the configuration. */
export function costsOf(c: Pick<InferenceConfig, 'takerFeeBps' | 'makerFeeBps' | 'ruleMarginBps' | 'strongestShare'>): Costs {
  return { takerFeeBps: c.takerFeeBps, makerFeeBps: c.makerFeeBps, marginBps: c.ruleMarginBps, strongestShare: c.strongestShare };
}
