/** The training report: JSON (everything), Markdown (for people) and SVG charts (vega-lite, rendered headless). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Interval, Scores } from './evaluate.ts';
import type { RealEvaluation } from './real.ts';
import { realSection } from './report-real.ts';
import type { Evaluation, Trained } from './train.ts';

export interface Report {
  model: { name: string; version: string; file: string; digest: string; bytes: number };
  data: { source: string; samples: number; devSamples: number; testSamples: number; from: string; to: string; sampleEveryS: number; horizonS: number; gapSamples: number };
  selection: Trained['candidates'];
  chosen: string;
  platt: { a: number; b: number };
  test: Evaluation;
  regimes: Evaluation[];
  /** The real-data evaluation on the given files only (the committed fixture when the shared windows are absent). */
  real: (Evaluation & { files: string[]; source: string; minutes: number }) | null;
  /** Every real window, held out (report-real.ts); null without ../shared. */
  realWindows: RealEvaluation | null;
  /** Net of costs on the held-out span (libs/model economicsSection): markdown and the same figures as JSON. */
  costs: { markdown: string; json: unknown };
  parity: { rows: number; maxAbsReturnBps: number; maxAbsPUp: number };
  ceiling: string | null;
  command: string;
  seconds: number;
}

const pct = (i: Interval): string =>
  i.value === null ? 'n/a' : `${(i.value * 100).toFixed(1)} % [${i.lo === null ? '?' : (i.lo * 100).toFixed(1)}, ${i.hi === null ? '?' : (i.hi * 100).toFixed(1)}]`;
const num = (i: Interval): string => (i.value === null ? 'n/a' : `${i.value.toFixed(3)} [${i.lo?.toFixed(3) ?? '?'}, ${i.hi?.toFixed(3) ?? '?'}]`);
/** σ(a·ŷ + b) with b's sign written once: σ(0.9405·ŷ − 0.0096). */
export const plattText = (p: { a: number; b: number }): string => `σ(${p.a.toFixed(4)}·ŷ ${p.b < 0 ? '−' : '+'} ${Math.abs(p.b).toFixed(4)})`;
const mae = (s: Scores): string => (s.maeBps === null ? 'n/a' : s.maeBps.toFixed(3));

function resultsTable(e: Evaluation): string {
  const rows: [string, Scores, string][] = [
    ['**model**', e.model, ''],
    ['no change', e.noChange, 'never names a direction (a coin flip, 50 %)'],
    ['momentum (last 10 s)', e.momentum, 'predicts the last 10 s return again'],
  ];
  if (e.oracle) rows.push(['oracle (latent fair price)', e.oracle, 'the simulator ceiling: not observable; MAE not comparable']);
  return [
    '| predictor | directional accuracy (non-zero moves) [95 % CI] | balanced accuracy [95 % CI] | MAE (bps) | correlation [95 % CI] | note |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      ([name, s, note]) =>
        `| ${name} | ${pct(s.directionalAccuracy)} (n = ${s.directional}) | ${pct(s.balancedAccuracy)} | ${name.startsWith('oracle') ? '—' : mae(s)} | ${num(s.correlation)} | ${note} |`,
    ),
  ].join('\n');
}

function calibrationTable(e: Evaluation): string {
  return [
    '| confidence | n | mean confidence | hit rate [95 % CI] |',
    '|---|---|---|---|',
    ...e.calibration.map((b) => `| ${b.lo.toFixed(2)}–${b.hi.toFixed(2)} | ${b.n} | ${b.meanConfidence?.toFixed(3) ?? '—'} | ${pct(b.hitRate)} |`),
  ].join('\n');
}

async function svg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

