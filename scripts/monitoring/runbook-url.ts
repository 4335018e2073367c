/**
 * Where alerts' runbook links point. Notifications are read in Slack, PagerDuty or a phone, far from a checkout,
 * so every `runbook_url` is absolute: HOTPATH_RUNBOOK_BASE_URL (the docs/runbooks folder as the team browses it —
 * a fork, an internal mirror) + `/<runbook>.md`. The committed rules use the default; `pnpm generate:monitoring
 * --check` compares against the same base, so a deployment that sets its own regenerates before it ships.
 */
import { loadConfig } from '@hotpath/config';
import { z } from 'zod';

export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/hotpath-dev/hotpath/blob/main/docs/runbooks';
export const RUNBOOK_ENV = { HOTPATH_RUNBOOK_BASE_URL: 'runbookBaseUrl' } as const;

const Settings = z.object({
  runbookBaseUrl: z
    .string()
    // a link a person clicks: an absolute http(s) URL, and one slash between base and file whichever way it was written
    .refine((u) => /^https?:\/\//.test(u) && URL.canParse(u), 'must be an absolute http(s) URL')
    .transform((u) => u.replace(/\/+$/, ''))
    .default(DEFAULT_RUNBOOK_BASE_URL),
});

/** The base URL from HOTPATH_RUNBOOK_BASE_URL (or the default); throws a ConfigError naming the variable. */
export function runbookBaseUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return loadConfig({ name: 'pnpm generate:monitoring', schema: Settings, env: RUNBOOK_ENV }, { env }).runbookBaseUrl;
}

export const runbookUrl = (base: string, runbook: string): string => `${base}/${runbook}.md`;
