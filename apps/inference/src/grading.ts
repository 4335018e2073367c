/**
 * Grades every prediction written (by any replica: they all arrive over the
 * push channel) against the mid observed at its target tick. Only the tick
 * whose boundary is the target grades it, and only with a fresh vector: a
 * later or stale mid would flatter or punish the model for time it did not
 * predict, so such predictions are counted as ungradable instead.
 * Figures are rolling over the last `window` graded predictions per symbol;
 * the model's exclude fallbacks, the baseline's include every tick. Beside
 * accuracy, the economics (libs/model): the same predictions judged net of
 * the spread at the call and the configured fees, as the trainer's report.
 */
import { DEFAULT_COSTS, economics, type Costs, type Economics } from '@hotpath/model';
import { recordEconomics, type InferenceMetrics } from './metrics.ts';
import type { Prediction } from './prediction.ts';

export interface Figures {
  n: number;
  /** Calls the directional accuracy counts: a non-zero predicted direction and a non-zero realized move. */
  directional: number;
  /** Share of right directions among non-zero realized moves with a non-zero predicted direction; null before any. */
  directionalAccuracy: number | null;
  maeUsd: number | null;
  maeBps: number | null;
  correlation: number | null;
  /** 1 − |mean confidence − hit rate| (model only). */
  calibration: number | null;
  /** Mean (pUp − up)² over non-zero moves (model only). */
  brier: number | null;
}

/** The figures with the economics: net of costs over the same window (graded predictions whose spread at the call is known); null before any grading. */
export interface GradedFigures extends Figures {
  /** 95 % Wilson interval of the directional accuracy, at directional / overlap effective calls (consecutive predictions share most of their horizon); null before any. */
  directionalInterval: { lo: number; hi: number } | null;
  economics: Economics | null;
}

