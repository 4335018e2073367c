/**
 * `pnpm train -- --source real`: a model trained on every real window with a
 * snapshot, judged honestly — the per-window held-out table comes from
 * leave-one-group-out (real.ts), beside the shipped simulator-trained model
 * and the baselines — then refitted on all windows and exported like any
 * other model, with the verdict on the live Binance default in its metadata
 * and report.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { MARKET_PROFILE_NAMES } from '@hotpath/market';
import { OnnxModel } from '@hotpath/model';
import { exportModel } from './export.ts';
import { marketStats, type MarketStats } from './market-stats.ts';
import { dataset } from './pipeline.ts';
import { Progress } from './progress.ts';
import { evaluateReal, fitRealModel, loadRealWindows, type FittedModel, type Prediction, type RealEvaluation } from './real.ts';
import { plattText } from './report.ts';
import { realEvaluationFigures, realSection } from './report-real.ts';
import { simSource } from './sources.ts';

export interface RealPipelineOptions {
  seed: number;
  out: string;
  name: string;
  version: string;
  /** The simulator-trained model to compare with (the shipped one). */
  simModel: string;
  /** Simulated minutes for the simulator's statistics beside the real ones. */
  simMinutes: number;
  command: string;
  /** The share holding hftbacktest/ (default ../shared/data/real beside the repository; tests pass a temp share). */
  dataDir?: string;
  /** Fewest labelled training samples a fold and the final refit may have (default 100; tests on the short fixtures lower it). */
  minTrainSamples?: number;
}

export interface RealReport {
  model: { name: string; version: string; file: string; digest: string; bytes: number; chosen: string; platt: { a: number; b: number } };
  /** Inner leave-one-group-out over all windows, for the final refit. */
  selection: FittedModel['selection'];
  evaluation: RealEvaluation;
  /** What the live page shows for Binance mode (another model is not served by this file). */
  liveBinance: RealEvaluation['verdict'] & { modelDir: string };
  parity: { rows: number; maxAbsReturnBps: number; maxAbsPUp: number };
  simModel: string;
  command: string;
  seconds: number;
}

/** The shipped model's predictions, as inference computes them (the ONNX file in onnxruntime). */
async function onnxPredictor(path: string): Promise<(X: Float64Array[]) => Promise<Prediction>> {
  const model = await OnnxModel.fromBytes(readFileSync(path), { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES });
  return async (X) => {
    const out: Prediction = { ret: [], pUp: [] };
    for (const x of X) {
      const r = await model.run(x);
      out.ret.push(r.returnBps);
      out.pUp.push(r.pUp);
    }
    return out;
  };
}