export async function writeReport(dir: string, r: Report, scatter: { predicted: number; realized: number }[]): Promise<void> {
  mkdirSync(join(dir, 'charts'), { recursive: true });
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(r, null, 2)}\n`);
  const calib = r.test.calibration.filter((b) => b.n > 0).map((b) => ({ confidence: b.meanConfidence, hit: b.hitRate.value, lo: b.hitRate.lo, hi: b.hitRate.hi, n: b.n }));
  writeFileSync(
    join(dir, 'charts/calibration.svg'),
    await svg({
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'Calibration on the held-out span: hit rate by confidence',
      width: 360,
      height: 260,
      data: { values: calib },
      layer: [
        {
          mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
          data: { values: [{ x: 0.5, y: 0.5, x2: 0.8, y2: 0.8 }] },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, x2: { field: 'x2' }, y2: { field: 'y2' } },
        },
        {
          mark: 'errorbar',
          encoding: {
            x: { field: 'confidence', type: 'quantitative', scale: { domain: [0.5, 0.8] }, title: 'mean confidence' },
            y: { field: 'lo', type: 'quantitative', scale: { domain: [0.3, 1] }, title: 'hit rate (95 % CI)' },
            y2: { field: 'hi' },
          },
        },
        { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'confidence', type: 'quantitative' }, y: { field: 'hit', type: 'quantitative' } } },
      ],
    } as TopLevelSpec),
  );
  writeFileSync(
    join(dir, 'charts/predicted-vs-realized.svg'),
    await svg({
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'Held-out span: predicted vs realized 10 s return (bps)',
      width: 360,
      height: 300,
      data: { values: scatter },
      mark: { type: 'point', opacity: 0.35, size: 12 },
      encoding: { x: { field: 'predicted', type: 'quantitative', title: 'predicted (bps)' }, y: { field: 'realized', type: 'quantitative', title: 'realized (bps)' } },
    } as TopLevelSpec),
  );
  const md = `# Model report — ${r.model.name} ${r.model.version}

\`${r.model.file}\` (${r.model.bytes} bytes, sha256 ${r.model.digest}). Rebuild: \`${r.command}\` (fixed seeds; ${r.seconds.toFixed(0)} s on a 2-core VM).

## Data

- Source: **${r.data.source}**${r.data.source.startsWith('exchange-sim') ? ' — **simulated** market data (apps/exchange-sim), not real trading data' : ''}.
- ${r.data.samples} samples, one every ${r.data.sampleEveryS} s of event time, ${r.data.from} → ${r.data.to}.
- Features: the live feature set (libs/features), replayed through the aggregator's own processor; a sample sees only events before its time.
- Label: log return of the mid over the next ${r.data.horizonS} s, in bps.
- Development span: ${r.data.devSamples} labelled samples; held out (last 25 %, never used for fitting or selection): ${r.data.testSamples}; gap between them: ${r.data.gapSamples} samples (one horizon), so no training label overlaps the test span.
- Intervals are 95 %; samples every ${r.data.sampleEveryS} s with ${r.data.horizonS} s labels overlap, so intervals use n / ${r.data.gapSamples} effective samples.

## Model selection (walk-forward on the development span)

Expanding window, 4 folds, a one-horizon gap before each validation fold, a standardizer fitted per fold.

| candidate | mean directional accuracy | mean MAE (bps) | per fold |
|---|---|---|---|
${r.selection.map((c) => `| ${c.name === r.chosen ? `**${c.name}**` : c.name} | ${(c.meanDirectionalAccuracy * 100).toFixed(1)} % | ${c.meanMaeBps.toFixed(3)} | ${c.folds.map((f) => `${((f.directionalAccuracy.value ?? 0) * 100).toFixed(1)} %`).join(', ')} |`).join('\n')}

Chosen: **${r.chosen}**. P(up) = ${plattText(r.platt)} (Platt scaling on the out-of-fold predictions).

## Held-out results (${r.test.samples} samples)

${resultsTable(r.test)}
${r.ceiling ? `\n${r.ceiling}\n` : ''}
${r.costs.markdown}

### Calibration

${calibrationTable(r.test)}

![calibration](charts/calibration.svg) ![predicted vs realized](charts/predicted-vs-realized.svg)

### By regime (volatility terciles of realized_vol_bps_60s on the held-out span)

${r.regimes.map((e) => `**${e.label}** (${e.samples} samples)\n\n${resultsTable(e)}`).join('\n\n')}

${
  r.realWindows
    ? realSection(r.realWindows, 'sim')
    : `## Real Binance data (evaluation only)

${r.real ? `**${r.real.source}**: ${r.real.files.length} file(s), ${r.real.minutes.toFixed(1)} minutes, ${r.real.samples} samples. Too short to train on or to judge the model with confidence — read the intervals.\n\n${resultsTable(r.real)}` : 'No real recordings were available.'}
`
}

## Export parity

The ONNX file run in onnxruntime-node on ${r.parity.rows} held-out rows against the TypeScript forward pass: max |Δ return| = ${r.parity.maxAbsReturnBps.toExponential(2)} bps, max |Δ P(up)| = ${r.parity.maxAbsPUp.toExponential(2)}.
`;
  writeFileSync(join(dir, 'report.md'), md);
}
