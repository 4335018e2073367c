/**
 * What every app does with its environment: read the variables its env map
 * names (variable → setting; empty counts as unset) and, when its zod schema
 * refuses them, say which settings are wrong, one per line.
 */
import type { ZodError } from 'zod';

export function envSettings<K extends string>(map: Readonly<Record<string, K>>, env: NodeJS.ProcessEnv): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [variable, setting] of Object.entries(map)) {
    const v = env[variable];
    if (v !== undefined && v !== '') out[setting] = v;
  }
  return out;
}

/** "setting: message" per issue; `names` renames a top-level setting (e.g. to its env variable), `prefix` marks CLI flags. */
export function describeIssues(error: ZodError, names: Readonly<Record<string, string>> = {}, prefix = ''): string {
  // one line per issue: a message that quotes a value (which may hold a line break) is kept on its line
  return error.issues.map((i) => `${prefix}${names[String(i.path[0])] ?? i.path.join('.')}: ${i.message.replace(/[\r\n]+/g, ' ')}`).join('\n  ');
}

/** The env map turned around: setting → variable, for messages that name what the operator sets. */
export function variablesOf(map: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([variable, setting]) => [setting, variable]));
}
export { freePort } from './ports.ts';
export { MAX_SECRET_BYTES, SecretFileError, readSecretFile, urlWithPassword, urlWithPasswordFile, type SettingValue } from './secrets.ts';
