/**
 * The predictions this replica serves: the in-memory latest per symbol (HTTP), the subscribers (WebSocket), the
 * grader; and history read back from Redis. Every replica's predictions come in here (push channel), and this
 * replica's local fallbacks when Redis is away.
 */
import { predictionKeys, type PredictionStore } from '@hotpath/state';
import type { Grader } from './grading.ts';
import type { InferenceMetrics } from './metrics.ts';
import type { Prediction } from './prediction.ts';
import type { RedisInput } from './redis-input.ts';

export class PredictionFeed {
  private readonly latest = new Map<string, Prediction>();
  private readonly listeners = new Set<(p: Prediction, json: string) => void>();

  constructor(
    private readonly symbols: readonly string[],
    private readonly store: PredictionStore,
    private readonly input: RedisInput,
    private readonly grader: Grader,
    private readonly metrics: InferenceMetrics,
  ) {}

  /** Subscribe to every prediction (written by any replica, or emitted locally without Redis); returns the unsubscribe. */
  onPrediction(listener: (p: Prediction, json: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latestPrediction(symbol: string): Prediction | undefined {
    return this.latest.get(symbol);
  }

  /** History from Redis; malformed entries are left out (counted), so one bad entry does not hide the rest. */
  async history(symbol: string, sinceMs: number, limit: number): Promise<Prediction[]> {
    const out: Prediction[] = [];
    for (const json of await this.store.history(symbol, sinceMs, limit)) {
      const p = this.input.checked(json, 'history');
      if (p && p.symbol !== symbol) this.input.refused('history', new Error(`${symbol}'s history holds a prediction for ${p.symbol}`), symbol);
      else if (p) out.push(p);
    }
    return out;
  }

  /** To the latest (unless a newer one is there), the grader (`grade`: written to Redis, not a local fallback) and every subscriber. */
  deliver(p: Prediction, json: string, grade: boolean): void {
    const prev = this.latest.get(p.symbol);
    if (!prev || prev.tickMs <= p.tickMs) {
      this.latest.set(p.symbol, p);
      this.metrics.predictedPrice.set({ symbol: p.symbol }, p.predictedPrice);
    }
    if (grade) this.grader.add(p);
    for (const l of this.listeners) l(p, json);
  }

  /** The latest prediction per symbol from Redis, after a (re)connect: the ones missed while away. */
  async loadLatest(): Promise<void> {
    for (const s of this.symbols) {
      const json = await this.store.latest(s).catch(() => null);
      if (json === null) continue;
      const p = this.input.checked(json, 'latest');
      if (!p) continue;
      if (p.symbol !== s || !this.input.plausible(p)) {
        this.input.refused('latest', new Error(`${predictionKeys.latest(s)} holds a prediction for ${p.symbol}, tick ${p.tickMs}`), s);
        continue;
      }
      const prev = this.latest.get(s);
      if (!prev || prev.tickMs < p.tickMs) this.latest.set(s, p);
    }
  }
}
