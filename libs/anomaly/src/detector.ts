/**
 * Per-symbol anomaly flags on the tick (docs/anomalies.md): each tick feeds
 * what inference knows about a symbol — four numbers from its feature vector,
 * the exchange→prediction latency and the feature age — and gets back the
 * kinds firing now, each with its value and the threshold it crossed.
 *
 * Rolling thresholds (σ of the 10 s return, medians of spread, trade rate,
 * latency and age) come from the symbol's last `window` valid samples, kept
 * in fixed-size rings: memory is bounded by window × symbols, and a tick
 * allocates nothing unless something fires (then one small array). A value
 * is compared with the history before it joins it, so a jump is judged
 * against the market it broke from. A bad input (NaN, ±∞, out of its range)
 * never fires, never joins a history, and is counted by kind and problem.
 */
import { ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './kinds.ts';

export interface AnomalyConfig {
  /** Ticks of history per symbol and measure (150 = 5 min at 2 s). */
  window: number;
  /** Valid samples a rolling threshold needs before its kind may fire (30 = 1 min at 2 s). */
  warmup: number;
  /** price_jump: |10 s mid return| > k × σ, σ the RMS of the window's 10 s returns, never below the floor (bps). */
  priceJumpK: number;
  priceJumpMinSigmaBps: number;
  /** spread_blowout: spread > m × its rolling median, and above an absolute floor (bps). */
  spreadM: number;
  spreadMinBps: number;
  /** imbalance_extreme: |top-of-book imbalance| (bid − ask)/(bid + ask) qty above this level. */
  imbalanceLevel: number;
  /** trade_burst: trades per second (5 s window) > m × its rolling median, and above an absolute floor. */
  tradeBurstM: number;
  tradeBurstMinRate: number;
  /** latency_spike: exchange→prediction latency > m × its rolling median, and above an absolute floor (ms). */
  latencyM: number;
  latencyMinMs: number;
  /** feature_age_spike: age over the absolute limit, or over m × its rolling median and the floor (ms). */
  featureAgeLimitMs: number;
  featureAgeM: number;
  featureAgeMinMs: number;
  /** Symbols tracked at once: a new one past this is refused (counted), so state cannot grow without bound. */
  maxSymbols: number;
  /** The kinds evaluated (an offline replay has no pipeline latency to judge). */
  kinds: readonly AnomalyKind[];
}

/** The defaults and why (docs/anomalies.md has the measurements behind them). */
export const DEFAULT_ANOMALY_CONFIG: Readonly<AnomalyConfig> = Object.freeze({
  window: 150,
  warmup: 30,
  priceJumpK: 5,
  priceJumpMinSigmaBps: 0.5,
  spreadM: 5,
  spreadMinBps: 0,
  imbalanceLevel: 0.998,
  tradeBurstM: 8,
  tradeBurstMinRate: 5,
  latencyM: 5,
  latencyMinMs: 1_000,
  featureAgeLimitMs: 3_000,
  featureAgeM: 10,
  featureAgeMinMs: 1_000,
  maxSymbols: 1_024,
  kinds: ANOMALY_KINDS,
});

/** What one tick knows about a symbol; NaN where a value is unknown (it is then counted, never judged). */
export interface AnomalyInput {
  /** Mid log return over the last 10 s, bps (feature ret_mid_bps_10s). */
  retMidBps: number;
  /** (ask − bid) / mid, bps. */
  spreadBps: number;
  /** Top-of-book quantity imbalance in [−1, 1]. */
  imbalance: number;
  /** Trades per second over the short window. */
  tradeRate: number;
  /** Exchange event time → prediction, ms. */
  latencyMs: number;
  /** Wall clock − the vector's event time, ms. */
  featureAgeMs: number;
}

/** Why an input was not judged: not a number (or infinite), or outside what the measure can be. */
export type AnomalyInputProblem = 'non_finite' | 'out_of_range';

/** One tick's verdict for a symbol: kept by the detector and overwritten by the symbol's next tick. */
export interface AnomalyTick {
  /** Kinds firing now, in ANOMALY_KINDS order (a shared empty array when none: never mutate it). */
  anomalies: readonly Anomaly[];
  /** Bit i set: ANOMALY_KINDS[i] fires now. */
  active: number;
  /** Bit i set: ANOMALY_KINDS[i] fires now and did not on the symbol's previous tick (the rising edge). */
  started: number;
  /** Bit i set: ANOMALY_KINDS[i] fired on the symbol's previous tick and does not now (the falling edge). */
  ended: number;
}

const NONE: readonly Anomaly[] = Object.freeze([]);
const KIND_BIT = new Map(ANOMALY_KINDS.map((k, i) => [k, 1 << i]));
/** Each kind's bit position (its index in ANOMALY_KINDS), which also indexes its history ring. */
const [PRICE, SPREAD, IMBALANCE, TRADES, LATENCY, AGE] = (['price_jump', 'spread_blowout', 'imbalance_extreme', 'trade_burst', 'latency_spike', 'feature_age_spike'] as const).map((k) =>
  ANOMALY_KINDS.indexOf(k),
) as [number, number, number, number, number, number];

/**
 * How many samples a ring's median and RMS may lag behind: a 5-minute statistic moves little in 10 s, and
 * refreshing it every 5th sample spares the tick path 4 of 5 selections (the RMS is kept exactly, a sum).
 */
export const REFRESH_EVERY = 5;

/** A fixed-size ring of the last `capacity` valid samples of one measure, with its median and RMS. */
class Ring {
  readonly values: Float64Array;
  count = 0;
  private next = 0;
  /** Σ v² over the samples, kept as they come and go; summed afresh once per `capacity` pushes so rounding cannot drift. */
  private sumSq = 0;
  private sinceSum = 0;
  private cachedMedian = Number.NaN;
  private sinceMedian = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  push(v: number): void {
    const old = this.count === this.values.length ? this.values[this.next]! : 0;
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.values.length;
    if (this.count < this.values.length) this.count++;
    this.sinceMedian++;
    if (++this.sinceSum >= this.values.length) {
      this.sinceSum = 0;
      this.sumSq = 0;
      for (let i = 0; i < this.count; i++) this.sumSq += this.values[i]! * this.values[i]!;
    } else this.sumSq += v * v - old * old;
  }

  /** Root mean square of the samples. */
  rms(): number {
    return Math.sqrt(Math.max(0, this.sumSq) / this.count);
  }

  /** The median of the samples (at most REFRESH_EVERY − 1 samples old), selected in `scratch`: the ring keeps its order. */
  median(scratch: Float64Array): number {
    if (this.sinceMedian < REFRESH_EVERY && !Number.isNaN(this.cachedMedian)) return this.cachedMedian;
    this.sinceMedian = 0;
    const n = this.count;
    for (let i = 0; i < n; i++) scratch[i] = this.values[i]!;
    const mid = n >> 1;
    const upper = select(scratch, n, mid);
    if (n & 1) return (this.cachedMedian = upper);
    // even count: the mean of the two middle values (the lower one is the largest left of `mid` after selection)
    let lower = scratch[0]!;
    for (let i = 1; i < mid; i++) if (scratch[i]! > lower) lower = scratch[i]!;
    return (this.cachedMedian = (lower + upper) / 2);
  }
}

/** Hoare's quickselect on a[0, n): the k-th smallest, with a[0, k) ≤ it ≤ a(k, n) afterwards. In place, no allocation. */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

class SymbolState {
  readonly rings: Ring[];
  readonly tick: AnomalyTick = { anomalies: NONE, active: 0, started: 0, ended: 0 };

  constructor(window: number) {
    this.rings = ANOMALY_KINDS.map(() => new Ring(window));
  }
}

/** Problems counted per kind: `problems[kind][problem]`. */
export type AnomalyProblemCounts = Record<AnomalyKind, Record<AnomalyInputProblem, number>>;

export class AnomalyDetector {
  readonly config: Readonly<AnomalyConfig>;
  /** Inputs not judged, by kind and problem (inference exports them as a counter). */
  readonly problems: AnomalyProblemCounts;
  /** New symbols refused because maxSymbols were tracked already. */
  refusedSymbols = 0;
  private readonly symbols = new Map<string, SymbolState>();
  private readonly scratch: Float64Array;
  private readonly enabled: number;
  /** This tick's values and thresholds by kind, before they are copied into the (rare) anomaly list. */
  private readonly values = new Float64Array(ANOMALY_KINDS.length);
  private readonly thresholds = new Float64Array(ANOMALY_KINDS.length);

  constructor(
    config: Partial<AnomalyConfig> = {},
    /** Told of each input not judged, as it is counted (inference: a metric). */
    private readonly onProblem?: (kind: AnomalyKind, problem: AnomalyInputProblem) => void,
  ) {
    this.config = checkedConfig({ ...DEFAULT_ANOMALY_CONFIG, ...config });
    this.scratch = new Float64Array(this.config.window);
    this.enabled = this.config.kinds.reduce((bits, k) => bits | KIND_BIT.get(k)!, 0);
    this.problems = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, { non_finite: 0, out_of_range: 0 }])) as AnomalyProblemCounts;
  }

  /** Symbols with state. */
  get size(): number {
    return this.symbols.size;
  }

  /** The symbol's latest verdict, if it has had a tick. */
  latest(symbol: string): AnomalyTick | undefined {
    return this.symbols.get(symbol)?.tick;
  }

  /**
   * Judges one tick of `symbol` and returns its verdict (the symbol's own object, overwritten by its next tick),
   * or undefined when the symbol is new and maxSymbols are tracked already.
   */
  observe(symbol: string, input: AnomalyInput): AnomalyTick | undefined {
    let s = this.symbols.get(symbol);
    if (s === undefined) {
      if (this.symbols.size >= this.config.maxSymbols) {
        this.refusedSymbols++;
        return undefined;
      }
      s = new SymbolState(this.config.window);
      this.symbols.set(symbol, s);
    }
    const c = this.config;
    let active = 0;
    if (this.on(PRICE) && this.valid(PRICE, input.retMidBps, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)) {
      const ring = s.rings[PRICE]!;
      if (ring.count >= c.warmup) {
        const threshold = c.priceJumpK * Math.max(ring.rms(), c.priceJumpMinSigmaBps);
        if (Math.abs(input.retMidBps) > threshold) active |= this.fire(PRICE, input.retMidBps, threshold);
      }
      ring.push(input.retMidBps);
    }
    if (this.on(IMBALANCE) && this.valid(IMBALANCE, input.imbalance, -1, 1) && Math.abs(input.imbalance) > c.imbalanceLevel) active |= this.fire(IMBALANCE, input.imbalance, c.imbalanceLevel);
    active |= this.overMedian(s, SPREAD, input.spreadBps, c.spreadM, c.spreadMinBps);
    active |= this.overMedian(s, TRADES, input.tradeRate, c.tradeBurstM, c.tradeBurstMinRate);
    active |= this.overMedian(s, LATENCY, input.latencyMs, c.latencyM, c.latencyMinMs);
    if (this.on(AGE) && this.valid(AGE, input.featureAgeMs, 0, Number.POSITIVE_INFINITY)) {
      const ring = s.rings[AGE]!;
      // the absolute limit holds from the first tick; the relative one once the median has history
      const relative = ring.count >= c.warmup ? Math.max(c.featureAgeM * ring.median(this.scratch), c.featureAgeMinMs) : Number.POSITIVE_INFINITY;
      const threshold = Math.min(c.featureAgeLimitMs, relative);
      if (input.featureAgeMs > threshold) active |= this.fire(AGE, input.featureAgeMs, threshold);
      ring.push(input.featureAgeMs);
    }
    const tick = s.tick;
    tick.started = active & ~tick.active;
    tick.ended = tick.active & ~active;
    tick.active = active;
    tick.anomalies = active === 0 ? NONE : this.list(active);
    return tick;
  }

  /** Drops a symbol's state (it left the configuration). */
  forget(symbol: string): void {
    this.symbols.delete(symbol);
  }

  private on(kind: number): boolean {
    return (this.enabled & (1 << kind)) !== 0;
  }

  /** True when `v` can be judged; otherwise counts why not. */
  private valid(kind: number, v: number, min: number, max: number): boolean {
    const problem: AnomalyInputProblem | undefined = !Number.isFinite(v) ? 'non_finite' : v < min || v > max ? 'out_of_range' : undefined;
    if (problem === undefined) return true;
    const k = ANOMALY_KINDS[kind]!;
    this.problems[k][problem]++;
    this.onProblem?.(k, problem);
    return false;
  }

  /** A non-negative measure above m × its rolling median and the floor (once warmed up); the value joins the history. */
  private overMedian(s: SymbolState, kind: number, v: number, m: number, floor: number): number {
    if (!this.on(kind) || !this.valid(kind, v, 0, Number.POSITIVE_INFINITY)) return 0;
    const ring = s.rings[kind]!;
    let bit = 0;
    if (ring.count >= this.config.warmup) {
      const threshold = Math.max(m * ring.median(this.scratch), floor);
      if (v > threshold) bit = this.fire(kind, v, threshold);
    }
    ring.push(v);
    return bit;
  }

  private fire(kind: number, value: number, threshold: number): number {
    this.values[kind] = value;
    this.thresholds[kind] = threshold;
    return 1 << kind;
  }

  private list(active: number): Anomaly[] {
    const out: Anomaly[] = [];
    for (let i = 0; i < ANOMALY_KINDS.length; i++) if (active & (1 << i)) out.push({ kind: ANOMALY_KINDS[i]!, value: this.values[i]!, threshold: this.thresholds[i]! });
    return out;
  }
}

