import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, ModelRegistry, type RegistryError } from '@hotpath/model';

const lineage = { dataFrom: '2026-01-01T00:00:00Z', dataTo: '2026-01-01T01:00:00Z', samples: 1800, dataSource: 'captures', codeVersion: 'abc123', parent: null };
const candidate = (report = '# report\n') => ({
  name: 'm',
  version: '1',
  featureSchemaHash: FEATURE_SCHEMA_HASH,
  model: buildModel(exampleModelSpec()),
  report,
  evaluation: { test_dir_acc: 0.55, nan: Number.NaN },
  lineage,
});

describe('model registry', () => {
  it('writes a candidate whole, reads it back verified, lists it, keeps champion and decisions', async () => {
    const root = mkdtempSync(join(tmpdir(), 'registry-'));
    const r = new ModelRegistry(root);
    const e = await r.add(candidate());
    expect(e.evaluation).toEqual({ test_dir_acc: 0.55 });
    expect(readdirSync(join(root, 'candidates', e.id)).sort()).toEqual(['entry.json', 'model.onnx', 'report.md']);
    // nothing left in the staging directory
    expect(readdirSync(join(root, '.tmp'))).toEqual([]);
    const { model, entry } = await r.read(e.id, FEATURE_SCHEMA_HASH);
    expect(entry).toEqual(e);
    expect(model.length).toBe(e.modelBytes);
    expect((await r.list()).map((x) => x.id)).toEqual([e.id]);
    expect(await r.champion()).toBeNull();
    await r.setChampion(e.id);
    expect(await r.champion()).toBe(e.id);
    await r.recordDecision({ decision: 'promoted', champion: e.id, challenger: null, reason: 'test', figures: { llr: 3.1, bad: Number.POSITIVE_INFINITY } });
    const ds = await r.decisions();
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ decision: 'promoted', figures: { llr: 3.1 } });
    expect(await r.report(e.id)).toBe('# report\n');
  });

  it('refuses an entry whose model does not match its hash, a schema other than the live one, a malformed entry; list skips them and says why', async () => {
    const root = mkdtempSync(join(tmpdir(), 'registry-'));
    const r = new ModelRegistry(root);
    const good = await r.add(candidate());
    const bad = await r.add({ ...candidate(), createdAt: new Date(Date.now() + 1000), version: '2' });
    const file = join(root, 'candidates', bad.id, 'model.onnx');
    const bytes = Buffer.from(buildModel(exampleModelSpec()));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(file, bytes);
    await expect(r.read(bad.id)).rejects.toMatchObject({ name: 'RegistryError', code: 'hash_mismatch', message: expect.stringContaining(`${bad.id}: model.onnx has sha256`) });
    await expect(r.read(good.id, '0123456789abcdef')).rejects.toMatchObject({ code: 'entry_schema_mismatch' });
    writeFileSync(join(root, 'candidates', good.id, 'entry.json'), '{"id": 1');
    const refused: RegistryError[] = [];
    expect(await r.list((e) => refused.push(e))).toEqual([bad].map((x) => expect.objectContaining({ id: x.id })));
    expect(refused.map((e) => e.code)).toEqual(['bad_entry']);
    await expect(r.read('../../etc')).rejects.toMatchObject({ code: 'entry_not_found' });
  });

  it('refuses an entry file that is a FIFO or over its size limit before reading it (no hang, no unbounded read)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'registry-'));
    const r = new ModelRegistry(root);
    const fifo = await r.add(candidate());
    const entry = join(root, 'candidates', fifo.id, 'entry.json');
    rmSync(entry);
    execFileSync('mkfifo', [entry]); // nothing ever writes it: a plain read would wait forever
    await expect(r.read(fifo.id)).rejects.toMatchObject({ code: 'bad_entry', message: expect.stringContaining('not a regular file') });
    const big = await r.add({ ...candidate(), version: '2' });
    writeFileSync(join(root, 'candidates', big.id, 'entry.json'), Buffer.alloc((1 << 20) + 1, 0x20));
    await expect(r.read(big.id)).rejects.toMatchObject({ code: 'bad_entry', message: expect.stringContaining('over 1048576') });
  });
});
