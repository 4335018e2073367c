import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, forward, METADATA_KEY, ModelError, OnnxModel, standardize, type ModelSpec } from '@hotpath/model';

const live = { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES, warmupRuns: 1 };

/** A two-layer ReLU network with pseudo-random weights: the ONNX graph must agree with the float64 reference. */
function mlpSpec(seed = 7): ModelSpec {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const n = FEATURE_NAMES.length;
  const dense = (i: number, o: number, activation: 'relu' | 'linear') => ({
    weights: Array.from({ length: i }, () => Array.from({ length: o }, rnd)),
    bias: Array.from({ length: o }, rnd),
    activation,
  });
  const base = exampleModelSpec();
  return {
    ...base,
    metadata: { ...base.metadata, name: 'mlp', version: '2' },
    mean: Array.from({ length: n }, (_, i) => i * 0.5),
    invScale: Array.from({ length: n }, (_, i) => 1 / (1 + i)),
    returnHead: [dense(n, 8, 'relu'), dense(8, 1, 'linear')],
    upHead: [dense(n, 4, 'relu'), dense(4, 1, 'linear')],
  };
}

function rewriteMetadata(bytes: Uint8Array, edit: (m: Record<string, unknown>) => void): Uint8Array {
  const proto = onnxProto.onnx.ModelProto.decode(bytes);
  const entry = proto.metadataProps.find((p) => p.key === METADATA_KEY)!;
  const m = JSON.parse(entry.value ?? '{}') as Record<string, unknown>;
  edit(m);
  entry.value = JSON.stringify(m);
  return onnxProto.onnx.ModelProto.encode(proto).finish();
}

async function refusal(bytes: Uint8Array): Promise<string> {
  try {
    await (await OnnxModel.fromBytes(bytes, live)).release();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    return (err as ModelError).code;
  }
  return 'accepted';
}

