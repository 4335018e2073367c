/**
 * The one way an app reads its configuration: settings from the environment
 * (variable → setting; empty counts as unset) and command-line flags over
 * the app's defaults, validated by its zod schema. A refusal is one
 * ConfigError, a line per wrong setting, each naming what the operator sets —
 * INFERENCE_PORT, --port — and never a secret value.
 */
import type { z, ZodTypeAny } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.ts';

export interface ConfigSpec<S extends ZodTypeAny = ZodTypeAny> {
  /** Whose configuration, for the message's first line: "invalid <name> configuration:". */
  readonly name: string;
  readonly schema: S;
  /** Environment variable → setting (the compose test checks deploy files against each app's map). */
  readonly env?: Readonly<Record<string, string>>;
  /** Command-line flag, without its `--` → setting; a flag wins over the environment. */
  readonly flags?: Readonly<Record<string, string>>;
  /**
   * Settings whose values are secret (keys, tokens, a URL that may hold a password): their values are
   * never quoted, and are cut out of every message, whatever zod or a refinement put there.
   */
  readonly secrets?: readonly string[];
}

export interface ConfigInput {
  /** Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Flag → value, as node:util parseArgs gives them; undefined = not given. */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** Under everything: values the caller chose when the operator sets none (a shipped model's path). */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** Over everything: settings given in code (tests, benches), named by their setting in messages. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** The mapped variables that are set and not empty, by setting, with the variable that gave each. */
export function envSettings(map: Readonly<Record<string, string>>, env: Readonly<Record<string, string | undefined>>): Map<string, { from: string; value: string }> {
  const out = new Map<string, { from: string; value: string }>();
  for (const [variable, setting] of Object.entries(map)) {
    const value = env[variable];
    if (value !== undefined && value !== '') out.set(setting, { from: variable, value });
  }
  return out;
}

/** Longer values are cut when quoted: a message stays one readable line. */
const MAX_QUOTED = 60;

/**
 * The settings of `spec` from `input` (precedence: overrides, flags, environment, defaults, the
 * schema's own defaults). Throws ConfigError naming every wrong setting's variable or flag.
 */
export function loadConfig<S extends ZodTypeAny>(spec: ConfigSpec<S>, input: ConfigInput = {}): z.output<S> {
  const fromEnv = envSettings(spec.env ?? {}, input.env ?? process.env);
  const fromFlags = new Map<string, { from: string; value: unknown }>();
  for (const [flag, setting] of Object.entries(spec.flags ?? {})) {
    const value = input.flags?.[flag];
    if (value !== undefined) fromFlags.set(setting, { from: `--${flag}`, value });
  }
  const raw: Record<string, unknown> = { ...input.defaults };
  for (const [setting, { value }] of fromEnv) raw[setting] = value;
  for (const [setting, { value }] of fromFlags) raw[setting] = value;
  Object.assign(raw, input.overrides);

  const parsed = spec.schema.safeParse(raw);
  if (parsed.success) return parsed.data as z.output<S>;

  const secrets = new Set(spec.secrets ?? []);
  const secretValues = [...secrets].flatMap((s) => [raw[s]].flat()).filter((v): v is string => typeof v === 'string' && v !== '');
  const variableOf = new Map(Object.entries(spec.env ?? {}).map(([variable, setting]) => [setting, variable]));
  const flagOf = new Map(Object.entries(spec.flags ?? {}).map(([flag, setting]) => [setting, `--${flag}`]));
  const blame = (setting: string): string => {
    if (input.overrides !== undefined && setting in input.overrides) return setting;
    return fromFlags.get(setting)?.from ?? fromEnv.get(setting)?.from ?? variableOf.get(setting) ?? flagOf.get(setting) ?? setting;
  };
  const issues = parsed.error.issues.map((issue): ConfigIssue => {
    const [head, ...rest] = issue.path;
    const setting = head === undefined ? undefined : String(head);
    let message = issue.message;
    // the value as given, unless the message shows it already (zod's enum message quotes it, a secret-file error names the path;
    // "Expected number, received nan" does not, and a short value like "x" is only by chance a piece of its words)
    const given =
      setting === undefined || rest.length > 0 || secrets.has(setting) || (input.overrides !== undefined && setting in input.overrides)
        ? undefined
        : (fromFlags.get(setting)?.value ?? fromEnv.get(setting)?.value);
    const shown = typeof given === 'string' && (message.includes(`'${given}'`) || message.includes(`"${given}"`) || (given.length >= 4 && message.includes(given)));
    if (typeof given === 'string' && !shown) message += ` (got ${JSON.stringify(given.length > MAX_QUOTED ? `${given.slice(0, MAX_QUOTED)}…` : given)})`;
    for (const secret of secretValues) message = message.split(secret).join('[redacted]');
    // (a message that quotes a value with a line break in it stays on its line)
    message = message.replace(/[\r\n]+/g, ' ');
    if (setting === undefined) return { variable: undefined, at: '', message };
    const variable = blame(setting);
    // a message that names the variable itself (the secret-file and URL errors: "REDIS_URL: …", "X_FILE=path: …") says it once
    if (message.startsWith(`${variable}: `) || message.startsWith(`${variable}=`)) message = message.slice(variable.length + 1).trimStart();
    return { variable, at: rest.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join(''), message };
  });
  throw new ConfigError(spec.name, issues);
}

/**
 * For a bin's start: `load()`'s configuration or, when it throws a ConfigError, the message on
 * stderr and exit code 2 (main() of @hotpath/service gives bad configuration the same code).
 */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
}
