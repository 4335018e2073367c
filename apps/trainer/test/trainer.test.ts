import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { Rng } from '@hotpath/market';
import { buildModel, exampleModelSpec, forward, OnnxModel } from '@hotpath/model';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording } from '@hotpath/recordings';
import { BinanceJsonTranscoder, hotpath } from '@hotpath/sbe';
import { buildDataset } from '../src/dataset.ts';
import { fitStandardizer, mlp, platt, ridge, standardizeRows, upHead } from '../src/learners.ts';
import { runPipeline } from '../src/pipeline.ts';
import { archiveSource, captureSource, recordingSource, simSource } from '../src/sources.ts';

const live = { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES };
const fixtureEnvelopes = (): Buffer[] => [...recordingSource([FIXTURE_SPOT_BTCUSDT]).envelopes];
const SPREAD = FEATURE_NAMES.indexOf('spread_bps');

describe('datasets', () => {
  it('no look-ahead: a sample is unchanged by anything at or after its time, and changed by an event just before it', () => {
    const all = fixtureEnvelopes();
    const full = buildDataset(all, { symbol: 'BTCUSDT', source: 'fixture' });
    expect(full.times.length).toBeGreaterThan(30);
    const env = new hotpath.EnvelopeDecoder();
    const tr = new BinanceJsonTranscoder();
    const frame = Buffer.alloc(512);
    for (const k of [5, Math.floor(full.times.length / 2), full.times.length - 3]) {
      const t = full.times[k]!;
      // everything applied before the sample: envelopes up to (excluding) the first one whose event time is ≥ t
      const cut = all.findIndex((e) => {
        env.wrap(e);
        if (env.kind !== hotpath.EnvelopeKind.StreamFrame) return false;
        const p = Buffer.from(env.payload());
        const time = Number(p.readBigInt64LE(8)); // eventTime is the first field of trade and depth-diff frames
        return time >= t;
      });
      // then a wild trade (price 1.00, 1000 BTC) stamped `at`: the sample at t must not see it when at ≥ t
      const withTrade = (at: number): Buffer[] => {
        const w = new EnvelopeWriter('BTCUSDT', 99); // a later connection epoch, so it is not a duplicate
        const n = tr.encodeTrade({ e: 'trade', E: at / 1000, s: 'BTCUSDT', t: 1, p: '1.00000000', q: '1000.00000000', T: at / 1000, m: false }, frame);
        return [...all.slice(0, cut), w.envelope(hotpath.EnvelopeKind.StreamFrame, at, frame.subarray(0, n)), ...all.slice(cut)];
      };
      const atT = buildDataset(withTrade(t), { symbol: 'BTCUSDT', source: 'fixture' });
      const before = buildDataset(withTrade(t - 1000), { symbol: 'BTCUSDT', source: 'fixture' });
      const i = atT.times.indexOf(t);
      expect(Buffer.from(atT.X[i]!.buffer).equals(Buffer.from(full.X[k]!.buffer))).toBe(true);
      expect(Buffer.from(before.X[before.times.indexOf(t)]!.buffer).equals(Buffer.from(full.X[k]!.buffer))).toBe(false);
    }
  });

  it('labels are the mid log return over exactly the horizon, NaN where the horizon is not observed', () => {
    const d = buildDataset(fixtureEnvelopes(), { symbol: 'BTCUSDT', source: 'fixture' });
    let labelled = 0;
    for (let i = 0; i < d.times.length; i++) {
      const j = d.times.indexOf(d.times[i]! + 10_000_000);
      if (j < 0) expect(d.y[i]).toBeNaN();
      else {
        labelled++;
        expect(d.y[i]).toBeCloseTo(Math.log(d.mid[j]! / d.mid[i]!) * 1e4, 9);
      }
      expect(d.times[i]! % 2_000_000).toBe(0);
    }
    expect(labelled).toBeGreaterThan(20);
  });

  it('a capture file of the same envelopes gives the same dataset; a trades-only archive labels with the last price', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainer-'));
    const envelopes = fixtureEnvelopes();
    const file = join(dir, 'x.capture');
    writeFileSync(file, Buffer.concat(envelopes.flatMap((e) => [Buffer.from(Uint32Array.of(e.length).buffer), e])));
    const a = buildDataset(envelopes, { symbol: 'BTCUSDT', source: 'a' });
    const b = buildDataset(captureSource([file]).envelopes, { symbol: 'BTCUSDT', source: 'b' });
    expect(b.times).toEqual(a.times);
    expect(b.y).toEqual(a.y);

    // the fixture's trades as a data.binance.vision trades CSV (id, price, qty, quoteQty, time ms, isBuyerMaker, isBestMatch)
    const rows = readRecording(FIXTURE_SPOT_BTCUSDT)
      .filter((l) => l.stream.endsWith('@trade'))
      .map((l) => l.data as { t: number; p: string; q: string; T: number; m: boolean });
    const csv = join(dir, 'BTCUSDT-trades-2024-08-08.csv');
    writeFileSync(csv, rows.map((r) => `${r.t},${r.p},${r.q},0,${r.T},${r.m ? 'True' : 'False'},True`).join('\n'));
    const src = archiveSource([csv]);
    const c = buildDataset(src.envelopes, { symbol: 'BTCUSDT', source: src.label, requireBook: false });
    expect(c.times.length).toBeGreaterThan(30);
    expect(c.X.every((x) => Number.isNaN(x[SPREAD]!))).toBe(true); // no book from trades alone
    const i = c.y.findIndex(Number.isFinite);
    const j = c.times.indexOf(c.times[i]! + 10_000_000);
    expect(c.y[i]).toBeCloseTo(Math.log(c.last[j]! / c.last[i]!) * 1e4, 9);
  });

  it('the simulator source is reproducible for a seed and carries the oracle', () => {
    const one = simSource(3, 2);
    const a = buildDataset(one.envelopes, { symbol: 'BTCUSDT', source: 's', oracle: one.oracle });
    const two = simSource(3, 2);
    const b = buildDataset(two.envelopes, { symbol: 'BTCUSDT', source: 's', oracle: two.oracle });
    expect(a.times.length).toBeGreaterThan(50);
    expect(Buffer.from(new Float64Array(a.X.flatMap((x) => [...x])).buffer).equals(Buffer.from(new Float64Array(b.X.flatMap((x) => [...x])).buffer))).toBe(true);
    expect(a.oracle.every(Number.isFinite)).toBe(true);
  });
});

