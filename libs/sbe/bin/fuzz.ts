/**
 * pnpm fuzz:sbe [frames=1000000] [seed=1]
 * Feeds random and mutated frames to every generated decoder, reading every
 * field through a bounds-checking proxy. Last line: one JSON object.
 */
import { parseArgs } from 'node:util';

// (node:util's parseArgs by hand, not @hotpath/config's parseCli: the codec lib depends on no other package)
const USAGE = `usage: pnpm fuzz:sbe [FRAMES] [SEED]

Feeds FRAMES random and mutated frames (default 1000000; seeded by SEED, default 1) to every generated
decoder, reading every field through a bounds-checking proxy. The last line is one JSON object: crashes,
out-of-bounds reads, reads after a failure, window leaks. Exit 1 when any is not 0. Reads no environment
variables.

Options:
  -h, --help  print this help and exit

Example:
  pnpm fuzz:sbe 200000 7
`;
/** `pnpm fuzz:sbe: <why>` and the usage on stderr, exit 2: a wrong argument is never a stack trace. */
function refuse(why: string): never {
  process.stderr.write(`pnpm fuzz:sbe: ${why}\n\n${USAGE}`);
  process.exit(2);
}
let positionals: string[] = [];
try {
  const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  const parsed = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (parsed.values.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  positionals = parsed.positionals;
} catch (err) {
  // (without parseArgs' advice about `--`: this command takes no argument that starts with one)
  refuse((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
}
if (positionals.length > 2) refuse(`takes at most 2 arguments (got ${positionals.length})`);
const [frames, seed] = [Number(positionals[0] ?? 1_000_000), Number(positionals[1] ?? 1)];
if (!Number.isSafeInteger(frames) || frames < 1) refuse(`FRAMES: a whole number ≥ 1 (got ${JSON.stringify(positionals[0])})`);
if (!Number.isSafeInteger(seed)) refuse(`SEED: a whole number (got ${JSON.stringify(positionals[1])})`);
// (loaded after the arguments: --help answers without loading the decoders)
const { runFuzz } = await import('../test/support/fuzz-harness.ts');
const started = process.hrtime.bigint();
const report = runFuzz(frames, seed);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ bench: 'sbe-fuzz', ...report, seconds: Number(seconds.toFixed(2)) }));
process.exit(report.crashes === 0 && report.outOfBoundsReads === 0 && report.readsAfterFailure === 0 && report.windowLeaks === 0 ? 0 : 1);
