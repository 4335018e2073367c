/**
 * Before/after for a refactor: the same benches run from two checkouts of this
 * repository, alternately (A B, then B A, ...) so that a machine that gets
 * busier or quieter during the run weighs on both sides alike, and every
 * figure of each bench's last JSON line is reported as after/before of the
 * medians. These machines differ 2x from day to day; only ratios measured in
 * one run mean anything.
 *
 *   pnpm bench:ab --before ../before --after . [--bench sbe,sim,aggregate] [--rounds 3]
 *
 * The last line is one JSON object: per bench, per figure, before and after
 * medians and their ratio.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { type CliSpec, parseCli, refuseCli } from '@hotpath/config';

const BENCH_DEADLINE_MS = 15 * 60_000;

type Figures = Map<string, number>;

const CLI = {
  name: 'pnpm bench:ab',
  usage: `--before <checkout> --after <checkout> [--bench sbe,sim,ingest,aggregate,inference] [--rounds 3]

Runs the same benches from two checkouts of this repository alternately (A B, then B A, ...) and reports
every figure of each bench's last JSON line as after/before of the medians; the last line is one JSON
object. Each bench is \`pnpm --silent bench:<name>\` in its checkout, with this environment (BENCH_* settings
reach both sides alike).`,
  options: {
    before: { type: 'string', value: '<checkout>', description: 'the checkout before the change (required)' },
    after: { type: 'string', value: '<checkout>', description: 'the checkout after the change (required)' },
    bench: { type: 'string', value: '<list>', description: 'benches to run, comma-separated (default sbe,sim,ingest,aggregate,inference)' },
    rounds: { type: 'string', value: '<n>', description: 'rounds per bench, each running both sides (default 3)' },
  },
  examples: ['git worktree add ../before HEAD~1 && pnpm bench:ab --before ../before --after . --bench sbe --rounds 5'],
} as const satisfies CliSpec;

function parse(): { before: string; after: string; benches: string[]; rounds: number } {
  const { values } = parseCli(CLI);
  const rounds = Number(values.rounds ?? '3');
  const problem =
    values.before === undefined || values.after === undefined
      ? '--before and --after are required'
      : !Number.isInteger(rounds) || rounds < 1
        ? `--rounds: a whole number ≥ 1 (got ${JSON.stringify(values.rounds)})`
        : undefined;
  if (problem !== undefined || values.before === undefined || values.after === undefined) refuseCli(CLI, problem ?? '');
  return { before: resolve(values.before), after: resolve(values.after), benches: (values.bench ?? 'sbe,sim,ingest,aggregate,inference').split(',').filter(Boolean), rounds };
}

/** Every numeric leaf of a bench's JSON line, keyed by path; array items are named by their `kind` (or index). */
export function flatten(value: unknown, prefix = '', out: Figures = new Map()): Figures {
  if (typeof value === 'number' && Number.isFinite(value)) out.set(prefix, value);
  else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const name = item !== null && typeof item === 'object' && typeof (item as { kind?: unknown }).kind === 'string' ? (item as { kind: string }).kind : String(i);
      flatten(item, prefix === '' ? name : `${prefix}.${name}`, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  }
  return out;
}

function runBench(checkout: string, bench: string): Figures {
  const r = spawnSync('pnpm', ['--silent', `bench:${bench}`], { cwd: checkout, encoding: 'utf8', timeout: BENCH_DEADLINE_MS, maxBuffer: 64 * 1024 * 1024 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    throw new Error(`bench:${bench} in ${checkout} failed (status ${r.status}, ${r.error?.message ?? 'no spawn error'}): ${r.stderr.slice(-2000)}`);
  }
  return flatten(JSON.parse(last));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function main(): void {
  const { before, after, benches, rounds } = parse();
  const result: Record<string, Record<string, { before: number; after: number; ratio: number }>> = {};
  for (const bench of benches) {
    const runs = { before: [] as Figures[], after: [] as Figures[] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
      for (const side of order) {
        runs[side].push(runBench(side === 'before' ? before : after, bench));
        process.stderr.write(`bench:${bench} round ${round + 1}/${rounds} ${side} done\n`);
      }
    }
    const figures: Record<string, { before: number; after: number; ratio: number }> = {};
    for (const key of runs.before[0]!.keys()) {
      const b = runs.before.map((f) => f.get(key)).filter((v) => v !== undefined);
      const a = runs.after.map((f) => f.get(key)).filter((v) => v !== undefined);
      if (b.length === 0 || a.length === 0) continue;
      const mb = median(b);
      const ma = median(a);
      figures[key] = { before: mb, after: ma, ratio: mb === 0 ? (ma === 0 ? 1 : Number.POSITIVE_INFINITY) : Math.round((ma / mb) * 1000) / 1000 };
      process.stdout.write(`${bench}\t${key}\tbefore ${mb}\tafter ${ma}\tafter/before ${figures[key]!.ratio}\n`);
    }
    result[bench] = figures;
  }
  process.stdout.write(`${JSON.stringify({ bench: 'ab', before, after, rounds, result })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
