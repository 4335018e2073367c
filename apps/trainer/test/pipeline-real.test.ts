/**
 * `pnpm train -- --source real` end to end on the committed excerpts only (a
 * temp share, test/real-share.ts): the leave-one-group-out table, the refit
 * exported as ONNX with the verdict in its metadata, the report it writes,
 * and the refusal when no window has a snapshot to start its book from.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { OnnxModel } from '@hotpath/model';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.ts';
import { type RealPipelineOptions, type RealReport, runRealPipeline } from '../src/pipeline-real.ts';
import { simSource } from '../src/sources.ts';
import { fixtureShare } from './real-share.ts';

const SIM_MODEL = new URL('../../../models/btcusdt-10s/model.onnx', import.meta.url).pathname;

function options(dataDir: string, out: string): RealPipelineOptions {
  return { seed: 3, out, name: 'real-test', version: 'r1', simModel: SIM_MODEL, simMinutes: 0.5, command: 'pnpm train -- --source real (test)', dataDir, minTrainSamples: 3 };
}

describe('the real-data pipeline on the committed excerpts', () => {
  it('writes the model, its metadata verdict and a report with every window, pooled intervals and the net-of-costs section', async () => {
    const out = mkdtempSync(join(tmpdir(), 'train-real-'));
    const summary = await runRealPipeline(options(fixtureShare(), out));
    const ids = ['spot-2024-08-08', 'coinm-2024-08-08', 'usdm-2023-04-04'];
    expect(summary).toMatchObject({ bench: 'train-real', windows: 3 });

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as RealReport;
    expect(report.evaluation.windows.map((w) => w.id)).toEqual(ids);
    expect(report.evaluation.skipped.map((s) => s.id)).toEqual(['spot-2023-04-05']);
    // pooled over the held-out windows: every sample counted once, with an interval around each balanced accuracy
    expect(report.evaluation.pooled.real.n).toBe(report.evaluation.windows.reduce((a, w) => a + w.samples, 0));
    expect(summary['samples']).toBe(report.evaluation.pooled.real.n);
    for (const p of ['real', 'sim', 'imbalance'] as const) {
      const b = report.evaluation.pooled[p].balancedAccuracy;
      if (b.value === null) continue;
      expect(b.lo!).toBeLessThanOrEqual(b.value);
      expect(b.hi!).toBeGreaterThanOrEqual(b.value);
    }
    // two groups: the final refit chose among the candidates by inner leave-one-group-out
    expect(report.selection.length).toBeGreaterThan(1);
    expect(report.selection.map((c) => c.name)).toContain(report.model.chosen);
    expect(report.liveBinance.modelDir).toBe(report.liveBinance.defaultModel === 'real' ? 'models/btcusdt-10s-real' : 'models/btcusdt-10s');
    expect(report.simModel).toBe('btcusdt-10s/model.onnx');
    // the exported file runs as inference runs it, and matches the TypeScript forward pass
    expect(report.parity.rows).toBeGreaterThan(0);
    expect(Math.max(report.parity.maxAbsReturnBps, report.parity.maxAbsPUp)).toBeLessThan(1e-3);

    const bytes = readFileSync(join(out, 'model.onnx'));
    expect(bytes.length).toBe(report.model.bytes);
    const model = await OnnxModel.fromBytes(bytes, { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES });
    try {
      const m = model.metadata;
      expect(m).toMatchObject({ name: 'real-test', version: 'r1', horizonS: report.evaluation.horizonS });
      expect(m.dataSource).toMatch(new RegExp(`^real Binance BTC recordings: ${ids.join(', ')} \\(\\d+\\.\\d min\\)$`));
      expect(Date.parse(m.trainedFrom)).toBeLessThan(Date.parse(m.trainedTo));
      const ev = m.evaluation;
      expect(ev['real_windows']).toBe(3);
      expect(ev['real_beats_baselines']).toBe(report.liveBinance.defaultModel === 'real' && report.liveBinance.beatsBaselines ? 1 : 0);
      expect(ev['real_live_default']).toBe(report.liveBinance.defaultModel === 'real' ? 1 : 0);
      expect(ev['real_balanced_acc']).toBe(report.evaluation.pooled.real.balancedAccuracy.value ?? undefined);
      expect(summary['real_balanced_acc']).toBe(report.evaluation.pooled.real.balancedAccuracy.value);
      expect(ev['real_best_baseline_balanced_acc']).toBe(report.evaluation.pooled[report.liveBinance.bestBaseline].balancedAccuracy.value ?? undefined);
    } finally {
      await model.release();
    }

    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/^# Model report — real-test r1 \(real data\)/);
    expect(md).toContain(`sha256 ${report.model.digest}`);
    expect(md).toContain(`**${report.model.chosen}**`);
    for (const id of ids) expect(md.match(new RegExp(`^\\| ${id} \\|`, 'gm'))!.length).toBeGreaterThanOrEqual(2);
    expect(md).toContain('**spot-2023-04-05**: left out — no REST depth snapshot');
    expect(md).toContain('### Net of costs (pooled held-out real windows)');
    expect(md).toContain(report.liveBinance.statement);
    expect(md).toContain(`on ${report.parity.rows} rows`);
  });

  it('refuses when no present window has a snapshot, naming the window left out, and writes nothing', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'train-real-')), 'model');
    await expect(runRealPipeline(options(fixtureShare(['spot-2023-04-05']), out))).rejects.toThrow(/no real windows with a snapshot .*left out: spot-2023-04-05/);
    expect(() => readFileSync(join(out, 'report.json'))).toThrow(/ENOENT/);
  });
});

describe('the simulator pipeline judged on the real windows', () => {
  it("real: 'windows' scores the simulator-trained model leave-one-group-out on every window and puts the verdict in its metadata and report", async () => {
    const out = mkdtempSync(join(tmpdir(), 'train-sim-real-'));
    const realWindows = { dir: fixtureShare(), minTrainSamples: 3 };
    const summary = await runPipeline({
      source: simSource(5, 15),
      seed: 5,
      out,
      name: 'sim-real-test',
      version: 's1',
      real: 'windows',
      realFiles: [],
      realSource: 'committed excerpts',
      command: 'test',
      realWindows,
    });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { realWindows: RealReport['evaluation'] };
    const e = report.realWindows;
    expect(e.windows.map((w) => w.id)).toEqual(['spot-2024-08-08', 'coinm-2024-08-08', 'usdm-2023-04-04']);
    // the summary's real figures are the simulator model's, pooled over the held-out windows
    expect(summary.real_samples).toBe(e.pooled.sim.n);
    expect(summary.real_samples).toBe(e.windows.reduce((a, w) => a + w.samples, 0));
    expect(summary.real_balanced_acc).toBe(e.pooled.sim.balancedAccuracy.value);
    // the simulator's own statistics beside the real windows'
    expect(e.stats.map((s) => s.label)).toContain('all real windows');
    expect(e.stats.some((s) => s.label.startsWith('simulator ('))).toBe(true);
    const model = await OnnxModel.fromFile(join(out, 'model.onnx'), { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES });
    try {
      const ev = model.metadata.evaluation;
      expect(ev['real_windows']).toBe(3);
      expect(ev['real_live_default']).toBe(e.verdict.defaultModel === 'sim' ? 1 : 0);
      expect(ev['real_beats_baselines']).toBe(e.verdict.defaultModel === 'sim' && e.verdict.beatsBaselines ? 1 : 0);
    } finally {
      await model.release();
    }
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(e.verdict.statement);
    expect(md).toContain('### Net of costs (pooled held-out real windows)');
    expect(md).toContain('**spot-2023-04-05**: left out — no REST depth snapshot');
  });
});
