/**
 * What a child sees of the launcher's environment: an allowlist, never a copy. The launcher's
 * shell can hold the Binance key, AWS credentials, a Redis password and whatever else the user
 * exported; a service gets what any process needs to run, the variables of its own config
 * (by prefix, so `AGGREGATOR_FETCH=inline pnpm start` still reaches the aggregator), and what
 * the launcher sets for it — so a secret reaches only the one service whose config names it.
 */

/** Needed by any Node process here; none of them carries a credential. */
const BASE: readonly string[] = [
  'PATH',
  'HOME',
  'TMPDIR',
  'TZ',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'NODE_ENV',
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'NODE_V8_COVERAGE',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NO_COLOR',
  'FORCE_COLOR',
];

/** Only for services that leave this machine (Binance, AWS): a proxy URL may carry its own credentials. */
export const PROXY_VARIABLES: readonly string[] = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/** `NAME` matches that variable, `PREFIX_*` every variable starting with `PREFIX_`. */
function matches(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/**
 * The environment of one child: BASE and the `inherits` patterns taken from `parent`, then
 * `set` on top (a value `undefined` removes the variable even when `parent` has it).
 */
export function childEnv(parent: NodeJS.ProcessEnv, inherits: readonly string[], set: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && (BASE.includes(name) || inherits.some((p) => matches(p, name)))) env[name] = value;
  }
  for (const [name, value] of Object.entries(set)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}
