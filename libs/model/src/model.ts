/**
 * A loaded, verified, warmed model. Loading refuses anything inference must
 * not serve: unreadable bytes, missing or malformed metadata, a feature set
 * other than the live one, a graph without the contract's input/outputs, or a
 * golden example the runtime does not reproduce. Each refusal is a ModelError
 * with a code, so a bad model costs a metric and a log line, never a tick.
 */
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { readModelFile, throwIfAborted, type ModelFileOptions } from './file.ts';
import { INPUT_NAME, METADATA_KEY, ModelError, ModelMetadataSchema, RETURN_OUTPUT, UP_OUTPUT, type ModelMetadata } from './metadata.ts';

export interface ModelOutput {
  returnBps: number;
  pUp: number;
}

export interface LoadOptions {
  /** The live feature set the model must have been trained on. */
  featureSchemaHash: string;
  featureNames: readonly string[];
  /** Runs before the model is handed out, so the first real tick does not pay for lazy initialisation. */
  warmupRuns?: number;
  /** Checked between the load's steps (the onnxruntime session build itself cannot be interrupted; the size cap bounds it). */
  signal?: AbortSignal;
}

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  // one request every 2 s per symbol: threads would only add wake-up latency and steal the event loop's core
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

function near(a: number, b: number, rel: number, abs: number): boolean {
  return Math.abs(a - b) <= abs + rel * Math.abs(b);
}

