/**
 * Writes the model format inference serves: standardize (x - mean) * invScale,
 * then two heads — the horizon return in basis points, and the probability the
 * mid goes up (sigmoid of a logit head). A head is either small dense layers
 * (Gemm/Relu) or a tree ensemble (ai.onnx.ml TreeEnsembleRegressor, trees.ts).
 * The trainer fits the numbers; this module only turns them into ONNX (ir 8,
 * opset 17, ai.onnx.ml 3 when a head is trees) with the metadata and a golden
 * example computed here, independently of onnxruntime.
 */
import onnxProto from 'onnx-proto';
import { INPUT_NAME, METADATA_KEY, RETURN_OUTPUT, UP_OUTPUT, type ModelMetadata } from './metadata.ts';
import { checkTrees, forwardTrees, isTreeEnsemble, ML_DOMAIN, ML_OPSET, standardize32, treeEnsembleNode, type TreeEnsemble } from './trees.ts';

const { onnx } = onnxProto;

export interface DenseLayer {
  /** weights[i][o]: input i → output o. */
  weights: number[][];
  bias: number[];
  activation: 'relu' | 'linear';
}

/** What a head computes from the standardized features: dense layers, or a sum of trees. */
export type Head = DenseLayer[] | TreeEnsemble;

export interface ModelSpec {
  metadata: Omit<ModelMetadata, 'golden'>;
  /** Per feature: mean and 1/std of the training data (a non-finite live value is replaced by its mean). */
  mean: number[];
  invScale: number[];
  /** Ends in one output: the return in bps. */
  returnHead: Head;
  /** Ends in one output: the logit of P(up). */
  upHead: Head;
  /** Raw feature vector for the golden check; defaults to the means shifted by one std on every other feature. */
  goldenInput?: number[];
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function tensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** Forward pass of one head on standardized features (float64): the reference the ONNX graph is checked against. */
export function forward(head: Head, x: ArrayLike<number>): number {
  if (isTreeEnsemble(head)) return forwardTrees(head, x);
  const layers = head;
  let h = Array.from(x);
  for (const l of layers) {
    const out = l.bias.slice();
    for (let i = 0; i < h.length; i++) for (let o = 0; o < out.length; o++) out[o]! += h[i]! * l.weights[i]![o]!;
    h = l.activation === 'relu' ? out.map((v) => Math.max(0, v)) : out;
  }
  return h[0]!;
}

export function standardize(spec: Pick<ModelSpec, 'mean' | 'invScale'>, raw: ArrayLike<number>): number[] {
  return spec.mean.map((m, i) => (Number.isFinite(raw[i]!) ? (raw[i]! - m) * spec.invScale[i]! : 0));
}

function checkShapes(spec: ModelSpec): void {
  const n = spec.metadata.featureNames.length;
  if (spec.mean.length !== n || spec.invScale.length !== n) throw new RangeError(`mean/invScale need ${n} values`);
  for (const [head, layers] of [
    ['returnHead', spec.returnHead],
    ['upHead', spec.upHead],
  ] as const) {
    if (isTreeEnsemble(layers)) {
      checkTrees(head, layers, n);
      continue;
    }
    let width = n;
    if (layers.length === 0) throw new RangeError(`${head} has no layers`);
    for (const l of layers) {
      if (l.weights.length !== width || l.weights.some((row) => row.length !== l.bias.length)) throw new RangeError(`${head}: a layer's weights are not ${width}×${l.bias.length}`);
      width = l.bias.length;
    }
    if (width !== 1) throw new RangeError(`${head} must end in one output, not ${width}`);
  }
}

export function buildModel(spec: ModelSpec): Uint8Array {
  checkShapes(spec);
  const n = spec.metadata.featureNames.length;
  const initializer: onnxProto.onnx.ITensorProto[] = [tensor('mean', [n], spec.mean), tensor('inv_scale', [n], spec.invScale)];
  const node: onnxProto.onnx.INodeProto[] = [
    { opType: 'Sub', input: [INPUT_NAME, 'mean'], output: ['centered'] },
    { opType: 'Mul', input: ['centered', 'inv_scale'], output: ['z'] },
  ];
  const head = (prefix: string, h: Head, out: string): void => {
    if (isTreeEnsemble(h)) {
      node.push(treeEnsembleNode(h, 'z', out));
      return;
    }
    const layers = h;
    let input = 'z';
    layers.forEach((l, k) => {
      const last = k === layers.length - 1;
      const w = `${prefix}_w${k}`;
      const b = `${prefix}_b${k}`;
      initializer.push(tensor(w, [l.weights.length, l.bias.length], l.weights.flat()), tensor(b, [l.bias.length], l.bias));
      const gemmOut = last && l.activation === 'linear' ? out : `${prefix}_g${k}`;
      node.push({ opType: 'Gemm', input: [input, w, b], output: [gemmOut] });
      input = gemmOut;
      if (l.activation === 'relu') {
        const reluOut = last ? out : `${prefix}_r${k}`;
        node.push({ opType: 'Relu', input: [gemmOut], output: [reluOut] });
        input = reluOut;
      }
    });
  };
  head('ret', spec.returnHead, RETURN_OUTPUT);
  head('up', spec.upHead, 'up_logit');
  node.push({ opType: 'Sigmoid', input: ['up_logit'], output: [UP_OUTPUT] });

  // (a feature with scale 0 is constant in training: any offset will do)
  const goldenInput = spec.goldenInput ?? spec.mean.map((m, i) => m + (i % 2 === 0 ? 1 : -1) / (spec.invScale[i] || 1));
  // trees branch on the float32 value the graph computes; dense layers keep the float64 reference
  const z = (h: Head): number[] => (isTreeEnsemble(h) ? standardize32(spec, goldenInput) : standardize(spec, goldenInput));
  const metadata: ModelMetadata = {
    ...spec.metadata,
    golden: { input: goldenInput, returnBps: forward(spec.returnHead, z(spec.returnHead)), pUp: 1 / (1 + Math.exp(-forward(spec.upHead, z(spec.upHead)))) },
  };
  const trees = isTreeEnsemble(spec.returnHead) || isTreeEnsemble(spec.upHead);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, ...(trees ? [{ domain: ML_DOMAIN, version: ML_OPSET }] : [])],
    producerName: 'hotpath',
    producerVersion: '1',
    graph: {
      name: spec.metadata.name,
      node,
      initializer,
      input: [valueInfo(INPUT_NAME, ['batch', n])],
      output: [valueInfo(RETURN_OUTPUT, ['batch', 1]), valueInfo(UP_OUTPUT, ['batch', 1])],
    },
    metadataProps: [{ key: METADATA_KEY, value: JSON.stringify(metadata) }],
  });
  return onnx.ModelProto.encode(model).finish();
}
