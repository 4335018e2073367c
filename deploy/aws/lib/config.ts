/**
 * The deployment's parameters: CDK context (cdk.json "context", or `-c key=value` on the command line),
 * typed and validated with zod. Command-line values arrive as strings, cdk.json values as JSON, so every
 * field takes both. A bad value stops synth with one line per context key naming it.
 */
import { z } from 'zod';

const SYMBOL = /^[A-Z0-9]{2,20}$/;

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Fargate's valid (cpu units, memory MiB) pairs, for the sizes this deployment lets one choose. */
const FARGATE_MEMORY: Record<number, readonly number[]> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: [4096, 5120, 6144, 7168, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384],
  4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const csv = z.union([
  z.array(z.string()),
  z.string().transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== ''),
  ),
]);

const symbol = z
  .string()
  .transform((s) => s.trim().toUpperCase())
  .pipe(z.string().regex(SYMBOL, 'a symbol is 2–20 letters or digits, e.g. BTCUSDT'));

/** "BTCUSDT;ETHUSDT,SOLUSDT" (groups split by `;`, symbols by `,`) or [["BTCUSDT"], ["ETHUSDT", "SOLUSDT"]]. */
const symbolGroups = z
  .union([
    z.array(z.array(z.string())),
    z.string().transform((s) =>
      s
        .split(';')
        .map((g) => g.split(',').filter((x) => x.trim() !== ''))
        .filter((g) => g.length > 0),
    ),
  ])
  .pipe(z.array(z.array(symbol).min(1)).min(1).max(20))
  .superRefine((groups, ctx) => {
    const seen = new Set<string>();
    for (const s of groups.flat()) {
      // two ingestors publishing one symbol would interleave two writers' books on one partition key
      if (seen.has(s)) ctx.addIssue({ code: 'custom', message: `${s} is in more than one group: one ingestor per symbol` });
      seen.add(s);
    }
  });

const taskSize = z.object({ cpu: z.coerce.number().int(), memoryMiB: z.coerce.number().int() }).superRefine((t, ctx) => {
  const allowed = FARGATE_MEMORY[t.cpu];
  if (allowed === undefined) ctx.addIssue({ code: 'custom', message: `cpu ${t.cpu} is not a Fargate size (256, 512, 1024, 2048, 4096)` });
  else if (!allowed.includes(t.memoryMiB)) ctx.addIssue({ code: 'custom', message: `memoryMiB ${t.memoryMiB} does not go with cpu ${t.cpu} on Fargate (${allowed[0]}–${allowed.at(-1)})` });
});

/**
 * Per-service task sizes. The aggregator gets a whole vCPU: it runs two threads (the fetch worker and the
 * writes) and a fractional vCPU is a CFS quota that stalls both for the rest of each 100 ms period.
 */
export const DEFAULT_TASK_SIZES = {
  ingestor: { cpu: 512, memoryMiB: 1024 },
  aggregator: { cpu: 1024, memoryMiB: 2048 },
  inference: { cpu: 512, memoryMiB: 1024 },
} as const;

const taskSizes = z
  .union([
    z.record(z.string(), z.unknown()),
    z.string().transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not JSON ({"aggregator":{"cpu":1024,"memoryMiB":2048}})' });
        return z.NEVER;
      }
    }),
  ])
  .pipe(z.object({ ingestor: taskSize.optional(), aggregator: taskSize.optional(), inference: taskSize.optional() }).strict())
  .transform((t) => ({ ...DEFAULT_TASK_SIZES, ...t }));

