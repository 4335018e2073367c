/**
 * The model lifecycle on the simulator, in process on a manual clock
 * (issue 19 item 7): a regime change (a scheduled change of the informed
 * flow, libs/market FeedOptions.schedule) makes the champion decay; the
 * retraining job's candidates (trainer trainCandidate, as `pnpm train:watch`
 * writes them) are shadowed, one wins the SPRT and is promoted by itself
 * through the hot swap; live accuracy recovers. Everything is real but the
 * clock: simulator → live feature code → training → ONNX → registry (hashes
 * checked) → onnxruntime in ModelManager and Lifecycle, a redis-server for
 * the model pointer. Used by test/lifecycle.test.ts (compressed) and
 * scripts/soak-lifecycle.ts (in full).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelParams } from '@hotpath/market';
import { ModelRegistry } from '@hotpath/model';
import type { RedisClient } from '@hotpath/state';
import { startLifecycleRig } from 'inference';
import { buildDataset, type Dataset, SIM_START_US, simSource, trainCandidate } from 'trainer';

export interface ScenarioOptions {
  seed: number;
  /** Regime A: the champion is trained on its first `championMinutes`, then serves the rest. */
  minutesBefore: number;
  championMinutes: number;
  /** Regime B, after the change. */
  minutesAfter: number;
  change: Partial<ModelParams>;
  /** The retraining job: every `retrainEveryMinutes` (simulated), on the last `spanMinutes`. */
  retrainEveryMinutes: number;
  spanMinutes: number;
  minSamples: number;
  alpha: number;
  beta: number;
  margin: number;
  decayWindow: number;
  baselineAccuracy: number;
  logLevel?: 'info' | 'warn' | 'silent';
}

export const FULL_SCENARIO: ScenarioOptions = {
  seed: 7,
  minutesBefore: 30,
  championMinutes: 20,
  minutesAfter: 150,
  change: { informedness: -2.5 },
  retrainEveryMinutes: 10,
  spanMinutes: 15,
  minSamples: 400,
  alpha: 0.05,
  beta: 0.1,
  margin: 0.1,
  decayWindow: 90,
  baselineAccuracy: 0.55,
};

export interface ScenarioResult {
  scenario: 'lifecycle';
  change: Partial<ModelParams>;
  alpha: number;
  beta: number;
  margin: number;
  /** Simulated seconds from the regime change to the decay decision / the promotion; null = did not happen. */
  detect_decay_s: number | null;
  promote_s: number | null;
  /** Served predictions' directional accuracy: regime A (champion), regime B before the promotion, after it. */
  accuracy_before: number | null;
  accuracy_during: number | null;
  accuracy_after: number | null;
  ticks: { before: number; during: number; after: number };
  candidates: number;
  decisions: string[];
  champion_after: string | null;
  seconds: number;
}

const HORIZON_MS = 10_000;
const INTERVAL_MS = 2_000;

/** The samples in [fromUs, toUs), with labels not yet observable at `toUs` removed (the retraining job cannot see the future). */
function upTo(d: Dataset, fromUs: number, toUs: number): Dataset {
  const idx = d.times.flatMap((t, i) => (t >= fromUs && t < toUs ? [i] : []));
  const pick = <T>(xs: T[]): T[] => idx.map((i) => xs[i]!);
  const y = idx.map((i) => (d.times[i]! + d.horizonUs <= toUs ? d.y[i]! : Number.NaN));
  return { ...d, times: pick(d.times), X: pick(d.X), mid: pick(d.mid), last: pick(d.last), y, momentum: pick(d.momentum), oracle: pick(d.oracle) };
}

class Tally {
  hits = 0;
  n = 0;
  add(predicted: number, realized: number): void {
    if (!Number.isFinite(realized) || realized === 0 || predicted === 0) return;
    this.n++;
    if (Math.sign(predicted) === Math.sign(realized)) this.hits++;
  }
  get accuracy(): number | null {
    return this.n ? Math.round((this.hits / this.n) * 1e4) / 1e4 : null;
  }
}

