/**
 * Coverage per package from the last `pnpm test` (.reports/coverage/coverage-summary.json):
 * prints a table (lines/branches per app and lib, for notes) and, with --floors, the
 * COVERAGE_THRESHOLDS object for coverage/thresholds.ts (each figure rounded down).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

type Metric = 'lines' | 'branches' | 'functions' | 'statements';
const METRICS: Metric[] = ['lines', 'branches', 'functions', 'statements'];
type Summary = Record<string, Record<Metric, { total: number; covered: number }>>;

const summary = JSON.parse(readFileSync('.reports/coverage/coverage-summary.json', 'utf8')) as Summary;
const packages = new Map<string, Record<Metric, { total: number; covered: number }>>();
for (const [file, m] of Object.entries(summary)) {
  if (file === 'total') continue;
  const match = /^(apps|libs)\/([^/]+)\//.exec(relative(process.cwd(), file));
  if (match === null) continue;
  const key = `${match[1]}/${match[2]}/src/**`;
  const p = packages.get(key) ?? { lines: { total: 0, covered: 0 }, branches: { total: 0, covered: 0 }, functions: { total: 0, covered: 0 }, statements: { total: 0, covered: 0 } };
  for (const k of METRICS) {
    p[k].total += m[k].total;
    p[k].covered += m[k].covered;
  }
  packages.set(key, p);
}
const pct = (x: { total: number; covered: number }): number => (x.total === 0 ? 100 : (100 * x.covered) / x.total);
const rows = [...packages].sort(([a], [b]) => a.localeCompare(b));
if (process.argv.includes('--floors')) {
  const floors = Object.fromEntries(rows.map(([k, p]) => [k, Object.fromEntries(METRICS.map((m) => [m, Math.floor(pct(p[m]))]))]));
  console.log(JSON.stringify(floors, null, 2));
} else {
  for (const [k, p] of rows) console.log(`${k.replace('/src/**', '').padEnd(20)} lines ${pct(p.lines).toFixed(1).padStart(5)} %  branches ${pct(p.branches).toFixed(1).padStart(5)} %`);
  console.log(JSON.stringify({ coverage: Object.fromEntries(rows.map(([k, p]) => [k.replace('/src/**', ''), { lines: +pct(p.lines).toFixed(1), branches: +pct(p.branches).toFixed(1) }])) }));
}
