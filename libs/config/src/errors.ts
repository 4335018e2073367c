/**
 * The one error every app's configuration ends in when a setting is refused
 * (loadConfig throws it; a bin prints its message and exits with code 2).
 * Its lines name what the operator sets — an environment variable or a
 * --flag — never a secret value.
 */

/** Every ConfigError code (docs/errors.md lists each lib's codes). */
export const CONFIG_ERROR_CODES = ['invalid_config'] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** One refused setting. */
export interface ConfigIssue {
  /**
   * What to change: the environment variable (INFERENCE_PORT) or flag (--port) that gave the value,
   * else the variable that would give it; the setting's own name only for a setting neither names
   * (a programmatic override). Undefined for a rule over the whole configuration.
   */
  readonly variable: string | undefined;
  /** Where inside a structured value (SIM_FAULTS `[0].fault.type`); empty for the value itself. */
  readonly at: string;
  /** Why, on one line, with no secret in it. */
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode = 'invalid_config';
  /** The variables (or --flags) blamed, each once, in the order of the message's lines. */
  readonly variables: readonly string[];

  constructor(
    /** Whose configuration: the first line reads "invalid <subject> configuration:". */
    readonly subject: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(`invalid ${subject} configuration:\n  ${issues.map((i) => (i.variable === undefined ? i.message : `${i.variable}${i.at}: ${i.message}`)).join('\n  ')}`);
    this.variables = [...new Set(issues.flatMap((i) => (i.variable === undefined ? [] : [i.variable])))];
  }
}