export async function runLifecycleScenario(o: ScenarioOptions, redis: RedisClient): Promise<ScenarioResult> {
  const t0 = performance.now();
  const changeUs = SIM_START_US + o.minutesBefore * 60e6;
  const source = simSource(o.seed, o.minutesBefore + o.minutesAfter, 'BTCUSDT', INTERVAL_MS * 1000, { schedule: [{ atUs: changeUs, params: o.change }] });
  const d = buildDataset(source.envelopes, { symbol: 'BTCUSDT', source: source.label });
  const root = mkdtempSync(join(tmpdir(), 'lifecycle-'));
  const registry = new ModelRegistry(join(root, 'registry'));
  const championEndUs = SIM_START_US + o.championMinutes * 60e6;
  const candidate = (toUs: number) =>
    trainCandidate(upTo(d, toUs - o.spanMinutes * 60e6, toUs), { registry, name: 'sim-lifecycle', seed: o.seed, minSamples: o.minSamples, dataSource: source.label, now: new Date(toUs / 1000) });
  const first = await candidate(championEndUs);
  await registry.setChampion(first.id);
  let candidates = 1;

  const rig = await startLifecycleRig(redis, {
    registryDir: registry.root,
    modelDir: root,
    horizonMs: HORIZON_MS,
    intervalMs: INTERVAL_MS,
    alpha: o.alpha,
    beta: o.beta,
    margin: o.margin,
    decayWindow: o.decayWindow,
    baselineAccuracy: o.baselineAccuracy,
    logLevel: o.logLevel ?? 'silent',
  });
  const before = new Tally();
  const during = new Tally();
  const after = new Tally();
  let detectUs: number | null = null;
  let promoteUs: number | null = null;
  let lastTrainUs = changeUs;
  const seen = new Set<string>();
  try {
    if (rig.lifecycle.state().champion.id !== first.id) throw new Error(`the registry's champion ${first.id} is not serving`);
    for (let i = 0; i < d.times.length; i++) {
      const tUs = d.times[i]!;
      if (tUs < championEndUs) continue;
      const tickMs = tUs / 1000;
      const mid = d.mid[i]!;
      rig.lifecycle.observe('BTCUSDT', tickMs, mid, Number.isFinite(mid));
      await rig.lifecycle.idle();
      if (tUs >= changeUs + o.spanMinutes * 60e6 && tUs - lastTrainUs >= o.retrainEveryMinutes * 60e6) {
        lastTrainUs = tUs;
        await candidate(tUs);
        candidates++;
        await rig.lifecycle.poll();
      }
      for (const x of rig.lifecycle.state().decisions) {
        const key = `${x.at}/${x.decision}/${x.challenger}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (x.decision === 'decay_detected' && detectUs === null && tUs >= changeUs) detectUs = tUs;
        if (x.decision === 'promoted' && promoteUs === null) promoteUs = tUs;
      }
      const model = rig.models.model;
      if (!model || !Number.isFinite(mid)) continue;
      const out = await model.run(d.X[i]!);
      (tUs < changeUs ? before : promoteUs === null ? during : after).add(out.returnBps, d.y[i]!);
      await rig.lifecycle.shadow('BTCUSDT', tickMs, tickMs + HORIZON_MS, mid, out.returnBps, d.X[i]!);
    }
    const s = rig.lifecycle.state();
    return {
      scenario: 'lifecycle',
      change: o.change,
      alpha: o.alpha,
      beta: o.beta,
      margin: o.margin,
      detect_decay_s: detectUs === null ? null : (detectUs - changeUs) / 1e6,
      promote_s: promoteUs === null ? null : (promoteUs - changeUs) / 1e6,
      accuracy_before: before.accuracy,
      accuracy_during: during.accuracy,
      accuracy_after: after.accuracy,
      ticks: { before: before.n, during: during.n, after: after.n },
      candidates,
      decisions: [...s.decisions].reverse().map((x) => x.decision),
      champion_after: await registry.champion(),
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    await rig.stop();
  }
}