const DeployConfigFields = z.object({
  /** Prefix of every physical name (stream, cluster, log groups, secrets); one deployment per prefix and region. */
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,20}$/, 'lowercase letters, digits and -, 2–21 characters, starting with a letter')
    .default('hotpath'),
  symbolGroups: symbolGroups.default([['BTCUSDT']]),
  /** Symbols predicted (the shipped model is BTCUSDT's); each must be ingested. */
  inferenceSymbols: csv.pipe(z.array(symbol).min(1)).default(['BTCUSDT']),
  kinesisMode: z.enum(['provisioned', 'on-demand']).default('provisioned'),
  /** Provisioned shards (ignored on-demand). Partition key = symbol, so one symbol never uses more than one shard. */
  kinesisShards: int(1, 200).default(1),
  kinesisRetentionHours: int(24, 8760).default(24),
  aggregatorTasks: int(1, 50).default(2),
  aggregatorMaxTasks: int(1, 50).default(4),
  inferenceTasks: int(1, 50).default(2),
  inferenceMaxTasks: int(1, 50).default(4),
  taskSizes: taskSizes.default({}),
  cpuArchitecture: z.enum(['x86_64', 'arm64']).default('x86_64'),
  /** The ECR repository the base stack creates and the image is pushed to. */
  imageRepository: z
    .string()
    .regex(/^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/, 'an ECR repository name (lowercase, digits, . _ - /)')
    .default('hotpath'),
  /** The pushed image's tag (a git SHA): required, so a deployment never runs whatever `latest` is that day. */
  imageTag: z
    .string({ required_error: 'required: the tag you pushed (-c imageTag=$(git rev-parse --short HEAD))' })
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'an image tag (letters, digits, _ . -, at most 128)'),
  /** The OpenTelemetry collector (ADOT) that scrapes each task's /metrics into Amazon Managed Prometheus and sends its spans to X-Ray. */
  adotImage: z.string().min(1).default('public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3'),
  /**
   * The fraction of market events (ingestor frames) traced into X-Ray: the services' OTEL_TRACES_SAMPLER_ARG.
   * 0 turns tracing off: no OTLP endpoint in the services, no traces pipeline, no X-Ray permission.
   */
  tracesSampleRatio: z.coerce.number().min(0).max(1).default(0.01),
  alarmEmail: z.string().email().optional(),
  logRetentionDays: z.coerce
    .number()
    .int()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(', ')}`)
    .default(30),
  /** An ACM certificate for the ALB: HTTPS on 443 and 80 redirected. Without one the ALB serves plain HTTP on 80. */
  certificateArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'an ACM certificate ARN')
    .optional(),
  /** Who may reach the ALB. */
  albIngressCidrs: csv.pipe(z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR, e.g. 203.0.113.0/24')).min(1)).default(['0.0.0.0/0']),
  vpcCidr: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, 'an IPv4 CIDR from /16 to /24')
    .default('10.40.0.0/16'),
  /** NAT gateways (the ingestor reaches Binance, every task AWS APIs through them): 1 saves $33/month, 2 survive an AZ. */
  natGateways: int(1, 2).default(1),
  /** Interface endpoints (Kinesis, ECR, Logs, Secrets Manager, AMP, X-Ray) instead of the NAT for AWS APIs. */
  vpcEndpoints: bool.default(false),
  redisNodeType: z
    .string()
    .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'an ElastiCache node type, e.g. cache.t4g.small')
    .default('cache.t4g.small'),
  redisShards: int(1, 90).default(1),
  /** At least one: cluster mode needs automatic failover, which needs a replica to promote. */
  redisReplicasPerShard: int(1, 5).default(1),
  redisEngineVersion: z
    .string()
    .regex(/^7\.\d+$/, 'a Redis OSS 7.x engine version (ACL selectors need 7)')
    .default('7.1'),
  binanceStreamUrl: z.string().url().default('wss://stream-sbe.binance.com:9443'),
  binanceRestUrl: z.string().url().default('https://api.binance.com'),
  /** Container Insights (per-task CPU/memory/network in CloudWatch; billed as custom metrics). */
  containerInsights: bool.default(false),
});

/** An ADOT collector image's release, when its tag names one (`…/aws-otel-collector:v0.43.3`); digests and other tags pass unchecked. */
const ADOT_VERSION = /aws-otel-collector:v(\d+)\.(\d+)\.(\d+)$/;
/**
 * X-Ray accepts W3C (fully random) trace ids since October 2023 with ADOT v0.34.0 or later: before that the
 * awsxray exporter refused any id whose first 32 bits were not a recent epoch second (README, Traces).
 */
export const MIN_ADOT_FOR_W3C_TRACE_IDS = [0, 34, 0] as const;
const compareVersions = (a: readonly number[], b: readonly number[]): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
};

export const DeployConfigSchema = DeployConfigFields.superRefine((c, ctx) => {
  const ingested = new Set(c.symbolGroups.flat());
  for (const s of c.inferenceSymbols) if (!ingested.has(s)) ctx.addIssue({ code: 'custom', path: ['inferenceSymbols'], message: `${s} is in no symbol group: nothing would feed its features` });
  if (c.aggregatorMaxTasks < c.aggregatorTasks) ctx.addIssue({ code: 'custom', path: ['aggregatorMaxTasks'], message: `below aggregatorTasks (${c.aggregatorTasks})` });
  if (c.inferenceMaxTasks < c.inferenceTasks) ctx.addIssue({ code: 'custom', path: ['inferenceMaxTasks'], message: `below inferenceTasks (${c.inferenceTasks})` });
  const adot = ADOT_VERSION.exec(c.adotImage);
  if (c.tracesSampleRatio > 0 && adot !== null && compareVersions(adot.slice(1).map(Number), MIN_ADOT_FOR_W3C_TRACE_IDS) < 0)
    ctx.addIssue({
      code: 'custom',
      path: ['adotImage'],
      message: `ADOT before v${MIN_ADOT_FOR_W3C_TRACE_IDS.join('.')} drops the services' random W3C trace ids before X-Ray sees them: pin a later release, or tracesSampleRatio=0`,
    });
});

