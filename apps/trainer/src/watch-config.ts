/** `pnpm train:watch`'s configuration (docs/trainer.md, "Model lifecycle"; the compose test checks deploy files against WATCH_ENV). */
import { loadConfig } from '@hotpath/config';
import { z } from 'zod';

export const WatchConfigSchema = z.object({
  captureDir: z.string().min(1).default('captures'),
  registryDir: z.string().min(1).default('models/registry'),
  everyHours: z.coerce
    .number()
    .positive()
    .max(24 * 7)
    .default(6),
  spanHours: z.coerce
    .number()
    .positive()
    .max(24 * 30)
    .default(24),
  minSamples: z.coerce.number().int().min(300).default(1000),
  maxGapSeconds: z.coerce.number().positive().default(30),
  symbol: z
    .string()
    .regex(/^[A-Z0-9]{2,20}$/)
    .default('BTCUSDT'),
  name: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('btcusdt-10s'),
  seed: z.coerce.number().int().default(7),
  /** The ops server (/health, /ready, /metrics); 0 = none. */
  port: z.coerce.number().int().min(0).max(65535).default(9096),
  host: z.string().min(1).default('127.0.0.1'),
  once: z.coerce.boolean().default(false),
});
export type WatchConfig = z.infer<typeof WatchConfigSchema>;

export const WATCH_ENV: Record<string, keyof WatchConfig> = {
  WATCH_CAPTURE_DIR: 'captureDir',
  WATCH_REGISTRY_DIR: 'registryDir',
  WATCH_EVERY_HOURS: 'everyHours',
  WATCH_SPAN_HOURS: 'spanHours',
  WATCH_MIN_SAMPLES: 'minSamples',
  WATCH_MAX_GAP_SECONDS: 'maxGapSeconds',
  WATCH_SYMBOL: 'symbol',
  WATCH_NAME: 'name',
  WATCH_SEED: 'seed',
  WATCH_PORT: 'port',
  WATCH_HOST: 'host',
};

export function watchConfigFromEnv(env: NodeJS.ProcessEnv = process.env, flags: Record<string, unknown> = {}): WatchConfig {
  return loadConfig({ name: 'pnpm train:watch', schema: WatchConfigSchema, env: WATCH_ENV, flags: { once: 'once' } }, { env, flags });
}
