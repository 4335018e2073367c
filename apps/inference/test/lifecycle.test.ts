import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, ModelRegistry } from '@hotpath/model';
import { startLifecycleRig } from '../src/lifecycle-rig.ts';
import { privateRedis } from './harness.ts';

const lineage = { dataFrom: '2026-01-01T00:00:00Z', dataTo: '2026-01-01T01:00:00Z', samples: 1800, dataSource: 'test', codeVersion: 'test', parent: null };
const candidate = (version: string, at: number) => {
  const spec = exampleModelSpec();
  return {
    name: 'lc',
    version,
    featureSchemaHash: FEATURE_SCHEMA_HASH,
    model: buildModel({ ...spec, metadata: { ...spec.metadata, name: 'lc', version } }),
    evaluation: {},
    lineage,
    createdAt: new Date(at),
  };
};

describe('lifecycle: registry refusals', () => {
  const r = privateRedis();

  it('serves the registry champion; a challenger whose model does not match its hash is refused (decision, metric), the champion stays', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-'));
    const registry = new ModelRegistry(join(root, 'registry'));
    const champion = await registry.add(candidate('1', Date.parse('2026-01-01T00:00:00Z')));
    await registry.setChampion(champion.id);
    const bad = await registry.add(candidate('2', Date.parse('2026-01-02T00:00:00Z')));
    const bytes = Buffer.from(buildModel(exampleModelSpec()));
    writeFileSync(join(registry.root, 'candidates', bad.id, 'model.onnx'), bytes.subarray(0, bytes.length - 10));
    const rig = await startLifecycleRig(r.redis, { registryDir: registry.root, modelDir: root, horizonMs: 10_000, intervalMs: 2_000, logLevel: 'silent' });
    try {
      const s = rig.lifecycle.state();
      expect(s.champion.id).toBe(champion.id);
      expect(rig.models.state().source).toBe(`registry ${champion.id}`);
      expect(s.challenger).toBeNull();
      expect(s.decisions[0]).toMatchObject({ decision: 'refused', challenger: bad.id, reason: expect.stringMatching(/^hash_mismatch: registry entry .*: model.onnx has sha256/) });
      const text = await rig.metrics.metrics();
      expect(text).toContain('inference_registry_refused_total{code="hash_mismatch",service="inference"} 1');
      expect(text).toContain('inference_model_decisions_total{decision="refused",service="inference"} 1');
      // the refusal is on record: a newer good candidate becomes the challenger, the refused one is never tried again
      await registry.add(candidate('3', Date.parse('2026-01-03T00:00:00Z')));
      await rig.lifecycle.poll();
      expect(rig.lifecycle.state().challenger?.version).toMatch(/^lc@3\+/);
      expect((await registry.decisions()).map((d) => d.decision)).toEqual(['challenger_loaded', 'refused']);
    } finally {
      await rig.stop();
    }
  });
});
