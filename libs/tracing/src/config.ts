/**
 * Tracing configuration from the standard OpenTelemetry environment variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * Tracing is OFF unless an OTLP endpoint is configured, and OTEL_SDK_DISABLED
 * wins over everything: a service never exports to a default localhost
 * collector nobody runs.
 */
import { z } from 'zod';
import { ConfigError } from '@hotpath/config';

export interface TracingConfig {
  enabled: boolean;
  /** Full OTLP/HTTP traces URL (…/v1/traces). */
  url: string;
  /** Probability a new (root) trace is sampled; children follow their parent's decision. */
  ratio: number;
  serviceName: string;
  /** Spans held for export at most (queued + in flight); more are dropped and counted. */
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMs: number;
  exportTimeoutMs: number;
}

/** Default sampled fraction of new traces: low enough that the hot path does not notice (docs/tracing.md). */
export const DEFAULT_SAMPLE_RATIO = 0.01;

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

const intVar = (name: string, fallback: number, min: number, max: number) =>
  z.coerce
    .number({ invalid_type_error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(min, `${name} must be ≥ ${min}`)
    .max(max, `${name} must be ≤ ${max}`)
    .default(fallback);

const schema = z.object({
  OTEL_SDK_DISABLED: z.enum(['true', 'false', 'TRUE', 'FALSE', '']).default('false'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url('OTEL_EXPORTER_OTLP_ENDPOINT must be a URL').optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be a URL').optional(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS, { errorMap: () => ({ message: `OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}` }) }).default('parentbased_traceidratio'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number({ invalid_type_error: 'OTEL_TRACES_SAMPLER_ARG must be a number' })
    .min(0, 'OTEL_TRACES_SAMPLER_ARG must be in [0, 1]')
    .max(1, 'OTEL_TRACES_SAMPLER_ARG must be in [0, 1]')
    .optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(100, 'OTEL_SERVICE_NAME must be ≤ 100 characters').optional(),
  OTEL_BSP_MAX_QUEUE_SIZE: intVar('OTEL_BSP_MAX_QUEUE_SIZE', 2048, 1, 1_000_000),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: intVar('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1, 100_000),
  OTEL_BSP_SCHEDULE_DELAY: intVar('OTEL_BSP_SCHEDULE_DELAY', 5_000, 1, 600_000),
  OTEL_BSP_EXPORT_TIMEOUT: intVar('OTEL_BSP_EXPORT_TIMEOUT', 10_000, 1, 600_000),
});

/** Reads the OTEL_* variables; throws a ConfigError (exit code 2 from main()) naming each variable that is invalid. */
export function loadTracingConfig(service: string, env: NodeJS.ProcessEnv = process.env): TracingConfig {
  const blankToUndefined = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('OTEL_') && v !== undefined && v !== ''));
  const parsed = schema.safeParse(blankToUndefined);
  if (!parsed.success)
    throw new ConfigError(
      'tracing',
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? ''), at: '', message: i.message })),
    );
  const e = parsed.data;
  const url = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? '' : `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  const sampler = e.OTEL_TRACES_SAMPLER;
  const ratio = sampler.endsWith('always_on') ? 1 : sampler.endsWith('always_off') ? 0 : (e.OTEL_TRACES_SAMPLER_ARG ?? DEFAULT_SAMPLE_RATIO);
  return {
    enabled: e.OTEL_SDK_DISABLED.toLowerCase() !== 'true' && url !== '',
    url,
    ratio,
    serviceName: e.OTEL_SERVICE_NAME ?? service,
    maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
    maxExportBatchSize: Math.min(e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, e.OTEL_BSP_MAX_QUEUE_SIZE),
    scheduledDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
    exportTimeoutMs: e.OTEL_BSP_EXPORT_TIMEOUT,
  };
}
