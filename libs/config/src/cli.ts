/**
 * The one way a command reads its arguments: node:util parseArgs under a usage text. `--help`/`-h`
 * prints the usage on stdout and exits 0; an unknown flag, a flag without its value or an argument
 * the command does not take prints the reason and the usage on stderr and exits 2 — never a stack
 * trace (parseArgs' own TypeError would show one). Settings stay with loadConfig: a command hands it
 * the parsed values as `flags`, so a wrong value is refused naming its --flag, also with exit 2.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export interface CliOption {
  readonly type: 'string' | 'boolean';
  /** One letter: `-p` for `--port`. */
  readonly short?: string;
  /** The flag may be given more than once; its value is then a list. */
  readonly multiple?: boolean;
  /** What it sets, on one line, for the usage's option list. */
  readonly description: string;
  /** The value's placeholder in the option list (`--port <PORT>`); default `<value>`. */
  readonly value?: string;
}

export interface CliSpec<O extends Readonly<Record<string, CliOption>> = Readonly<Record<string, CliOption>>> {
  /** The command as a user types it (`pnpm read:vector`): the usage's first word and the error's prefix. */
  readonly name: string;
  /**
   * What the command does, starting with its synopsis after the name (`[options] [SYMBOL]`) on the
   * first line, then a blank line and the description.
   */
  readonly usage: string;
  /** The flags beside --help. */
  readonly options?: O;
  /** Positional arguments the command takes at most (default 0: an argument it does not take is refused). */
  readonly maxPositionals?: number;
  /** Environment variable → what it sets, for the usage's Environment section. */
  readonly env?: Readonly<Record<string, string>>;
  /** Command lines shown under Example. */
  readonly examples?: readonly string[];
}

export type CliValues<O extends Readonly<Record<string, CliOption>>> = {
  -readonly [K in keyof O]?: O[K]['type'] extends 'boolean' ? (O[K]['multiple'] extends true ? boolean[] : boolean) : O[K]['multiple'] extends true ? string[] : string;
};

export interface CliArgs<O extends Readonly<Record<string, CliOption>>> {
  readonly values: CliValues<O>;
  readonly positionals: string[];
}

/** What parseCliArgs made of an argument list: arguments to run with, a request for help, or a refusal. */
export type CliOutcome<O extends Readonly<Record<string, CliOption>>> =
  | ({ readonly kind: 'run' } & CliArgs<O>)
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly message: string; readonly text: string };

const HELP: CliOption = { type: 'boolean', short: 'h', description: 'print this help and exit' };

/** The usage text: synopsis, description, options, environment, examples. */
export function formatUsage(spec: CliSpec): string {
  const [synopsis = '', ...rest] = spec.usage.trimEnd().split('\n');
  const lines = [`usage: ${spec.name} ${synopsis.trim()}`.trimEnd(), ...rest];
  const options = Object.entries({ ...spec.options, help: HELP });
  const rows = options.map(([flag, o]) => ({ label: `${o.short === undefined ? '    ' : `-${o.short}, `}--${flag}${o.type === 'string' ? ` ${o.value ?? '<value>'}` : ''}`, o }));
  const width = Math.max(...rows.map((r) => r.label.length));
  lines.push('', 'Options:', ...rows.map(({ label, o }) => `  ${label.padEnd(width)}  ${o.description}${o.multiple === true ? ' (repeatable)' : ''}`));
  const env = Object.entries(spec.env ?? {});
  if (env.length > 0) {
    const w = Math.max(...env.map(([v]) => v.length));
    lines.push('', 'Environment:', ...env.map(([v, d]) => `  ${v.padEnd(w)}  ${d}`));
  }
  if (spec.examples !== undefined && spec.examples.length > 0) lines.push('', spec.examples.length === 1 ? 'Example:' : 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/** parseArgs' message without its code and its advice to use `--` (a command's own usage says what it takes). */
function reason(err: unknown): string {
  return (err as Error).message.replace(/\. To specify a positional argument[\s\S]*$/, '').replace(/\n[\s\S]*$/, '');
}

/** `argv` (without node and the script) read by `spec`, without printing or exiting: for tests and for parseCli. */
export function parseCliArgs<O extends Readonly<Record<string, CliOption>>>(spec: CliSpec<O>, argv: readonly string[]): CliOutcome<O> {
  const config: ParseArgsOptionsConfig = { help: { type: 'boolean', short: 'h' } };
  for (const [flag, o] of Object.entries(spec.options ?? {})) {
    config[flag] = { type: o.type, ...(o.short !== undefined ? { short: o.short } : {}), ...(o.multiple === true ? { multiple: true } : {}) };
  }
  // `pnpm x -- --flag` hands the script a leading `--` (npm's habit): it separates nothing here
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const text = formatUsage(spec);
  // help wins over anything else on the line: `cmd --bogus --help` still answers with the usage
  const end = args.indexOf('--');
  if ((end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h')) return { kind: 'help', text };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: config, strict: true, allowPositionals: true });
  } catch (err) {
    return { kind: 'error', message: reason(err), text };
  }
  const max = spec.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    const got = parsed.positionals.map((p) => JSON.stringify(p)).join(' ');
    const message = max === 0 ? `takes no arguments (got ${got})` : `takes at most ${max} argument${max === 1 ? '' : 's'} (got ${parsed.positionals.length}: ${got})`;
    return { kind: 'error', message, text };
  }
  const { help: _help, ...values } = parsed.values;
  return { kind: 'run', values: values as CliValues<O>, positionals: parsed.positionals };
}

export interface CliIo {
  readonly argv?: readonly string[];
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  readonly exit?: (code: number) => never;
}

/**
 * The command's arguments (default process.argv after the script), or — for `--help` — the usage on
 * stdout and exit 0, or — for anything it does not take — `<name>: <reason>` and the usage on stderr
 * and exit 2.
 */
export function parseCli<O extends Readonly<Record<string, CliOption>>>(spec: CliSpec<O>, io: CliIo = {}): CliArgs<O> {
  const outcome = parseCliArgs(spec, io.argv ?? process.argv.slice(2));
  if (outcome.kind === 'run') return { values: outcome.values, positionals: outcome.positionals };
  // (stdout and stderr are synchronous for files and pipes on Linux: the text is out before the exit)
  const exit = io.exit ?? ((code: number): never => process.exit(code));
  if (outcome.kind === 'help') {
    (io.stdout ?? ((t) => process.stdout.write(t)))(outcome.text);
    return exit(0);
  }
  return refuseCli(spec, outcome.message, io);
}

/**
 * For what parseArgs cannot see (a required flag missing, two flags that do not go together): as for an
 * unknown flag, `<name>: <reason>` and the usage on stderr, exit 2.
 */
export function refuseCli(spec: CliSpec, message: string, io: Omit<CliIo, 'argv' | 'stdout'> = {}): never {
  (io.stderr ?? ((t) => process.stderr.write(t)))(`${spec.name}: ${message}\n\n${formatUsage(spec)}`);
  return (io.exit ?? ((code: number): never => process.exit(code)))(2);
}