export class OnnxModel {
  private readonly input: Float32Array;
  private readonly tensor: ort.Tensor;
  // runs are chained: the input tensor is reused, and a run must not see the next one's features.
  // `idle` settles when the last run queued has finished, and never rejects: a run's error goes to its own caller
  private idle: Promise<void> = Promise.resolve();
  /**
   * Whether run() on [N, F] gives each row what a run on it alone gives (checked at load on the golden input): a
   * graph exported with a dynamic batch dimension. A fixed batch of 1 says no, and runBatch() runs row by row.
   */
  batchable = false;
  /** runBatch's input, grown to the largest batch seen (so a tick allocates nothing), and its tensors by row count. */
  private batchInput = new Float32Array(0);
  private readonly batchTensors = new Map<number, ort.Tensor>();

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly metadata: ModelMetadata,
    /** sha256 of the file, 12 hex digits: what `modelVersion` carries besides the declared version. */
    readonly digest: string,
    /** Per feature, what a missing (non-finite) live value is replaced with: the training mean. */
    private readonly fill: Float32Array,
  ) {
    this.input = new Float32Array(metadata.featureNames.length);
    this.tensor = new ort.Tensor('float32', this.input, [1, this.input.length]);
  }

  get version(): string {
    return `${this.metadata.name}@${this.metadata.version}+${this.digest}`;
  }

  /** A model file under `readModelFile`'s rules: regular file, inside `dir` when given, at most `maxBytes`, abortable. */
  static async fromFile(path: string, options: LoadOptions & ModelFileOptions): Promise<OnnxModel> {
    return OnnxModel.fromBytes(await readModelFile(path, options), options);
  }

  static async fromBytes(bytes: Uint8Array, options: LoadOptions): Promise<OnnxModel> {
    throwIfAborted(options.signal);
    let proto: onnxProto.onnx.ModelProto;
    try {
      proto = onnxProto.onnx.ModelProto.decode(bytes);
    } catch (err) {
      // the decoder's text goes in the message (bounded): it reaches /health and POST /admin/model answers, and names no path
      throw new ModelError('unreadable', `not an ONNX model: ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
    const raw = proto.metadataProps.find((p) => p.key === METADATA_KEY)?.value;
    if (!raw) throw new ModelError('no_metadata', `model has no "${METADATA_KEY}" metadata`);
    let metadata: ModelMetadata;
    try {
      metadata = ModelMetadataSchema.parse(JSON.parse(raw));
    } catch (err) {
      throw new ModelError('bad_metadata', `model metadata invalid: ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
    if (metadata.featureSchemaHash !== options.featureSchemaHash) {
      throw new ModelError('schema_mismatch', `model was trained on feature schema ${metadata.featureSchemaHash}, the live one is ${options.featureSchemaHash}`);
    }
    if (metadata.featureNames.length !== options.featureNames.length || metadata.featureNames.some((n, i) => n !== options.featureNames[i])) {
      throw new ModelError('schema_mismatch', 'model feature names differ from the live feature set');
    }
    const fill = new Float32Array(metadata.featureNames.length);
    const mean = proto.graph?.initializer?.find((t) => t.name === 'mean');
    if (mean?.rawData && mean.rawData.length === fill.length * 4) fill.set(new Float32Array(Uint8Array.from(mean.rawData).buffer));

    throwIfAborted(options.signal);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
    } catch (err) {
      throw new ModelError('bad_graph', `onnxruntime refused the model: ${(err as Error).message.slice(0, 300)}`, { cause: err });
    }
    if (!session.inputNames.includes(INPUT_NAME) || !session.outputNames.includes(RETURN_OUTPUT) || !session.outputNames.includes(UP_OUTPUT)) {
      await session.release();
      throw new ModelError('bad_graph', `model must take "${INPUT_NAME}" and return "${RETURN_OUTPUT}" and "${UP_OUTPUT}"`);
    }
    const model = new OnnxModel(session, metadata, createHash('sha256').update(bytes).digest('hex').slice(0, 12), fill);
    try {
      const g = metadata.golden;
      const out = await model.run(g.input);
      if (!near(out.returnBps, g.returnBps, 1e-3, 1e-4) || !near(out.pUp, g.pUp, 1e-3, 1e-5)) {
        throw new ModelError('golden_mismatch', `golden input gave return ${out.returnBps} bps / p_up ${out.pUp}, metadata says ${g.returnBps} / ${g.pUp}`);
      }
      for (let i = 0; i < (options.warmupRuns ?? 20); i++) {
        throwIfAborted(options.signal);
        await model.run(g.input);
      }
      model.batchable = await model.batchAgrees(g.input, out);
    } catch (err) {
      await session.release();
      throw err instanceof ModelError ? err : new ModelError('run_failed', (err as Error).message.slice(0, 300), { cause: err });
    }
    return model;
  }

  /** One run on one raw feature vector (non-finite values replaced by the training mean); concurrent calls run one after another. */
  run(features: ArrayLike<number>): Promise<ModelOutput> {
    const before = this.idle;
    let finished!: () => void;
    this.idle = new Promise((resolve) => (finished = resolve));
    return before.then(() => this.runNow(features)).finally(finished);
  }

  private async runNow(features: ArrayLike<number>): Promise<ModelOutput> {
    const x = this.input;
    for (let i = 0; i < x.length; i++) {
      const v = features[i]!;
      x[i] = Number.isFinite(v) ? v : this.fill[i]!;
    }
    const out = await this.session.run({ [INPUT_NAME]: this.tensor });
    const returnBps = (out[RETURN_OUTPUT]!.data as Float32Array)[0]!;
    const pUp = (out[UP_OUTPUT]!.data as Float32Array)[0]!;
    if (!Number.isFinite(returnBps) || !Number.isFinite(pUp)) throw new ModelError('run_failed', `model returned ${returnBps} / ${pUp}`);
    return { returnBps, pUp };
  }

  /**
   * One run on many raw feature vectors: one onnxruntime call on an [N, F] input when the model is batchable (row
   * by row otherwise). Per row, its output or the ModelError of that row alone (a non-finite output fails its row,
   * not the others); rejects only when the run itself failed. Chained with run() like any other run.
   */
  runBatch(rows: readonly ArrayLike<number>[]): Promise<(ModelOutput | ModelError)[]> {
    const before = this.idle;
    let finished!: () => void;
    this.idle = new Promise((resolve) => (finished = resolve));
    return before.then(() => this.runBatchNow(rows)).finally(finished);
  }

  private async runBatchNow(rows: readonly ArrayLike<number>[]): Promise<(ModelOutput | ModelError)[]> {
    if (!this.batchable || rows.length === 1) {
      const outs: (ModelOutput | ModelError)[] = [];
      for (const r of rows) outs.push(await this.runNow(r).catch((err: unknown) => (err instanceof ModelError ? err : Promise.reject(err))));
      return outs;
    }
    const f = this.input.length;
    const n = rows.length;
    if (this.batchInput.length < n * f) {
      this.batchInput = new Float32Array(n * f * 2);
      this.batchTensors.clear();
    }
    const x = this.batchInput;
    for (let r = 0; r < n; r++) {
      const row = rows[r]!;
      for (let i = 0; i < f; i++) {
        const v = row[i]!;
        x[r * f + i] = Number.isFinite(v) ? v : this.fill[i]!;
      }
    }
    let tensor = this.batchTensors.get(n);
    if (tensor === undefined) {
      tensor = new ort.Tensor('float32', x.subarray(0, n * f), [n, f]);
      this.batchTensors.set(n, tensor);
    }
    const out = await this.session.run({ [INPUT_NAME]: tensor });
    const ret = out[RETURN_OUTPUT]!.data as Float32Array;
    const up = out[UP_OUTPUT]!.data as Float32Array;
    if (ret.length !== n || up.length !== n) throw new ModelError('run_failed', `a batch of ${n} gave ${ret.length} / ${up.length} outputs`);
    const outs: (ModelOutput | ModelError)[] = new Array(n);
    for (let r = 0; r < n; r++) {
      const returnBps = ret[r]!;
      const pUp = up[r]!;
      outs[r] = Number.isFinite(returnBps) && Number.isFinite(pUp) ? { returnBps, pUp } : new ModelError('run_failed', `model returned ${returnBps} / ${pUp}`);
    }
    return outs;
  }

  /** A batch of two golden rows, each as the single run gave (false when the graph refuses a batch of 2: a fixed batch of 1). */
  private async batchAgrees(input: readonly number[], single: ModelOutput): Promise<boolean> {
    this.batchable = true;
    try {
      const outs = await this.runBatch([input, input]);
      return outs.every((o) => !(o instanceof ModelError) && o.returnBps === single.returnBps && o.pUp === single.pUp);
    } catch {
      // (the graph's batch dimension is fixed: not an error, the model is served row by row)
      return false;
    } finally {
      this.batchable = false;
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
