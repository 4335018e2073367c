/**
 * A fitted model → the ONNX file inference serves, then the parity check: the
 * file run in onnxruntime-node on held-out rows against the TypeScript forward
 * pass it was evaluated with.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH, FEATURE_SET_NAME } from '@hotpath/features';
import { buildModel, type Head, OnnxModel } from '@hotpath/model';
import type { Standardizer } from './learners.ts';
import { predictDataset } from './train.ts';

export interface ExportInput {
  name: string;
  version: string;
  horizonS: number;
  trainedFrom: string;
  trainedTo: string;
  dataSource: string;
  evaluation: Record<string, number>;
  standardizer: Standardizer;
  returnHead: Head;
  upHead: Head;
  platt: { a: number; b: number };
}

export interface Exported {
  file: string;
  bytes: Buffer | Uint8Array;
  digest: string;
  parity: { rows: number; maxAbsReturnBps: number; maxAbsPUp: number };
}

/** Writes `<out>/model.onnx` and checks it against the TypeScript forward pass on `rows`. */
export async function exportModel(out: string, m: ExportInput, rows: Float64Array[]): Promise<Exported> {
  for (const [key, v] of Object.entries(m.evaluation)) if (!Number.isFinite(v)) delete m.evaluation[key];
  const bytes = buildModel({
    metadata: {
      name: m.name,
      version: m.version,
      featureSetName: FEATURE_SET_NAME,
      featureSchemaHash: FEATURE_SCHEMA_HASH,
      featureNames: [...FEATURE_NAMES],
      horizonS: m.horizonS,
      trainedFrom: m.trainedFrom,
      trainedTo: m.trainedTo,
      dataSource: m.dataSource,
      evaluation: m.evaluation,
    },
    mean: m.standardizer.mean,
    invScale: m.standardizer.invScale,
    returnHead: m.returnHead,
    upHead: m.upHead,
  });
  mkdirSync(out, { recursive: true });
  const file = join(out, 'model.onnx');
  writeFileSync(file, bytes);
  const model = await OnnxModel.fromBytes(bytes, { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES });
  const ref = predictDataset(m, rows);
  let maxR = 0,
    maxP = 0;
  try {
    for (let i = 0; i < rows.length; i++) {
      const r = await model.run(rows[i]!);
      maxR = Math.max(maxR, Math.abs(r.returnBps - ref.ret[i]!));
      maxP = Math.max(maxP, Math.abs(r.pUp - ref.pUp[i]!));
    }
  } finally {
    await model.release();
  }
  return { file, bytes, digest: createHash('sha256').update(bytes).digest('hex'), parity: { rows: rows.length, maxAbsReturnBps: maxR, maxAbsPUp: maxP } };
}