describe('model contract', () => {
  it('a ReLU network runs in onnxruntime as the float64 reference computes it', async () => {
    const spec = mlpSpec();
    const model = await OnnxModel.fromBytes(buildModel(spec), live);
    for (let k = 0; k < 20; k++) {
      const raw = FEATURE_NAMES.map((_, i) => Math.sin(k * 31 + i) * (i + 1));
      const z = standardize(spec, raw);
      const out = await model.run(raw);
      expect(out.returnBps).toBeCloseTo(forward(spec.returnHead, z), 3);
      expect(out.pUp).toBeCloseTo(1 / (1 + Math.exp(-forward(spec.upHead, z))), 5);
    }
    expect(model.version).toMatch(/^mlp@2\+[0-9a-f]{12}$/);
    await model.release();
  });

  it('a missing feature (NaN) is replaced by its training mean, not fed as NaN', async () => {
    const spec = mlpSpec(3);
    const model = await OnnxModel.fromBytes(buildModel(spec), live);
    const raw = FEATURE_NAMES.map((_, i) => i * 0.25);
    const withHole = raw.slice();
    withHole[5] = Number.NaN;
    withHole[9] = Number.POSITIVE_INFINITY;
    const filled = raw.slice();
    filled[5] = spec.mean[5]!;
    filled[9] = spec.mean[9]!;
    expect(await model.run(withHole)).toEqual(await model.run(filled));
    await model.release();
  });

  it('concurrent runs each see their own input', async () => {
    const model = await OnnxModel.fromBytes(buildModel(mlpSpec()), live);
    const inputs = [0, 1, 2, 3].map((k) => FEATURE_NAMES.map((_, i) => k * 10 + i));
    const alone = [];
    for (const x of inputs) alone.push(await model.run(x));
    expect(await Promise.all(inputs.map((x) => model.run(x)))).toEqual(alone);
    await model.release();
  });

  it('refuses what must not be served, each with its own code', async () => {
    const good = buildModel(exampleModelSpec());
    expect(await refusal(good)).toBe('accepted');
    expect(await refusal(Buffer.from('not a model at all'))).toBe('unreadable');
    expect(await refusal(rewriteMetadata(good, (m) => (m['featureSchemaHash'] = '0123456789abcdef')))).toBe('schema_mismatch');
    expect(await refusal(rewriteMetadata(good, (m) => ((m['featureNames'] as string[])[0] = 'renamed')))).toBe('schema_mismatch');
    expect(await refusal(rewriteMetadata(good, (m) => delete m['horizonS']))).toBe('bad_metadata');
    expect(await refusal(rewriteMetadata(good, (m) => ((m['golden'] as { returnBps: number }).returnBps += 0.5)))).toBe('golden_mismatch');
    const noMeta = onnxProto.onnx.ModelProto.decode(good);
    noMeta.metadataProps = [];
    expect(await refusal(onnxProto.onnx.ModelProto.encode(noMeta).finish())).toBe('no_metadata');
    const broken = onnxProto.onnx.ModelProto.decode(good);
    broken.graph!.node![0]!.opType = 'NoSuchOp';
    expect(await refusal(onnxProto.onnx.ModelProto.encode(broken).finish())).toBe('bad_graph');
    await expect(OnnxModel.fromFile('/nonexistent/model.onnx', live)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a model file: only a regular file inside the model directory, under the size cap, abortable; refusals name no path', async () => {
    const root = mkdtempSync(join(tmpdir(), 'model-file-'));
    const dir = join(root, 'models');
    mkdirSync(dir);
    const good = buildModel(exampleModelSpec());
    writeFileSync(join(dir, 'good.onnx'), good);
    writeFileSync(join(root, 'outside.onnx'), good);
    symlinkSync(join(root, 'outside.onnx'), join(dir, 'escape.onnx'));
    symlinkSync('/dev/zero', join(dir, 'zero.onnx'));
    execFileSync('mkfifo', [join(dir, 'fifo.onnx')]);
    const code = async (path: string, over: Partial<Parameters<typeof OnnxModel.fromFile>[1]> = {}): Promise<string> => {
      try {
        await (await OnnxModel.fromFile(path, { ...live, dir, ...over })).release();
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(ModelError);
        expect((err as Error).message).not.toContain(root);
        return (err as ModelError).code;
      }
    };
    expect(await code('good.onnx')).toBe('accepted');
    expect(await code(join(dir, 'good.onnx'))).toBe('accepted');
    expect(await code(join(root, 'outside.onnx'))).toBe('outside_model_dir');
    expect(await code('../outside.onnx')).toBe('outside_model_dir');
    expect(await code('escape.onnx')).toBe('outside_model_dir'); // a symlink out of the directory
    expect(await code('/etc/passwd')).toBe('outside_model_dir');
    expect(await code('/nonexistent/x.onnx')).toBe('outside_model_dir'); // no probing outside
    expect(await code('missing.onnx')).toBe('not_found');
    expect(await code('.')).toBe('outside_model_dir');
    // the issue's /dev/zero (RSS grew to 7.7 GB): a device is not a model, without reading a byte
    expect(await code('/dev/zero', { dir: undefined })).toBe('not_a_file');
    expect(await code('/dev/zero', { dir: '/dev' })).toBe('not_a_file');
    // a FIFO without a writer: refused at once instead of blocking the open forever
    expect(await code('fifo.onnx')).toBe('not_a_file');
    expect(await code('good.onnx', { maxBytes: good.length - 1 })).toBe('too_large');
    expect(await code('good.onnx', { maxBytes: good.length })).toBe('accepted');
    expect(await code('good.onnx', { signal: AbortSignal.abort() })).toBe('aborted');
    expect(await code(join(dir, 'zero.onnx'), { dir: undefined })).toBe('not_a_file');
    expect(await code('zero.onnx')).toBe('outside_model_dir');
  });

  it('the builder rejects heads whose shapes do not chain', () => {
    const spec = exampleModelSpec();
    expect(() => buildModel({ ...spec, returnHead: [{ weights: [[1]], bias: [0], activation: 'linear' }] })).toThrow(/weights are not/);
    expect(() => buildModel({ ...spec, mean: [0] })).toThrow(/mean\/invScale/);
  });
});
