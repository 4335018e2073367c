/**
 * Grades every prediction written (by any replica: they all arrive over the
 * push channel) against the mid observed at its target tick. Only the tick
 * whose boundary is the target grades it, and only with a fresh vector: a
 * later or stale mid would flatter or punish the model for time it did not
 * predict, so such predictions are counted as ungradable instead.
 * Figures are rolling over the last `window` graded predictions per symbol;
 * the model's exclude fallbacks, the baseline's include every tick.
 */
import type { Prediction } from './prediction.ts';

export interface Figures {
  n: number;
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

interface Graded {
  predictedBps: number;
  realizedBps: number;
  errorUsd: number;
  pUp: number;
  confidence: number;
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
    if (n === 0) return { n, directionalAccuracy: null, maeUsd: null, maeBps: null, correlation: null, calibration: null, brier: null };
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
      directionalAccuracy: accuracy,
      maeUsd: absUsd / n,
      maeBps: absBps / n,
      correlation: vx > 0 && vy > 0 ? (n * sxy - sx * sy) / Math.sqrt(vx * vy) : null,
      calibration: probabilistic && accuracy !== null ? 1 - Math.abs(conf / directional - accuracy) : null,
      brier: probabilistic && moves > 0 ? brier / moves : null,
    };
  }
}

export class Grader {
  private readonly pending = new Map<string, Prediction[]>();
  private readonly model = new Map<string, Ring>();
  private readonly baseline = new Map<string, Ring>();
  private readonly observed = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly window: number,
    private readonly onGraded: (symbol: string, model: Figures, baseline: Figures) => void,
    private readonly onUngradable: (symbol: string) => void,
  ) {}

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

  /** The mid read at `tickMs` (once per tick; fresh = recent, live features). */
  observe(symbol: string, tickMs: number, mid: number, fresh: boolean): void {
    if ((this.observed.get(symbol) ?? -1) >= tickMs) return;
    this.observed.set(symbol, tickMs);
    const q = this.pending.get(symbol);
    if (!q) return;
    while (q.length > 0 && q[0]!.targetMs <= tickMs) {
      const p = q.shift()!;
      if (!fresh || !Number.isFinite(mid) || tickMs - p.targetMs >= this.intervalMs) {
        this.onUngradable(symbol);
        continue;
      }
      const realizedBps = ((mid - p.mid) / p.mid) * 1e4;
      this.ring(this.baseline, symbol).push({ predictedBps: p.baseline.returnBps, realizedBps, errorUsd: p.baseline.price - mid, pUp: 0.5, confidence: 0.5 });
      if (!p.fallback) this.ring(this.model, symbol).push({ predictedBps: p.predictedReturnBps, realizedBps, errorUsd: p.predictedPrice - mid, pUp: p.pUp, confidence: p.confidence });
      const f = this.figures(symbol);
      this.onGraded(symbol, f.model, f.baseline);
    }
  }

  figures(symbol: string): { model: Figures; baseline: Figures } {
    return { model: this.ring(this.model, symbol).figures(true), baseline: this.ring(this.baseline, symbol).figures(false) };
  }

  private ring(map: Map<string, Ring>, symbol: string): Ring {
    let r = map.get(symbol);
    if (!r) map.set(symbol, (r = new Ring(this.window)));
    return r;
  }
}
