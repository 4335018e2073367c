import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CliSpec, formatUsage, parseCli, parseCliArgs } from '@hotpath/config';

const SPEC = {
  name: 'pnpm tool',
  usage: '[options] [SYMBOL]\n\nPrints a thing.',
  options: {
    'redis-url': { type: 'string', value: '<URL>', description: 'the Redis to read' },
    port: { type: 'string', short: 'p', description: 'a port' },
    verbose: { type: 'boolean', short: 'v', description: 'say more' },
    tag: { type: 'string', multiple: true, description: 'a tag' },
  },
  maxPositionals: 1,
  env: { REDIS_URL: 'the Redis to read', KINESIS_STREAM: 'the stream' },
  examples: ['pnpm tool ETHUSDT'],
} as const satisfies CliSpec;

/** What an exit would have been, thrown so the code after it does not run (as after process.exit). */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
const exit = (code: number): never => {
  throw new Exit(code);
};
/** parseCli's exit code and what it printed for `argv`. */
function run(argv: string[], spec: CliSpec = SPEC): { code: number | undefined; out: string; err: string } {
  let out = '';
  let err = '';
  try {
    parseCli(spec, { argv, stdout: (t) => (out += t), stderr: (t) => (err += t), exit });
    return { code: undefined, out, err };
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    return { code: e.code, out, err };
  }
}

afterEach(() => vi.restoreAllMocks());

describe('parseCli', () => {
  it('returns typed values and positionals', () => {
    const out = parseCliArgs(SPEC, ['--redis-url', 'redis://x:1', '-v', 'ETHUSDT', '--tag', 'a', '--tag=b', '-p', '7']);
    expect(out).toEqual({ kind: 'run', values: { 'redis-url': 'redis://x:1', verbose: true, tag: ['a', 'b'], port: '7' }, positionals: ['ETHUSDT'] });
    expect(run([]).code).toBeUndefined();
  });

  it('--help and -h print the usage on stdout and exit 0, whatever else is on the line', () => {
    for (const argv of [['--help'], ['-h'], ['--', '--help'], ['--bogus', '-h'], ['--port', '--help']]) {
      const r = run(argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toBe(formatUsage(SPEC));
    }
    // after a `--` that is not the first argument it is an argument, not a flag
    expect(run(['x', '--', '--help']).code).toBe(2);
  });

  it('the usage says what it does, its flags, its environment and an example', () => {
    const text = formatUsage(SPEC);
    expect(text.split('\n')[0]).toBe('usage: pnpm tool [options] [SYMBOL]');
    expect(text).toContain('Prints a thing.');
    expect(text).toMatch(/ {6}--redis-url <URL> {2}the Redis to read/);
    expect(text).toMatch(/-p, --port <value> +a port/);
    expect(text).toMatch(/-v, --verbose +say more/);
    expect(text).toMatch(/--tag <value> +a tag \(repeatable\)/);
    expect(text).toMatch(/-h, --help +print this help and exit/);
    expect(text).toMatch(/Environment:\n {2}REDIS_URL {7}the Redis to read\n {2}KINESIS_STREAM {2}the stream/);
    expect(text).toMatch(/Example:\n {2}pnpm tool ETHUSDT\n$/);
    const bare = formatUsage({ name: 'svc', usage: '' });
    expect(bare).toBe('usage: svc\n\nOptions:\n  -h, --help  print this help and exit\n');
    expect(formatUsage({ name: 'svc', usage: 'x', examples: ['a', 'b'] })).toContain('Examples:\n  a\n  b\n');
    expect(formatUsage({ name: 'svc', usage: '\n\nDoes a thing.' })).toMatch(/^usage: svc\n\nDoes a thing.\n\nOptions:/);
  });

  it('an unknown flag, a missing value or an extra argument: the reason and the usage on stderr, exit 2, no stack', () => {
    const cases: [string[], RegExp][] = [
      [['--no-such-flag'], /^pnpm tool: Unknown option '--no-such-flag'\n\nusage: pnpm tool/],
      [['-x'], /^pnpm tool: Unknown option '-x'\n/],
      [['--redis-url'], /^pnpm tool: Option '--redis-url <value>' argument missing\n/],
      [['--verbose=yes'], /^pnpm tool: Option '-v, --verbose' does not take an argument\n/],
      [['A', 'B'], /^pnpm tool: takes at most 1 argument \(got 2: "A" "B"\)\n/],
    ];
    for (const [argv, pattern] of cases) {
      const r = run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(pattern);
      expect(r.err).toContain(formatUsage(SPEC));
      expect(r.err).not.toMatch(/^\s+at /m);
    }
    expect(run(['a', 'b'], { ...SPEC, maxPositionals: 2 }).code).toBeUndefined();
    expect(run(['a', 'b', 'c'], { ...SPEC, maxPositionals: 2 }).err).toMatch(/takes at most 2 arguments \(got 3: "a" "b" "c"\)/);
    expect(run(['a'], { name: 'svc', usage: '' }).err).toMatch(/^svc: takes no arguments \(got "a"\)\n/);
  });

  it('by default reads process.argv, writes to the process streams and exits the process', () => {
    const argv = process.argv;
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    vi.spyOn(process, 'exit').mockImplementation((code) => exit(Number(code)));
    try {
      process.argv = ['node', 'tool.ts', '--help'];
      expect(() => parseCli(SPEC)).toThrow(new Exit(0));
      expect(stdout).toHaveBeenCalledWith(formatUsage(SPEC));
      process.argv = ['node', 'tool.ts', '--nope'];
      expect(() => parseCli(SPEC)).toThrow(new Exit(2));
      expect(stderr).toHaveBeenCalledWith(`pnpm tool: Unknown option '--nope'\n\n${formatUsage(SPEC)}`);
      process.argv = ['node', 'tool.ts', 'BTCUSDT'];
      expect(parseCli(SPEC).positionals).toEqual(['BTCUSDT']);
    } finally {
      process.argv = argv;
    }
  });
});