export async function runRealPipeline(o: RealPipelineOptions): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const loaded = loadRealWindows(o.dataDir);
  if (loaded.windows.length === 0)
    throw new RangeError(
      `no real windows with a snapshot in ${o.dataDir ?? '../shared/data/real'}/hftbacktest${loaded.skipped.length ? ` (left out: ${loaded.skipped.map((s) => s.id).join(', ')})` : ''}`,
    );
  // the simulator's market beside the real ones, for each profile (libs/market profiles.ts)
  const simStats: MarketStats[] = MARKET_PROFILE_NAMES.map((profile) =>
    marketStats(`simulator, profile ${profile} (seed ${o.seed}, ${o.simMinutes} simulated min)`, [
      dataset(simSource(o.seed, o.simMinutes, 'BTCUSDT', 2_000_000, { profile }), 'BTCUSDT', `simulator statistics (${profile})`),
    ]),
  );
  const bar = new Progress('leave-one-group-out');
  const evaluation = await evaluateReal(loaded, { seed: o.seed, simPredict: await onnxPredictor(o.simModel), simStats, onStep: (s) => bar.update(0.5, s), minTrainSamples: o.minTrainSamples });
  bar.done(evaluation.verdict.defaultModel);

  const final = fitRealModel(loaded.windows, o.seed, undefined, o.minTrainSamples);
  const rows = loaded.windows.flatMap((w) => w.d.X.filter((_, i) => Number.isFinite(w.d.y[i]!)));
  const times = loaded.windows.flatMap((w) => w.d.times);
  const iso = (us: number) => new Date(us / 1000).toISOString();
  const minutes = loaded.windows.reduce((a, w) => a + w.minutes, 0);
  const exported = await exportModel(
    o.out,
    {
      name: o.name,
      version: o.version,
      horizonS: evaluation.horizonS,
      trainedFrom: iso(Math.min(...times)),
      trainedTo: iso(Math.max(...times)),
      dataSource: `real Binance BTC recordings: ${loaded.windows.map((w) => w.window.id).join(', ')} (${minutes.toFixed(1)} min)`,
      evaluation: realEvaluationFigures(evaluation, 'real'),
      ...final,
    },
    rows,
  );
  const report: RealReport = {
    model: { name: o.name, version: o.version, file: 'model.onnx', digest: exported.digest, bytes: exported.bytes.length, chosen: final.chosen, platt: final.platt },
    selection: final.selection,
    evaluation,
    liveBinance: { ...evaluation.verdict, modelDir: evaluation.verdict.defaultModel === 'real' ? 'models/btcusdt-10s-real' : 'models/btcusdt-10s' },
    parity: exported.parity,
    simModel: o.simModel.split('/').slice(-2).join('/'),
    command: o.command,
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(join(o.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(o.out, 'report.md'), markdown(report, minutes));
  const pooled = evaluation.pooled;
  return {
    bench: 'train-real',
    model: final.chosen,
    windows: evaluation.windows.length,
    samples: pooled.real.n,
    real_balanced_acc: pooled.real.balancedAccuracy.value,
    sim_balanced_acc: pooled.sim.balancedAccuracy.value,
    imbalance_balanced_acc: pooled.imbalance.balancedAccuracy.value,
    live_default: evaluation.verdict.defaultModel,
    beats_baselines: evaluation.verdict.beatsBaselines,
    hours_for_55: Math.round(evaluation.power.hours * 10) / 10,
    parity_max_abs: Math.max(exported.parity.maxAbsReturnBps, exported.parity.maxAbsPUp),
    seconds: Math.round(report.seconds * 10) / 10,
  };
}

function markdown(r: RealReport, minutes: number): string {
  const e = r.evaluation;
  return `# Model report — ${r.model.name} ${r.model.version} (real data)

\`${r.model.file}\` (${r.model.bytes} bytes, sha256 ${r.model.digest}). Rebuild: \`${r.command}\` (fixed seeds; ${r.seconds.toFixed(0)} s on a 2-core VM).

Trained on **real Binance data**: ${e.windows.length} windows, ${minutes.toFixed(1)} minutes in all (${e.windows.map((w) => w.id).join(', ')}), replayed through the aggregator's own processor and feature code. Its held-out figures below are leave-one-group-out: each window is scored by a model trained without its group. The file itself is the same procedure refitted on every window: **${r.model.chosen}** (chosen by inner leave-one-group-out balanced accuracy), P(up) = ${plattText(r.model.platt)} fitted on its out-of-group predictions. Compared with the simulator-trained model \`${r.simModel}\` as inference runs it (ONNX).

| candidate (final refit selection) | mean balanced accuracy, leave-one-group-out | mean MAE (bps) |
|---|---|---|
${r.selection.map((c) => `| ${c.name === r.model.chosen ? `**${c.name}**` : c.name} | ${(c.meanBalancedAccuracy * 100).toFixed(1)} % | ${c.meanMaeBps.toFixed(3)} |`).join('\n')}

${realSection(e, 'real')}
## Export parity

The ONNX file run in onnxruntime-node on ${r.parity.rows} rows against the TypeScript forward pass: max |Δ return| = ${r.parity.maxAbsReturnBps.toExponential(2)} bps, max |Δ P(up)| = ${r.parity.maxAbsPUp.toExponential(2)}.
`;
}
