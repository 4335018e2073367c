/**
 * Model files are untrusted input (issue 15, item 2): a Redis pointer or an
 * admin request names the file, and its bytes may be anything. Whatever the
 * path and whatever the bytes, loading ends in a model that reproduces its
 * golden example or in a ModelError with a known code and no file system
 * path in its message (it reaches API answers) — never another exception,
 * never a crash of the native runtime.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, METADATA_KEY, MODEL_ERROR_CODES, ModelError, OnnxModel, readModelFile, type ModelErrorCode } from '@hotpath/model';
import { damaged } from '../../../test/support/property.ts';

const live = { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES, warmupRuns: 0 };

const root = mkdtempSync(join(tmpdir(), 'model-property-'));
const dir = join(root, 'models');
mkdirSync(dir);
afterAll(() => rmSync(root, { recursive: true, force: true }));
const good = Buffer.from(buildModel(exampleModelSpec()));
writeFileSync(join(dir, 'good.onnx'), good);

/** The load's outcome: 'accepted' or the refusal's code; any other throw, or a path in the message, fails the property. */
async function outcome(load: () => Promise<OnnxModel>): Promise<'accepted' | ModelErrorCode> {
  try {
    const model = await load();
    // accepted means it serves: a run answers with finite numbers
    const out = await model.run(new Float64Array(FEATURE_NAMES.length));
    expect(Number.isFinite(out.returnBps) && Number.isFinite(out.pUp)).toBe(true);
    await model.release();
    return 'accepted';
  } catch (err) {
    expect(err, `${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(ModelError);
    const e = err as ModelError;
    expect(MODEL_ERROR_CODES).toContain(e.code);
    expect(e.message).not.toContain(root);
    return e.code;
  }
}

function withMetadata(value: string | undefined): Buffer {
  const proto = onnxProto.onnx.ModelProto.decode(good);
  const entry = proto.metadataProps.find((p) => p.key === METADATA_KEY)!;
  if (value === undefined) proto.metadataProps = proto.metadataProps.filter((p) => p !== entry);
  else entry.value = value;
  return Buffer.from(onnxProto.onnx.ModelProto.encode(proto).finish());
}

const validMetadata = JSON.parse(onnxProto.onnx.ModelProto.decode(good).metadataProps.find((p) => p.key === METADATA_KEY)!.value!) as Record<string, unknown>;

describe('model files from anywhere', () => {
  it('a file of any bytes in the model directory is refused with a ModelError (never another throw)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4_096 }), async (bytes) => {
        const name = `any-${n++}.onnx`;
        writeFileSync(join(dir, name), bytes);
        // random bytes are no model with this feature set's metadata and golden example
        expect(await outcome(() => OnnxModel.fromFile(name, { ...live, dir }))).not.toBe('accepted');
      }),
      { numRuns: 300 },
    );
  });

  it('the shipped model with bytes overwritten, cut or spliced loads whole or is refused with a ModelError', async () => {
    const damagedModel = damaged(good, { minEdits: 1, maxEdits: 6, maxSplice: 32 });
    await fc.assert(
      fc.asyncProperty(damagedModel, async (bytes) => {
        await outcome(() => OnnxModel.fromBytes(bytes, live));
      }),
      { numRuns: 200 },
    );
  });

  it('any metadata (not JSON, any JSON, the real one with a field replaced) is refused with a ModelError, or the model serves', async () => {
    const fieldReplaced = fc.tuple(fc.constantFrom(...Object.keys(validMetadata), 'extra'), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.stringify({ ...validMetadata, [k]: v }));
    await fc.assert(
      fc.asyncProperty(fc.option(fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 }), fieldReplaced), { nil: undefined }), async (metadata) => {
        const code = await outcome(() => OnnxModel.fromBytes(withMetadata(metadata), live));
        if (metadata === undefined || metadata === '') expect(code).toBe('no_metadata');
      }),
      { numRuns: 300 },
    );
  });

  it('any path string is read only inside the model directory, or refused with a ModelError', async () => {
    const path = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.array(fc.constantFrom('..', '.', 'models', 'good.onnx', '', '/', '/etc', 'passwd', '\0', '%2e%2e', root), { maxLength: 6 }).map((p) => p.join('/')),
    );
    await fc.assert(
      fc.asyncProperty(path, async (p) => {
        try {
          const bytes = await readModelFile(p, { dir, maxBytes: 64 * 1024 });
          expect(bytes.equals(good), `read ${JSON.stringify(p)}`).toBe(true); // the one file inside
        } catch (err) {
          expect(err, `${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(ModelError);
          expect((err as Error).message).not.toContain(root);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a file over maxBytes is refused as too_large whatever it holds', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2_048 }), fc.nat(), async (bytes, k) => {
        const name = `big-${n++}.onnx`;
        writeFileSync(join(dir, name), bytes);
        const maxBytes = k % bytes.length; // always under the size
        await expect(readModelFile(name, { dir, maxBytes })).rejects.toMatchObject({ name: 'ModelError', code: 'too_large' });
      }),
      { numRuns: 200 },
    );
  });
});
