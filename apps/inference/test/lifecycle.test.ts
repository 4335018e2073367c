import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { buildModel, exampleModelSpec, ModelRegistry, type RegistryEntry } from '@hotpath/model';
import type { LifecycleRig } from '../src/lifecycle-rig.ts';
import { startLifecycleRig } from '../src/lifecycle-rig.ts';
import { Feeder, privateRedis, replica } from './harness.ts';

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

/** A model that always says `bps` (up when positive): which of two wins is then known in advance. */
function constant(version: string, bps: number, at: number, parent: string | null = null) {
  const spec = exampleModelSpec();
  const zero = (b: number) => [{ weights: FEATURE_NAMES.map(() => [0]), bias: [b], activation: 'linear' as const }];
  const model = buildModel({ ...spec, metadata: { ...spec.metadata, name: 'const', version }, returnHead: zero(bps), upHead: zero(Math.sign(bps)) });
  return { name: 'const', version, featureSchemaHash: FEATURE_SCHEMA_HASH, model, evaluation: {}, lineage: { ...lineage, parent }, createdAt: new Date(at) };
}

/**
 * Drives `ticks` ticks on the manual clock, 2 s apart, the mid moving `direction` by 1 every tick: the serving
 * model runs, the challenger shadows, the pair is graded a horizon later (as service.ts does). Returns the next tick.
 */
async function drive(rig: LifecycleRig, fromMs: number, ticks: number, direction: 1 | -1, until?: () => boolean): Promise<number> {
  const features = FEATURE_NAMES.map(() => 0);
  let t = fromMs;
  for (let i = 0; i < ticks && !until?.(); i++, t += 2_000) {
    const mid = 100_000 + direction * (t / 2_000);
    rig.lifecycle.observe('BTCUSDT', t, mid, true);
    await rig.lifecycle.idle();
    const out = await rig.models.model!.run(features);
    await rig.lifecycle.shadow('BTCUSDT', t, t + 10_000, mid, out.returnBps, features);
  }
  return t;
}

describe('lifecycle: the SPRT and rollback', () => {
  const r = privateRedis();
  const day = (d: number) => Date.parse(`2026-01-0${d}T00:00:00Z`);

  async function rigWith(entries: ReturnType<typeof constant>[], champion: number): Promise<{ rig: LifecycleRig; ids: RegistryEntry[]; registry: ModelRegistry }> {
    const root = mkdtempSync(join(tmpdir(), 'lc-'));
    const registry = new ModelRegistry(join(root, 'registry'));
    const ids: RegistryEntry[] = [];
    for (const e of entries) ids.push(await registry.add(e));
    await registry.setChampion(ids[champion]!.id);
    const rig = await startLifecycleRig(r.redis, { registryDir: registry.root, modelDir: root, horizonMs: 10_000, intervalMs: 2_000, decayWindow: 10, logLevel: 'silent' });
    return { rig, ids, registry };
  }

  it('a challenger right on every discordant pair is promoted after ceil(ln 18 / ln 1.2) = 16 counted pairs, one per horizon', async () => {
    const { rig, ids, registry } = await rigWith([constant('down', -1, day(1)), constant('up', 1, day(2))], 0);
    try {
      expect(rig.lifecycle.state().challenger?.id).toBe(ids[1]!.id);
      await drive(rig, 1_000_000, 200, 1, () => rig.lifecycle.state().champion.id === ids[1]!.id);
      const s = rig.lifecycle.state();
      expect(s.champion.id).toBe(ids[1]!.id);
      expect(rig.models.state().source).toBe(`registry ${ids[1]!.id}`);
      expect(await registry.champion()).toBe(ids[1]!.id);
      const promoted = s.decisions.find((d) => d.decision === 'promoted')!;
      expect(promoted.figures).toMatchObject({ pairs: 16, discordant: 16, challenger_acc: 1, champion_acc: 0 });
      expect(promoted.reason).toMatch(/^SPRT accepted H1 \(α 0.05, β 0.1, margin 0.1\)/);
      expect(await rig.metrics.metrics()).toContain('inference_model_decisions_total{decision="promoted",service="inference"} 1');
    } finally {
      await rig.stop();
    }
  });

  it('a challenger wrong on every discordant pair is rejected after ceil(ln(1/0.1053) / ln 1.25) = 11; the champion stays', async () => {
    const { rig, ids } = await rigWith([constant('down', -1, day(1)), constant('up', 1, day(2))], 0);
    try {
      await drive(rig, 1_000_000, 200, -1, () => rig.lifecycle.state().challenger === null);
      const s = rig.lifecycle.state();
      expect(s.champion.id).toBe(ids[0]!.id);
      expect(s.decisions[0]).toMatchObject({ decision: 'rejected', challenger: ids[1]!.id, figures: { pairs: 11, discordant: 11 } });
      // rejected for good: the next poll does not load it again
      await rig.lifecycle.poll();
      expect(rig.lifecycle.state().challenger).toBeNull();
    } finally {
      await rig.stop();
    }
  });

  it('a champion under the baseline for a window is rolled back to its parent (which had not decayed), once; a parent that had decayed is not brought back', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-'));
    const registry = new ModelRegistry(join(root, 'registry'));
    const parent = await registry.add(constant('up', 1, day(1)));
    const child = await registry.add(constant('down', -1, day(2), parent.id));
    await registry.setChampion(child.id);
    const rig = await startLifecycleRig(r.redis, { registryDir: registry.root, modelDir: root, horizonMs: 10_000, intervalMs: 2_000, decayWindow: 10, logLevel: 'silent' });
    try {
      expect(rig.lifecycle.state().champion.id).toBe(child.id);
      // the champion says down, the market goes up: 0 % over a 10-tick window
      let t = await drive(rig, 1_000_000, 300, 1, () => rig.lifecycle.state().champion.id === parent.id);
      await rig.lifecycle.idle();
      expect(
        rig.lifecycle
          .state()
          .decisions.slice(0, 2)
          .map((d) => d.decision),
      ).toEqual(['rolled_back', 'decay_detected']);
      expect(rig.models.state().source).toBe(`registry ${parent.id}`);
      expect(await registry.champion()).toBe(parent.id);
      // now the market turns: the parent decays too, and has no parent: it keeps serving (no second rollback)
      t = await drive(rig, t, 120, -1);
      await rig.lifecycle.idle();
      const decisions = rig.lifecycle.state().decisions.map((d) => d.decision);
      expect(decisions[0]).toBe('decay_detected');
      expect(decisions.filter((d) => d === 'rolled_back')).toHaveLength(1);
      expect(rig.lifecycle.state().champion.id).toBe(parent.id);
      expect(await rig.metrics.metrics()).toContain('inference_model_decisions_total{decision="rolled_back",service="inference"} 1');
    } finally {
      await rig.stop();
    }
  });
});

