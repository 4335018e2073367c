/**
 * A hand-set model so a fresh clone predicts before anything is trained:
 * the return follows the microprice deviation and short order-flow
 * imbalance; P(up) is a logistic of the same. It is labelled "example" in its
 * metadata and evaluation is empty — apps/trainer replaces it with a fitted one.
 */
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH, FEATURE_SET_NAME } from '@hotpath/features';
import type { ModelSpec } from './builder.ts';

const COEFFICIENTS: Record<string, { ret: number; logit: number }> = {
  microprice_dev_bps: { ret: 0.6, logit: 0.8 },
  book_imbalance_1: { ret: 0.3, logit: 0.4 },
  ofi_1s: { ret: 0.05, logit: 0.05 },
  ret_mid_bps_10s: { ret: 0.02, logit: 0.01 },
};

export function exampleModelSpec(): ModelSpec {
  const n = FEATURE_NAMES.length;
  const column = (pick: (c: { ret: number; logit: number }) => number): number[][] => FEATURE_NAMES.map((f) => [COEFFICIENTS[f] ? pick(COEFFICIENTS[f]) : 0]);
  return {
    metadata: {
      name: 'example-microprice',
      version: '1',
      featureSetName: FEATURE_SET_NAME,
      featureSchemaHash: FEATURE_SCHEMA_HASH,
      featureNames: [...FEATURE_NAMES],
      horizonS: 10,
      trainedFrom: '1970-01-01T00:00:00.000Z',
      trainedTo: '1970-01-01T00:00:00.000Z',
      evaluation: {},
    },
    mean: new Array<number>(n).fill(0),
    invScale: new Array<number>(n).fill(1),
    returnHead: [{ weights: column((c) => c.ret), bias: [0], activation: 'linear' }],
    upHead: [{ weights: column((c) => c.logit), bias: [0], activation: 'linear' }],
  };
}
