/**
 * Dataset → chosen model → held-out figures. The last `testFraction` of the
 * samples (after a horizon-sized gap) is never looked at until the end.
 * Before it, expanding-window walk-forward folds (each with the same gap
 * between its training span and its validation span, and its own
 * standardizer) score every candidate; the best by out-of-fold directional
 * accuracy is refitted on the whole development span, and its P(up) is
 * Platt-calibrated on the out-of-fold predictions.
 */
import type { Head } from '@hotpath/model';
import type { Dataset } from './dataset.ts';
import { calibration, score, type CalibrationBucket, type Scores } from './evaluate.ts';
import { candidates, fitStandardizer, platt, predictAll, standardizeRows, upHead, type LearnerKind, type Standardizer } from './learners.ts';

export interface CandidateResult {
  name: string;
  kind: LearnerKind;
  folds: Scores[];
  meanDirectionalAccuracy: number;
  meanMaeBps: number;
}

export interface Evaluation {
  label: string;
  samples: number;
  model: Scores;
  noChange: Scores;
  momentum: Scores;
  oracle?: Scores;
  calibration: CalibrationBucket[];
}

export interface Trained {
  chosen: string;
  kind: LearnerKind;
  standardizer: Standardizer;
  returnHead: Head;
  upHead: Head;
  platt: { a: number; b: number };
  candidates: CandidateResult[];
  devSamples: number;
  testSamples: number;
  test: Evaluation;
  /** Indices (into the dataset) of the held-out samples. */
  testIndex: number[];
}

const finiteRows = (d: Dataset, from: number, to: number): number[] => {
  const out: number[] = [];
  for (let i = from; i < to; i++) if (Number.isFinite(d.y[i]!)) out.push(i);
  return out;
};

export interface TrainOptions {
  seed: number;
  folds?: number;
  testFraction?: number;
  onStep?: (what: string) => void;
}

export function train(d: Dataset, o: TrainOptions): Trained {
  const steps = Math.round(d.horizonUs / d.sampleEveryUs);
  const testStart = Math.floor(d.times.length * (1 - (o.testFraction ?? 0.25)));
  const dev = finiteRows(d, 0, testStart - steps); // the dev span's labels end before the test span starts
  const test = finiteRows(d, testStart, d.times.length);
  if (dev.length < 200 || test.length < 50) throw new RangeError(`too few samples: ${dev.length} for development, ${test.length} held out (need 200 / 50)`);
  const k = o.folds ?? 4;
  const foldSize = Math.floor(dev.length / (k + 1));
  const rows = (idx: number[]) => ({ X: idx.map((i) => d.X[i]!), y: idx.map((i) => d.y[i]!) });

  const results: CandidateResult[] = [];
  const oof = new Map<string, { pred: number[]; y: number[] }>();
  for (const c of candidates(o.seed)) {
    o.onStep?.(`walk-forward: ${c.name}`);
    const folds: Scores[] = [];
    const pred: number[] = [];
    const ys: number[] = [];
    for (let f = 1; f <= k; f++) {
      const valFrom = f * foldSize;
      const valTo = f === k ? dev.length : (f + 1) * foldSize;
      const trainIdx = dev.slice(0, Math.max(0, valFrom - steps));
      const valIdx = dev.slice(valFrom, valTo);
      const tr = rows(trainIdx);
      const va = rows(valIdx);
      const s = fitStandardizer(tr.X);
      const layers = c.fit(standardizeRows(s, tr.X), tr.y);
      const p = predictAll(layers, standardizeRows(s, va.X));
      folds.push(score(p, va.y, steps));
      pred.push(...p);
      ys.push(...va.y);
    }
    oof.set(c.name, { pred, y: ys });
    const mean = (xs: (number | null)[]) => xs.reduce<number>((a, v) => a + (v ?? 0), 0) / xs.length;
    results.push({ name: c.name, kind: c.kind, folds, meanDirectionalAccuracy: mean(folds.map((s) => s.directionalAccuracy.value)), meanMaeBps: mean(folds.map((s) => s.maeBps)) });
  }
  const best = [...results].sort((a, b) => b.meanDirectionalAccuracy - a.meanDirectionalAccuracy || a.meanMaeBps - b.meanMaeBps)[0]!;
  const chosen = candidates(o.seed).find((c) => c.name === best.name)!;
  o.onStep?.(`refit ${chosen.name} on ${dev.length} samples`);
  const all = rows(dev);
  const standardizer = fitStandardizer(all.X);
  const returnHead = chosen.fit(standardizeRows(standardizer, all.X), all.y);
  const calib = platt(oof.get(best.name)!.pred, oof.get(best.name)!.y);
  const up = upHead(returnHead, calib);
  const trained: Omit<Trained, 'test'> = {
    chosen: best.name,
    kind: best.kind,
    standardizer,
    returnHead,
    upHead: up,
    platt: calib,
    candidates: results,
    devSamples: dev.length,
    testSamples: test.length,
    testIndex: test,
  };
  return { ...trained, test: evaluate(trained, d, test, 'held-out test span') };
}

export function predictDataset(t: Pick<Trained, 'standardizer' | 'returnHead' | 'platt'>, X: Float64Array[]): { ret: number[]; pUp: number[] } {
  const ret = predictAll(t.returnHead, standardizeRows(t.standardizer, X));
  return { ret, pUp: ret.map((r) => 1 / (1 + Math.exp(-(t.platt.a * r + t.platt.b)))) };
}

export function evaluate(t: Pick<Trained, 'standardizer' | 'returnHead' | 'platt'>, d: Dataset, idx: number[], label: string): Evaluation {
  const steps = Math.round(d.horizonUs / d.sampleEveryUs);
  const y = idx.map((i) => d.y[i]!);
  const { ret, pUp } = predictDataset(
    t,
    idx.map((i) => d.X[i]!),
  );
  const oracle = idx.map((i) => d.oracle[i]!);
  return {
    label,
    samples: idx.length,
    model: score(ret, y, steps),
    noChange: score(
      idx.map(() => 0),
      y,
      steps,
    ),
    momentum: score(
      idx.map((i) => d.momentum[i]!),
      y,
      steps,
    ),
    ...(oracle.some(Number.isFinite) ? { oracle: score(oracle, y, steps) } : {}),
    calibration: calibration(pUp, y, steps),
  };
}
