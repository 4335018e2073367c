/**
 * runBatch: one onnxruntime call on [N, F] gives each row exactly what a run on it alone gives, in order, with the
 * same missing-value fill; a graph whose batch dimension is fixed at 1 is found out at load and served row by row.
 */
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, INPUT_NAME, ModelError, OnnxModel } from '@hotpath/model';

const live = { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES, warmupRuns: 1 };
const rows = (n: number): Float64Array[] => Array.from({ length: n }, (_, r) => Float64Array.from(FEATURE_NAMES, (_, i) => (r % 5 === 4 && i % 3 === 0 ? Number.NaN : Math.sin(i * 0.7 + r))));

/** The example graph with its input's batch dimension fixed at 1 (what an export without a dynamic axis gives). */
function fixedBatchOfOne(): Uint8Array {
  const proto = onnxProto.onnx.ModelProto.decode(buildModel(exampleModelSpec()));
  const dim = proto.graph!.input!.find((i) => i.name === INPUT_NAME)!.type!.tensorType!.shape!.dim![0]!;
  // (a oneof: the name must go, or it is encoded after the value and wins)
  delete (dim as { dimParam?: string }).dimParam;
  dim.dimValue = 1;
  return onnxProto.onnx.ModelProto.encode(proto).finish();
}

describe('OnnxModel.runBatch', () => {
  it('a dynamic batch: one call, each row as run() gives it (NaN filled with the mean), in order; sizes 1..200 and back', async () => {
    const m = await OnnxModel.fromBytes(buildModel(exampleModelSpec()), live);
    expect(m.batchable).toBe(true);
    for (const n of [1, 2, 7, 200, 3]) {
      const xs = rows(n);
      const outs = await m.runBatch(xs);
      expect(outs).toHaveLength(n);
      for (let r = 0; r < n; r++) expect(outs[r]).toEqual(await m.run(xs[r]!));
    }
    // interleaved with run(): chained, neither sees the other's input
    const xs = rows(20);
    const [batch, one] = await Promise.all([m.runBatch(xs), m.run(xs[3]!)]);
    expect(batch[3]).toEqual(one);
    await m.release();
  });

  it('a graph with a fixed batch of 1: not batchable, runBatch gives the same outputs row by row', async () => {
    const m = await OnnxModel.fromBytes(fixedBatchOfOne(), live);
    expect(m.batchable).toBe(false);
    const xs = rows(5);
    const outs = await m.runBatch(xs);
    for (let r = 0; r < xs.length; r++) {
      expect(outs[r]).not.toBeInstanceOf(ModelError);
      expect(outs[r]).toEqual(await m.run(xs[r]!));
    }
    await m.release();
  });

  it('row by row, a row the model cannot score is that row’s ModelError, returned beside the others, not thrown', async () => {
    // the trigger feature small → relu(10 − 11x) × 3e38 overflows to Infinity (the golden input, all 1, scores 0)
    const spec = exampleModelSpec();
    const trigger = 0;
    const overflowing = buildModel({
      ...spec,
      goldenInput: new Array<number>(FEATURE_NAMES.length).fill(1),
      returnHead: [
        { weights: FEATURE_NAMES.map((_f, i) => [i === trigger ? -11 : 0]), bias: [10], activation: 'relu' },
        { weights: [[3e38]], bias: [0], activation: 'linear' },
      ],
    });
    const m = await OnnxModel.fromBytes(overflowing, live);
    const ok = Float64Array.from(FEATURE_NAMES, () => 1);
    const bad = Float64Array.from(FEATURE_NAMES, () => 0);
    const [one] = await m.runBatch([bad]);
    expect(one).toBeInstanceOf(ModelError);
    expect(one).toMatchObject({ code: 'run_failed' });
    const outs = await m.runBatch([ok, bad, ok]);
    expect(outs[0]).not.toBeInstanceOf(ModelError);
    await m.release();
  });
});