export type DeployConfig = z.infer<typeof DeployConfigSchema>;
export type ServiceName = keyof typeof DEFAULT_TASK_SIZES;

/** The context keys this app reads. */
export const CONTEXT_KEYS = Object.keys(DeployConfigFields.shape) as (keyof DeployConfig)[];

/** Context keys of the CDK itself (feature flags `@aws-cdk/…`, `aws:cdk:…`, the CLI's own), never ours. */
const isCdkKey = (key: string): boolean => /[@:/]/.test(key) || key.startsWith('cdk') || key === 'acknowledged-issue-numbers';

export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
}

/**
 * The configuration from the app's whole context (`app.node.getAllContext()`). CDK's own keys (feature
 * flags, `aws:cdk:*`) pass by; any other key this app does not know is an error, as is every bad value.
 */
export function loadDeployConfig(context: Record<string, unknown>): DeployConfig {
  const raw: Record<string, unknown> = {};
  const lines: string[] = [];
  for (const [key, value] of Object.entries(context)) {
    if ((CONTEXT_KEYS as string[]).includes(key)) {
      if (value !== undefined) raw[key] = value;
    } else if (!isCdkKey(key)) {
      // a misspelt key would otherwise be ignored and its default deployed
      const near = CONTEXT_KEYS.find((k) => k.toLowerCase() === key.toLowerCase() || k.startsWith(key) || key.startsWith(k));
      lines.push(`${key}: not a context key of this app${near === undefined ? '' : ` (did you mean ${near}?)`}`);
    }
  }
  const parsed = DeployConfigSchema.safeParse(raw);
  if (parsed.success && lines.length === 0) return parsed.data;
  if (!parsed.success) {
    // the context key first, then where inside its value: `albIngressCidrs[0]`, `taskSizes.aggregator`
    const where = (path: (string | number)[]) => (path.length === 0 ? '(context)' : path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join(''));
    for (const issue of parsed.error.issues) lines.push(`${where(issue.path)}: ${issue.message}`);
  }
  throw new DeployConfigError(`invalid deployment context (cdk.json "context" or -c key=value):\n  ${lines.join('\n  ')}`);
}