/** The kinds set in a verdict's bit mask (`active` or `started`), in ANOMALY_KINDS order. */
export function kindsOf(bits: number): AnomalyKind[] {
  return ANOMALY_KINDS.filter((_, i) => (bits & (1 << i)) !== 0);
}

const POSITIVE: (keyof AnomalyConfig)[] = ['priceJumpK', 'priceJumpMinSigmaBps', 'spreadM', 'tradeBurstM', 'latencyM', 'featureAgeLimitMs', 'featureAgeM'];
const NON_NEGATIVE: (keyof AnomalyConfig)[] = ['spreadMinBps', 'tradeBurstMinRate', 'latencyMinMs', 'featureAgeMinMs'];

/** The configuration, or a RangeError naming the first setting that cannot work (inference's zod schema names the variable first). */
function checkedConfig(c: AnomalyConfig): Readonly<AnomalyConfig> {
  const bad = (field: string, why: string): never => {
    throw new RangeError(`anomaly config: ${field} ${why}`);
  };
  if (!Number.isInteger(c.window) || c.window < 2 || c.window > 100_000) bad('window', `must be an integer in [2, 100000], not ${c.window}`);
  if (!Number.isInteger(c.warmup) || c.warmup < 1 || c.warmup > c.window) bad('warmup', `must be an integer in [1, window = ${c.window}], not ${c.warmup}`);
  if (!Number.isInteger(c.maxSymbols) || c.maxSymbols < 1) bad('maxSymbols', `must be a positive integer, not ${c.maxSymbols}`);
  for (const f of POSITIVE) if (!((c[f] as number) > 0 && Number.isFinite(c[f]))) bad(f, `must be a positive number, not ${c[f]}`);
  for (const f of NON_NEGATIVE) if (!((c[f] as number) >= 0 && Number.isFinite(c[f]))) bad(f, `must be a non-negative number, not ${c[f]}`);
  if (!(c.imbalanceLevel > 0 && c.imbalanceLevel < 1)) bad('imbalanceLevel', `must be in (0, 1), not ${c.imbalanceLevel}`);
  for (const k of c.kinds) if (!KIND_BIT.has(k)) bad('kinds', `has an unknown kind "${k}" (known: ${ANOMALY_KINDS.join(', ')})`);
  return Object.freeze({ ...c, kinds: Object.freeze([...new Set(c.kinds)]) });
}
