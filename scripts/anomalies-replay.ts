/**
 * pnpm anomalies:replay — every real recording window in ../shared/data/real (libs/recordings REAL_WINDOWS)
 * replayed as live inference would see it every 2 s, through the anomaly detector with its default thresholds
 * (docs/anomalies.md): per window a markdown table of the anomaly events (rising edge, kind, value, threshold,
 * how long it stayed on, its peak), then one JSON line with the counts. Without the share it says so and exits 1.
 */
import { ANOMALY_KINDS, DEFAULT_ANOMALY_CONFIG } from '@hotpath/anomaly';
import { parseCli } from '@hotpath/config';
import { presentRealWindows, sharedRealDataDir } from '@hotpath/recordings';
import { replayAnomalies, type Replay } from '../libs/anomaly/test/support/replay.ts';

const { values: args } = parseCli({
  name: 'pnpm anomalies:replay',
  usage: `[options]

Replays every real recording window (../shared/data/real, SOURCES.md there) as live inference sees it every 2 s,
through the anomaly detector with its default thresholds (docs/anomalies.md): a markdown table of the anomaly
events per window, then one JSON line with the counts.`,
  options: {
    data: { type: 'string', value: '<DIR>', description: 'the share holding hftbacktest/ (default ../shared/data/real beside the repository)' },
    window: { type: 'string', value: '<ID>', description: 'only this window (e.g. spot-2024-08-08; default: every window with a depth snapshot)' },
  },
  examples: ['pnpm anomalies:replay --window usdm-2024-07-18'],
});

const dir = args.data ?? sharedRealDataDir();
const present = presentRealWindows(dir).filter((w) => args.window === undefined || w.window.id === args.window);
const windows = present.filter((w) => w.window.snapshot);
// (its book cannot be built: the snapshot it needs was in a day file the source never had)
for (const w of present.filter((w) => !w.window.snapshot)) console.log(`_${w.window.id}: left out, no depth snapshot to start its book from_\n`);
if (windows.length === 0) {
  console.error(`no real recording window${args.window ? ` "${args.window}"` : ''} with a depth snapshot under ${dir ?? '../shared/data/real (absent)'}/hftbacktest`);
  process.exit(1);
}

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4));

/** The window's table: one row per event (rising edge). */
function table(r: Replay): string {
  if (r.events.length === 0) return '_none fired_\n';
  const rows = r.events.map((e) => `| ${iso(e.tickMs)} | ${e.kind} | ${num(e.value)} | ${num(e.threshold)} | ${e.ticks * 2} s | ${num(e.peak)} |`);
  return ['| time (UTC, exchange) | kind | value | threshold | on for | peak |', '|---|---|---|---|---|---|', ...rows, ''].join('\n');
}

const summary: Record<string, unknown> = { bench: 'anomalies-replay', thresholds: { ...DEFAULT_ANOMALY_CONFIG, kinds: undefined } };
const perWindow: Record<string, unknown>[] = [];
for (const w of windows) {
  const r = replayAnomalies(w.paths, w.window.symbol);
  const first = r.ticks[0]?.tickMs ?? 0;
  const last = r.ticks.at(-1)?.tickMs ?? 0;
  console.log(`### ${w.window.id} (${w.window.symbol}, ${iso(first)} → ${iso(last)} UTC, ${r.ticks.length} ticks; thresholds judge from tick ${DEFAULT_ANOMALY_CONFIG.warmup + 1})\n`);
  console.log(table(r));
  const byKind = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, r.events.filter((e) => e.kind === k).length]));
  const refused = Object.values(r.detector.problems).reduce((a, p) => a + p.non_finite + p.out_of_range, 0);
  perWindow.push({ window: w.window.id, ticks: r.ticks.length, events: r.events.length, byKind, refused_inputs: refused });
}
summary.windows = perWindow;
summary.ticks = perWindow.reduce((a, w) => a + (w.ticks as number), 0);
summary.events = perWindow.reduce((a, w) => a + (w.events as number), 0);
console.log(JSON.stringify(summary));
