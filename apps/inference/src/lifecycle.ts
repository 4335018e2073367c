/**
 * Champion and challenger (docs/inference.md, "Model lifecycle"). The
 * registry's newest candidate newer than the champion is loaded beside it as
 * the challenger: on every tick this replica writes, the challenger runs on
 * the same feature vector after the prediction is written (off the tick's
 * path), and nothing of it is served. A horizon later both are graded
 * against the same mid, as the Grader grades served predictions.
 *
 * Promotion: a sequential probability ratio test on paired directional hits.
 * Only the pairs where exactly one of the two named the direction carry
 * information (McNemar): the challenger "wins" such a pair with probability
 * p. H0: p = 0.5 (no better), H1: p = 0.5 + margin. Each discordant pair adds
 * ln(2p₁) or ln(2(1 − p₁)) to the log likelihood ratio; at ln((1 − β)/α) the
 * challenger is promoted through ModelManager's hot swap, at ln(β/(1 − α)) it
 * is rejected, after `maxPairs` without either it is rejected as
 * inconclusive. Consecutive predictions share most of their horizon, so one
 * pair per horizon is counted: the outcomes are then (close to) independent,
 * as the test's error rates assume.
 *
 * Decay and rollback: over the last `decayWindow` counted ticks, a champion
 * whose directional accuracy is below `baselineAccuracy` is decayed (one
 * decision per episode); when it has a parent in the registry (the champion
 * it replaced) that had not decayed itself, it is rolled back to that
 * parent, once. A decayed champion without such a parent keeps serving: the
 * retraining job's next candidate is its way out.
 *
 * Every decision: a log line, `inference_model_decisions_total{decision}`, a
 * registry decision file, and the live page's lifecycle section.
 */
import { FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { type Decision, type DecisionKind, ModelRegistry, OnnxModel, RegistryError } from '@hotpath/model';
import { FEATURE_NAMES } from '@hotpath/features';
import { Counter, Gauge, type Registry } from '@hotpath/telemetry';
import type { Logger } from '@hotpath/telemetry';
import type { ModelManager } from './models.ts';

export interface LifecycleOptions {
  registryDir: string;
  /** Registry poll period (new candidates, champion.json written by another replica). */
  pollMs: number;
  alpha: number;
  beta: number;
  /** H1's win probability over 0.5 on discordant pairs. */
  margin: number;
  /** Discordant pairs after which an undecided test rejects the challenger. */
  maxPairs: number;
  /** Counted ticks in the champion's decay window, and the accuracy under which it has decayed. */
  decayWindow: number;
  baselineAccuracy: number;
  /** Prediction horizon, ms: one pair per horizon is counted. */
  horizonMs: number;
  intervalMs: number;
}

export const DEFAULT_LIFECYCLE: Omit<LifecycleOptions, 'registryDir' | 'horizonMs' | 'intervalMs'> = {
  pollMs: 30_000,
  alpha: 0.05,
  beta: 0.1,
  margin: 0.1,
  maxPairs: 2_000,
  decayWindow: 60,
  baselineAccuracy: 0.5,
};

export function createLifecycleMetrics(registry: Registry) {
  const registers = [registry];
  return {
    decisions: new Counter({
      name: 'inference_model_decisions_total',
      help: 'Model lifecycle decisions (challenger_loaded, promoted, rejected, decay_detected, rolled_back, refused)',
      labelNames: ['decision'],
      registers,
    }),
    registryRefused: new Counter({
      name: 'inference_registry_refused_total',
      help: 'Registry entries refused on read (hash_mismatch, bad_entry, entry_schema_mismatch, entry_not_found)',
      labelNames: ['code'],
      registers,
    }),
    accuracy: new Gauge({
      name: 'inference_lifecycle_accuracy',
      help: 'Directional accuracy on counted paired ticks since the challenger was loaded (role=champion|challenger), and the champion over its decay window (role=champion_window)',
      labelNames: ['role'],
      registers,
    }),
    llr: new Gauge({ name: 'inference_sprt_llr', help: 'The promotion test’s log likelihood ratio (promote at ln((1-β)/α), reject at ln(β/(1-α)))', registers }),
  };
}
export type LifecycleMetrics = ReturnType<typeof createLifecycleMetrics>;

interface Pending {
  symbol: string;
  tickMs: number;
  targetMs: number;
  mid: number;
  champion: number;
  challenger: number;
  challengerId: string;
}

export interface LifecycleState {
  champion: { id: string | null; version: string | null; windowAccuracy: number | null; windowTicks: number };
  challenger: { id: string; version: string; pairs: number; discordant: number; championHits: number; challengerHits: number; llr: number } | null;
  thresholds: { promote: number; reject: number; alpha: number; beta: number; margin: number };
  decisions: Decision[];
}

const hit = (predicted: number, realized: number): boolean => Math.sign(predicted) === Math.sign(realized);

export class Lifecycle {
  readonly registry: ModelRegistry;
  private championId: string | null = null;
  private challenger: { id: string; model: OnnxModel } | undefined;
  /** Candidates decided (or refused) already: never loaded again. */
  private readonly settled = new Set<string>();
  private readonly rolledBackFrom = new Set<string>();
  /** Champions that had decayed when they were replaced: never a rollback target (it would bring back a model known to be worse). */
  private readonly decayedIds = new Set<string>();
  private pending: Pending[] = [];
  private lastCounted = new Map<string, number>();
  private test = { pairs: 0, discordant: 0, championHits: 0, challengerHits: 0, llr: 0 };
  private window: boolean[] = [];
  private decayed = false;
  private recent: Decision[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly upper: number;
  readonly lower: number;

  constructor(
    private readonly models: ModelManager,
    private readonly options: LifecycleOptions,
    private readonly metrics: LifecycleMetrics,
    private readonly log: Logger,
  ) {
    this.registry = new ModelRegistry(options.registryDir);
    this.upper = Math.log((1 - options.beta) / options.alpha);
    this.lower = Math.log(options.beta / (1 - options.alpha));
  }

  /** Serves the registry's champion when it has one, then looks for a challenger; polls after that. */
  async start(): Promise<void> {
    const past = await this.registry.decisions(1_000);
    this.recent = past.slice(0, 20);
    for (const d of past) if (d.decision === 'decay_detected' && d.champion) this.decayedIds.add(d.champion);
    for (const d of past) if (d.challenger && (d.decision === 'promoted' || d.decision === 'rejected' || d.decision === 'refused')) this.settled.add(d.challenger);
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.idle();
    await this.challenger?.model.release();
    this.challenger = undefined;
  }

  /** Settles when every decision and load queued so far has. */
  idle(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  /** Queued one at a time: loads and decisions never interleave. Never rejects (a failure is logged). */
  private queue(what: string, f: () => Promise<void>): Promise<void> {
    const run = this.chain.then(f).catch((err: unknown) => this.log.error({ err, what }, 'model lifecycle step failed; the serving model stays'));
    this.chain = run;
    return run;
  }

  poll(): Promise<void> {
    return this.queue('registry poll', async () => {
      if (this.stopped) return;
      const champion = await this.registry.champion();
      if (champion !== null && champion !== this.championId) await this.serve(champion, 'champion.json names it');
      if (this.challenger) return;
      const entries = await this.registry.list((err) => this.refused(err, null));
      const newest = entries.filter((e) => e.id !== this.championId && !this.settled.has(e.id) && (this.championId === null || e.id > this.championId)).at(-1);
      if (!newest) return;
      try {
        const { model } = await this.registry.read(newest.id, FEATURE_SCHEMA_HASH);
        const loaded = await OnnxModel.fromBytes(model, { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES });
        this.challenger = { id: newest.id, model: loaded };
        this.resetTest();
        await this.decide('challenger_loaded', newest.id, `shadowing ${loaded.version} beside the champion`);
      } catch (err) {
        await this.refused(err, newest.id);
      }
    });
  }

  /**
   * After a tick's prediction is written: the challenger runs on the same vector; the pair waits for its target.
   * `championBps` null = the served prediction was a fallback (nothing to compare).
   */
  async shadow(symbol: string, tickMs: number, targetMs: number, mid: number, championBps: number | null, features: ArrayLike<number>): Promise<void> {
    const c = this.challenger;
    if (championBps === null || !Number.isFinite(mid)) return;
    let challenger = Number.NaN;
    if (c) {
      try {
        challenger = (await c.model.run(features)).returnBps;
      } catch (err) {
        this.log.warn({ err, challenger: c.id }, 'challenger run failed: this tick is not paired');
      }
    }
    // bounded: a horizon's worth of ticks per symbol, and some
    if (this.pending.length > 1_000) this.pending.shift();
    this.pending.push({ symbol, tickMs, targetMs, mid, champion: championBps, challenger, challengerId: c?.id ?? '' });
  }

  /** The mid at `tickMs` (fresh = recent live features): grades the pairs whose target it is. */
  observe(symbol: string, tickMs: number, mid: number, fresh: boolean): void {
    const due = this.pending.filter((p) => p.symbol === symbol && p.targetMs <= tickMs);
    if (due.length === 0) return;
    this.pending = this.pending.filter((p) => !(p.symbol === symbol && p.targetMs <= tickMs));
    for (const p of due) {
      // the same rule as the Grader: only the target tick, with a fresh mid
      if (!fresh || !Number.isFinite(mid) || tickMs - p.targetMs >= this.options.intervalMs) continue;
      const realized = mid - p.mid;
      if (realized === 0 || p.champion === 0) continue;
      if (p.tickMs < (this.lastCounted.get(symbol) ?? Number.NEGATIVE_INFINITY) + this.options.horizonMs) continue;
      this.lastCounted.set(symbol, p.tickMs);
      this.countChampion(hit(p.champion, realized));
      if (this.challenger && p.challengerId === this.challenger.id && Number.isFinite(p.challenger) && p.challenger !== 0) this.countPair(hit(p.champion, realized), hit(p.challenger, realized));
    }
  }

  private countChampion(h: boolean): void {
    this.window.push(h);
    if (this.window.length > this.options.decayWindow) this.window.shift();
    const acc = this.window.filter(Boolean).length / this.window.length;
    this.metrics.accuracy.set({ role: 'champion_window' }, acc);
    if (this.window.length < this.options.decayWindow) return;
    if (acc >= this.options.baselineAccuracy) {
      this.decayed = false;
      return;
    }
    if (this.decayed) return;
    this.decayed = true;
    const id = this.championId;
    if (id) this.decayedIds.add(id);
    void this.queue('decay', async () => {
      await this.decide(
        'decay_detected',
        this.challenger?.id ?? null,
        `champion accuracy ${(acc * 100).toFixed(1)} % over the last ${this.window.length} counted ticks, under the baseline ${(this.options.baselineAccuracy * 100).toFixed(1)} %`,
        { window_accuracy: acc },
      );
      if (id === null || this.rolledBackFrom.has(id)) return;
      const parent = await this.registry
        .entry(id)
        .then((e) => e.lineage.parent)
        .catch(() => null);
      if (parent === null || this.decayedIds.has(parent)) return;
      this.rolledBackFrom.add(id);
      await this.serve(parent, `rolled back from ${id}: accuracy under the baseline`, 'rolled_back');
    });
  }

  private countPair(championHit: boolean, challengerHit: boolean): void {
    const t = this.test;
    t.pairs++;
    if (championHit) t.championHits++;
    if (challengerHit) t.challengerHits++;
    this.metrics.accuracy.set({ role: 'champion' }, t.championHits / t.pairs);
    this.metrics.accuracy.set({ role: 'challenger' }, t.challengerHits / t.pairs);
    if (championHit === challengerHit) return;
    t.discordant++;
    const p1 = 0.5 + this.options.margin;
    t.llr += challengerHit ? Math.log(2 * p1) : Math.log(2 * (1 - p1));
    this.metrics.llr.set(t.llr);
    const c = this.challenger!;
    const figures = { llr: t.llr, pairs: t.pairs, discordant: t.discordant, champion_acc: t.championHits / t.pairs, challenger_acc: t.challengerHits / t.pairs };
    const summary = `${t.pairs} paired ticks (${t.discordant} discordant): challenger ${((t.challengerHits / t.pairs) * 100).toFixed(1)} %, champion ${((t.championHits / t.pairs) * 100).toFixed(1)} %, LLR ${t.llr.toFixed(2)}`;
    if (t.llr >= this.upper) {
      this.challenger = undefined;
      this.settled.add(c.id);
      void this.queue('promotion', async () => {
        await this.serve(c.id, `SPRT accepted H1 (α ${this.options.alpha}, β ${this.options.beta}, margin ${this.options.margin}): ${summary}`, 'promoted', figures);
        await c.model.release();
      });
    } else if (t.llr <= this.lower || t.discordant >= this.options.maxPairs) {
      this.challenger = undefined;
      this.settled.add(c.id);
      void this.queue('rejection', async () => {
        await this.decide('rejected', c.id, `${t.llr <= this.lower ? 'SPRT accepted H0' : `no decision after ${t.discordant} discordant pairs`}: ${summary}`, figures);
        await c.model.release();
      });
    }
  }

  /** Loads `id` from the registry into the serving slot (ModelManager's hot swap) and records it as champion. */
  private async serve(id: string, reason: string, decision?: DecisionKind, figures: Record<string, number> = {}): Promise<void> {
    const previous = this.championId;
    try {
      const { model } = await this.registry.read(id, FEATURE_SCHEMA_HASH);
      await this.models.tryLoad({ kind: 'registry', id, bytes: model });
    } catch (err) {
      await this.refused(err, id);
      return;
    }
    this.championId = id;
    this.window = [];
    this.decayed = false;
    if ((await this.registry.champion()) !== id) await this.registry.setChampion(id);
    if (decision) await this.decide(decision, decision === 'promoted' ? id : null, reason, figures, previous);
    else this.log.info({ champion: id, reason }, 'registry champion serving');
  }

  private async refused(err: unknown, id: string | null): Promise<void> {
    if (id) this.settled.add(id);
    const code = err instanceof RegistryError ? err.code : ((err as { code?: string }).code ?? 'unreadable');
    if (err instanceof RegistryError) this.metrics.registryRefused.inc({ code });
    this.log.error({ err, id, code }, 'registry entry refused');
    if (id) await this.decide('refused', id, `${code}: ${(err as Error).message.slice(0, 300)}`);
  }

  private async decide(decision: DecisionKind, challenger: string | null, reason: string, figures: Record<string, number> = {}, champion = this.championId): Promise<void> {
    this.metrics.decisions.inc({ decision });
    this.log.info({ decision, champion, challenger, reason, figures }, `model lifecycle: ${decision}`);
    const d = await this.registry.recordDecision({ decision, champion, challenger, reason, figures }).catch((err: unknown) => {
      this.log.error({ err, decision }, 'decision not written to the registry (counted and logged above)');
      return { at: new Date().toISOString(), decision, champion, challenger, reason, figures };
    });
    this.recent = [d, ...this.recent].slice(0, 20);
  }

  private resetTest(): void {
    this.test = { pairs: 0, discordant: 0, championHits: 0, challengerHits: 0, llr: 0 };
    this.metrics.llr.set(0);
  }

  state(): LifecycleState {
    const t = this.test;
    const c = this.challenger;
    return {
      champion: {
        id: this.championId,
        version: this.models.state().version,
        windowAccuracy: this.window.length ? this.window.filter(Boolean).length / this.window.length : null,
        windowTicks: this.window.length,
      },
      challenger: c ? { id: c.id, version: c.model.version, ...t } : null,
      thresholds: { promote: this.upper, reject: this.lower, alpha: this.options.alpha, beta: this.options.beta, margin: this.options.margin },
      decisions: this.recent,
    };
  }
}