/** Wilson score interval (z = 1.96) of hits out of `calls`, counting calls / overlap independent ones (as the trainer's report does). */
export function wilsonInterval(hits: number, calls: number, overlap: number): { lo: number; hi: number } | null {
  if (calls === 0) return null;
  const z2 = 1.96 * 1.96;
  const m = Math.max(1, calls / overlap);
  const p = hits / calls;
  const centre = (p + z2 / (2 * m)) / (1 + z2 / m);
  const half = Math.sqrt(z2 * ((p * (1 - p)) / m + z2 / (4 * m * m))) / (1 + z2 / m);
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

interface Graded {
  predictedBps: number;
  realizedBps: number;
  errorUsd: number;
  /** NaN for a predictor without a probability (the baseline). */
  pUp: number;
  confidence: number;
  /** Spread at the prediction's tick, bps of the mid; NaN when that tick's vector was not seen fresh. */
  spreadBps: number;
}

class Ring {
  private readonly items: Graded[] = [];
  private next = 0;
  constructor(private readonly size: number) {}

  push(g: Graded): void {
    if (this.items.length < this.size) this.items.push(g);
    else this.items[this.next] = g;
    this.next = (this.next + 1) % this.size;
  }

  figures(probabilistic: boolean): Figures {
    const xs = this.items;
    const n = xs.length;
    if (n === 0) return { n, directional: 0, directionalAccuracy: null, maeUsd: null, maeBps: null, correlation: null, calibration: null, brier: null };
    let hits = 0,
      directional = 0,
      absUsd = 0,
      absBps = 0,
      conf = 0,
      brier = 0,
      moves = 0;
    let sx = 0,
      sy = 0,
      sxx = 0,
      syy = 0,
      sxy = 0;
    for (const g of xs) {
      absUsd += Math.abs(g.errorUsd);
      absBps += Math.abs(g.predictedBps - g.realizedBps);
      sx += g.predictedBps;
      sy += g.realizedBps;
      sxx += g.predictedBps ** 2;
      syy += g.realizedBps ** 2;
      sxy += g.predictedBps * g.realizedBps;
      if (g.realizedBps === 0) continue;
      moves++;
      brier += (g.pUp - (g.realizedBps > 0 ? 1 : 0)) ** 2;
      if (g.predictedBps === 0) continue;
      directional++;
      conf += g.confidence;
      if (Math.sign(g.predictedBps) === Math.sign(g.realizedBps)) hits++;
    }
    const vx = n * sxx - sx * sx;
    const vy = n * syy - sy * sy;
    const accuracy = directional > 0 ? hits / directional : null;
    return {
      n,
      directional,
      directionalAccuracy: accuracy,
      maeUsd: absUsd / n,
      maeBps: absBps / n,
      correlation: vx > 0 && vy > 0 ? (n * sxy - sx * sy) / Math.sqrt(vx * vy) : null,
      calibration: probabilistic && accuracy !== null ? 1 - Math.abs(conf / directional - accuracy) : null,
      brier: probabilistic && moves > 0 ? brier / moves : null,
    };
  }

  economics(costs: Costs): Economics | null {
    const xs = this.items;
    if (xs.length === 0) return null;
    return economics(
      {
        predictedBps: xs.map((g) => g.predictedBps),
        pUp: xs.map((g) => g.pUp),
        realizedBps: xs.map((g) => g.realizedBps),
        spreadBps: xs.map((g) => g.spreadBps),
      },
      costs,
      // consecutive predictions share most of their horizon: intervals count n / overlap
      { overlap: this.overlap },
    );
  }

  /** Predictions per horizon (horizon / interval), set at each grading: how many share one outcome. */
  overlap = 1;
}

export interface GradingEconomics {
  costs: Costs;
  /** When given, each grading sets the economics gauges (inference_net_edge_bps and the rest). */
  metrics?: InferenceMetrics;
}

/** Spread in bps of the mid from the top of the book; NaN for a crossed, empty or non-finite book. */
export function spreadBpsOf(bestBid: number, bestAsk: number): number {
  const mid = (bestBid + bestAsk) / 2;
  return Number.isFinite(mid) && mid > 0 && bestAsk >= bestBid ? ((bestAsk - bestBid) / mid) * 1e4 : Number.NaN;
}

/** Ticks whose spread is remembered per symbol: far more than a horizon's worth, bounded. */
const SPREADS_KEPT = 256;

export class Grader {
  private readonly pending = new Map<string, Prediction[]>();
  private readonly model = new Map<string, Ring>();
  private readonly baseline = new Map<string, Ring>();
  private readonly observed = new Map<string, number>();
  private readonly spreads = new Map<string, Map<number, number>>();
  private readonly costs: Costs;
  private readonly due = new Set<string>();

  constructor(
    private readonly intervalMs: number,
    private readonly window: number,
    private readonly onGraded: (symbol: string, model: Figures, baseline: Figures) => void,
    private readonly onUngradable: (symbol: string) => void,
    // without configured costs (tests, tools): libs/model's defaults
    private readonly net: GradingEconomics = { costs: DEFAULT_COSTS },
  ) {
    this.costs = net.costs;
  }

  add(p: Prediction): void {
    let q = this.pending.get(p.symbol);
    if (!q) this.pending.set(p.symbol, (q = []));
    // bounded: a horizon's worth of ticks (and some) can be pending; anything beyond is older than any target still to come
    q.push(p);
    const cap = Math.ceil((p.horizonS * 1000) / this.intervalMs) * 4 + 8;
    while (q.length > cap) {
      q.shift();
      this.onUngradable(p.symbol);
    }
  }

  /** The mid (and spread, bps) read at `tickMs` (once per tick; fresh = recent, live features). */
  observe(symbol: string, tickMs: number, mid: number, fresh: boolean, spreadBps = Number.NaN): void {
    if ((this.observed.get(symbol) ?? -1) >= tickMs) return;
    this.observed.set(symbol, tickMs);
    // the spread a prediction made at this tick would have paid: kept until its grading, a horizon later
    let spreads = this.spreads.get(symbol);
    if (!spreads) this.spreads.set(symbol, (spreads = new Map()));
    if (fresh && Number.isFinite(spreadBps)) spreads.set(tickMs, spreadBps);
    while (spreads.size > SPREADS_KEPT) spreads.delete(spreads.keys().next().value!);
    const q = this.pending.get(symbol);
    if (!q) return;
    while (q.length > 0 && q[0]!.targetMs <= tickMs) {
      const p = q.shift()!;
      if (!fresh || !Number.isFinite(mid) || tickMs - p.targetMs >= this.intervalMs) {
        this.onUngradable(symbol);
        continue;
      }
      const realizedBps = ((mid - p.mid) / p.mid) * 1e4;
      const spreadBps = spreads.get(p.tickMs) ?? Number.NaN;
      const overlap = Math.max(1, Math.round((p.horizonS * 1000) / this.intervalMs));
      const baseline = this.ring(this.baseline, symbol);
      baseline.overlap = overlap;
      baseline.push({ predictedBps: p.baseline.returnBps, realizedBps, errorUsd: p.baseline.price - mid, pUp: Number.NaN, confidence: 0.5, spreadBps });
      const model = this.ring(this.model, symbol);
      model.overlap = overlap;
      if (!p.fallback) model.push({ predictedBps: p.predictedReturnBps, realizedBps, errorUsd: p.predictedPrice - mid, pUp: p.pUp, confidence: p.confidence, spreadBps });
      this.onGraded(symbol, this.ring(this.model, symbol).figures(true), this.ring(this.baseline, symbol).figures(false));
      this.economicsDue(symbol);
    }
  }

  /** Accuracy and economics now (the API's answer). */
  figures(symbol: string): { model: GradedFigures; baseline: GradedFigures } {
    const model = this.ring(this.model, symbol);
    const baseline = this.ring(this.baseline, symbol);
    const graded = (ring: Ring, probabilistic: boolean): GradedFigures => {
      const f = ring.figures(probabilistic);
      const interval = f.directionalAccuracy === null ? null : wilsonInterval(Math.round(f.directionalAccuracy * f.directional), f.directional, ring.overlap);
      return { ...f, directionalInterval: interval, economics: ring.economics(this.costs) };
    };
    return { model: graded(model, true), baseline: graded(baseline, false) };
  }

  /**
   * The economics gauges, set once per turn of the event loop after a grading: over a full window
   * they take a millisecond or two, which must not sit between a tick's Redis read and its model run.
   */
  private economicsDue(symbol: string): void {
    const metrics = this.net.metrics;
    if (!metrics || this.due.has(symbol)) return;
    this.due.add(symbol);
    setImmediate(() => {
      this.due.delete(symbol);
      recordEconomics(metrics, symbol, 'model', this.ring(this.model, symbol).economics(this.costs));
      recordEconomics(metrics, symbol, 'baseline', this.ring(this.baseline, symbol).economics(this.costs));
    });
  }

  private ring(map: Map<string, Ring>, symbol: string): Ring {
    let r = map.get(symbol);
    if (!r) map.set(symbol, (r = new Ring(this.window)));
    return r;
  }
}