describe('learners', () => {
  it('ridge recovers known coefficients; Platt recovers a known logistic link', () => {
    const g = new Rng(1);
    const r = (): number => g.next();
    const Z = Array.from({ length: 2000 }, () => [r() - 0.5, r() - 0.5, r() - 0.5]);
    const y = Z.map((z) => 3 * z[0]! - 2 * z[2]! + 0.5 + (r() - 0.5) * 0.01);
    const [layer] = ridge(Z, y, 1e-6);
    expect(layer!.weights.map((w) => w[0]!)).toEqual([expect.closeTo(3, 2), expect.closeTo(0, 2), expect.closeTo(-2, 2)]);
    const p = Z.map((z) => z[0]! * 4);
    const outcome = p.map((v) => (r() < 1 / (1 + Math.exp(-(1.5 * v - 0.3))) ? 1 : -1));
    const fit = platt(p, outcome);
    expect(fit.a).toBeCloseTo(1.5, 0);
    expect(fit.b).toBeCloseTo(-0.3, 0);
  });

  it('an exported MLP runs in onnxruntime within 1e-5 of the TypeScript forward pass', async () => {
    const g = new Rng(2);
    const r = (): number => g.next();
    const X = Array.from({ length: 400 }, () => Float64Array.from(FEATURE_NAMES, (_, i) => (r() - 0.5) * (i + 1)));
    const y = X.map((x) => Math.tanh(x[0]! / 2) * 3 - x[5]! / 10);
    const s = fitStandardizer(X);
    const Z = standardizeRows(s, X);
    const head = mlp(Z, y, { hidden: 8, weightDecay: 1e-4, epochs: 30, learningRate: 3e-3, seed: 2, batch: 32 });
    const up = upHead(head, { a: 0.8, b: 0.1 });
    const base = exampleModelSpec();
    const model = await OnnxModel.fromBytes(buildModel({ ...base, mean: s.mean, invScale: s.invScale, returnHead: head, upHead: up }), live);
    let worst = 0;
    for (let k = 0; k < 100; k++) {
      const out = await model.run(X[k]!);
      worst = Math.max(worst, Math.abs(out.returnBps - forward(head, Z[k]!)), Math.abs(out.pUp - 1 / (1 + Math.exp(-forward(up, Z[k]!)))));
    }
    await model.release();
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

describe('pipeline', () => {
  it('a short simulated run writes a model inference accepts, a report and a JSON summary', async () => {
    const out = mkdtempSync(join(tmpdir(), 'model-'));
    const summary = await runPipeline({
      source: simSource(11, 30),
      seed: 11,
      out,
      name: 'test-model',
      version: 't1',
      real: 'files',
      realFiles: [FIXTURE_SPOT_BTCUSDT],
      realSource: 'fixture',
      command: 'test',
    });
    expect(summary.samples).toBeGreaterThan(850);
    expect(summary.test_samples).toBeGreaterThan(150);
    expect(summary.parity_max_abs).toBeLessThanOrEqual(1e-5);
    expect(summary.real_samples).toBeGreaterThan(30);
    const model = await OnnxModel.fromFile(join(out, 'model.onnx'), live);
    expect(model.metadata).toMatchObject({ name: 'test-model', version: 't1', horizonS: 10, dataSource: expect.stringContaining('exchange-sim seed 11') });
    expect(model.metadata.evaluation['test_samples']).toBe(summary.test_samples);
    await model.release();
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('**simulated** market data');
    expect(report).toContain('Real Binance data (evaluation only)');
    expect(readFileSync(join(out, 'charts/calibration.svg'), 'utf8')).toMatch(/^<svg/);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { test: { samples: number } };
    expect(json.test.samples).toBe(summary.test_samples);
  });

  it('the shipped model loads against the live feature set and beat the momentum baseline on its held-out span', async () => {
    const file = fileURLToPath(new URL('../../../models/btcusdt-10s/model.onnx', import.meta.url));
    const model = await OnnxModel.fromFile(file, live);
    expect(model.metadata.featureSchemaHash).toBe(FEATURE_SCHEMA_HASH);
    expect(model.metadata.dataSource).toMatch(/^exchange-sim/);
    expect(model.metadata.evaluation['test_dir_acc']!).toBeGreaterThan(model.metadata.evaluation['momentum_dir_acc']!);
    await model.release();
  });
});