describe('lifecycle in the running service', () => {
  const r = privateRedis();

  it('the registry champion serves, the challenger is paired on live ticks; GET /v1/lifecycle and the page show them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-'));
    const registry = new ModelRegistry(join(root, 'registry'));
    const champion = await registry.add(constant('down', -1, Date.parse('2026-01-01T00:00:00Z')));
    const challenger = await registry.add(constant('up', 1, Date.parse('2026-01-02T00:00:00Z')));
    await registry.setChampion(champion.id);
    const feeder = new Feeder(r.redis, 'BTCUSDT').start();
    const server = replica(`redis://127.0.0.1:${r.server.port}`, { registryDir: registry.root, modelDir: root });
    await server.start();
    try {
      const lifecycle = async () =>
        (await fetch(`http://127.0.0.1:${server.port}/v1/lifecycle`)).json() as Promise<{ enabled: boolean; champion: { id: string }; challenger: { id: string; pairs: number } | null }>;
      const deadline = Date.now() + 30_000;
      let s = await lifecycle();
      while ((s.challenger?.pairs ?? 0) < 2 && s.champion.id === champion.id && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        s = await lifecycle();
      }
      expect(s.enabled).toBe(true);
      // paired on live ticks (or already decided by them: then the challenger was promoted or rejected on its own)
      const decided = (await registry.decisions()).map((d) => d.decision);
      expect((s.challenger?.pairs ?? 0) >= 2 || decided.includes('promoted') || decided.includes('rejected')).toBe(true);
      expect(decided).toContain('challenger_loaded');
      expect(s.challenger === null || s.challenger.id === challenger.id).toBe(true);
      const page = await (await fetch(`http://127.0.0.1:${server.port}/`)).text();
      expect(page).toContain('<h2>Model lifecycle</h2>');
      expect(await (await fetch(`http://127.0.0.1:${server.port}/live.js`)).text()).toContain("fetch('/v1/lifecycle')");
    } finally {
      await server.stop();
      feeder.stop();
    }
  });
});
