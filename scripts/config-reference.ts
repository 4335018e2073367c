/**
 * pnpm docs:config [--check] — docs/configuration.md from the apps' env maps
 * and zod schemas (names, defaults), so the reference cannot drift from the code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ZodTypeAny } from 'zod';
import { parseCli } from '@hotpath/config';

/** Run as `pnpm docs:config` (test/deploy.test.ts imports it instead): its arguments, read before the apps load so --help answers at once. */
const cli =
  process.argv[1] === fileURLToPath(import.meta.url)
    ? parseCli({
        name: 'pnpm docs:config',
        usage: `[--check]

Writes docs/configuration.md from the apps' environment maps and zod schemas (every variable, the
setting it gives, its default), so the reference cannot drift from the code. Reads no environment
variables.`,
        options: { check: { type: 'boolean', description: 'write nothing; exit 1 when docs/configuration.md is stale' } },
        examples: ['pnpm docs:config', 'pnpm docs:config --check'],
      })
    : undefined;
const [
  { AGGREGATOR_ENV, AggregatorConfigSchema },
  { SIM_ENV, SimConfigSchema },
  { INFERENCE_ENV, InferenceConfigSchema },
  { INGESTOR_ENV, IngestorConfigSchema },
  { LAUNCHER_ENV, LauncherConfigSchema },
  { REDIS_CONNECTION_HELP },
] = await Promise.all([import('aggregator'), import('exchange-sim'), import('inference'), import('ingestor'), import('launcher'), import('@hotpath/state')]);

/** The object schema under refinements/effects, and a field's default (run, so computed defaults show as such). */
function shapeOf(schema: ZodTypeAny): Record<string, ZodTypeAny> {
  let s: ZodTypeAny = schema;
  while (!('shape' in s._def || typeof (s as unknown as { shape?: unknown }).shape === 'object')) s = (s._def as { schema: ZodTypeAny }).schema;
  return (s as unknown as { shape: Record<string, ZodTypeAny> }).shape;
}
function defaultOf(field: ZodTypeAny | undefined, name: string): string {
  let f = field;
  while (f) {
    const def = f._def as { typeName?: string; defaultValue?: () => unknown; innerType?: ZodTypeAny; schema?: ZodTypeAny; in?: ZodTypeAny };
    if (def.typeName === 'ZodDefault') {
      if (name === 'owner' || name === 'replica') return 'generated per process';
      if (name === 'logFormat') return 'pretty in a terminal, json otherwise';
      const v = def.defaultValue!();
      return Array.isArray(v) ? v.join(',') || '(none)' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    if (def.typeName === 'ZodOptional') return '(unset)';
    f = def.innerType ?? def.schema ?? def.in;
  }
  return '(required)';
}

const APPS: [string, string, Record<string, string>, ZodTypeAny][] = [
  ['launcher (`pnpm start`)', 'apps/launcher/src/config.ts', LAUNCHER_ENV, LauncherConfigSchema],
  ['exchange-sim', 'apps/exchange-sim/src/config.ts', SIM_ENV, SimConfigSchema],
  ['ingestor', 'apps/ingestor/src/config.ts', INGESTOR_ENV, IngestorConfigSchema],
  ['aggregator', 'apps/aggregator/src/config.ts', AGGREGATOR_ENV, AggregatorConfigSchema],
  ['inference', 'apps/inference/src/config.ts', INFERENCE_ENV, InferenceConfigSchema],
];

export function configReference(): string {
  const out = [
    '# Configuration reference',
    '',
    'Generated from the config schemas by `pnpm docs:config` (a test fails when it is stale). Every service validates its configuration at start and exits with code 2 naming the bad setting.',
    '',
    '## Redis connection',
    '',
    'The aggregator, inference, the launcher (for a Redis of your own), `pnpm leases` and `pnpm read:vector` read the same Redis variables (`libs/state/src/connection-settings.ts`) and connect through one factory (`libs/state/src/connection.ts`): one server or a Redis Cluster, TLS, an ACL user, the password from a file. A setting that cannot work is refused at start naming its variable; a TLS or AUTH refusal fails the start with an error naming the setting, never the secret.',
    '',
    '| variable | meaning |',
    '|---|---|',
    ...Object.entries(REDIS_CONNECTION_HELP).map(([name, help]) => `| \`${name}\` | ${help} |`),
    '',
  ];
  for (const [title, file, env, schema] of APPS) {
    const shape = shapeOf(schema);
    out.push(`## ${title}`, '', `Schema: \`${file}\``, '', '| variable | setting | default |', '|---|---|---|');
    for (const [name, key] of Object.entries(env)) out.push(`| \`${name}\` | ${key} | ${defaultOf(shape[key], key)} |`);
    out.push('');
  }
  return out.join('\n');
}

if (cli !== undefined) {
  const path = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
  const text = configReference();
  if (cli.values.check === true) {
    if (readFileSync(path, 'utf8') !== text) {
      console.error('docs/configuration.md is stale: run pnpm docs:config');
      process.exit(1);
    }
  } else writeFileSync(path, text);
}
