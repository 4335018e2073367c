/**
 * The model contract (design.md, contract 5): an ONNX file whose
 * `metadata_props["hotpath.model"]` holds this JSON. Inference refuses a model
 * whose feature names or schema hash differ from the live feature set, and
 * checks the golden input reproduces the golden output before serving it.
 */
import { z } from 'zod';
import type { ModelErrorCode } from './errors.ts';

export const METADATA_KEY = 'hotpath.model';
/** The graph's one input and two outputs, by name. */
export const INPUT_NAME = 'features';
export const RETURN_OUTPUT = 'return_bps';
export const UP_OUTPUT = 'p_up';

export const ModelMetadataSchema = z.object({
  // both end up in every prediction's modelVersion: short
  name: z.string().min(1).max(100),
  version: z.string().min(1).max(100),
  featureSetName: z.string(),
  featureSchemaHash: z.string().regex(/^[0-9a-f]{16}$/),
  featureNames: z.array(z.string()).min(1),
  /** Prediction horizon, seconds. */
  horizonS: z.number().positive(),
  /** Event-time span of the training data, ISO 8601. */
  trainedFrom: z.string(),
  trainedTo: z.string(),
  /** Where the training data came from, e.g. "exchange-sim seed 7, 120 simulated minutes". */
  dataSource: z.string().optional(),
  /** Held-out evaluation figures (directional accuracy, MAE in bps, ...), as the trainer measured them. */
  evaluation: z.record(z.string(), z.number()),
  /** One standardized-input example and what the graph must return for it. */
  golden: z.object({
    input: z.array(z.number()),
    returnBps: z.number(),
    pUp: z.number().min(0).max(1),
  }),
});
export type ModelMetadata = z.infer<typeof ModelMetadataSchema>;

/** Why a model was refused; `code` is the metric label. Messages never name a file system path (they reach API answers). */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
