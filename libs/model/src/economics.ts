/**
 * Predictions judged net of costs — the same pure functions for the trainer's
 * report and inference's live grading, so offline and live figures mean the
 * same thing.
 *
 * A call is a sample whose predicted return is non-zero; acting on it means
 * taking the position the sign says and marking it at the mid one horizon
 * later. Its gross P&L is direction × realized return (bps, at mid). Costs
 * per call, one side:
 *  - taker: half the spread at the call (crossing the book to get in) + the
 *    taker fee. A round trip that also crosses to get out pays it twice;
 *  - maker: the maker fee only: the order rests at the touch and is assumed
 *    filled — an optimistic bound (missed fills and adverse selection are
 *    not modelled, and the half-spread a resting order earns is not counted
 *    to stand in for them).
 * Figures, per set of calls (every call; the strongest by confidence; the
 * rule "act only when |predicted| > cost + margin"): hit rate (the move went
 * the called way; a zero move is not a hit), the predicted edge (mean
 * |predicted| − cost: what the model claims net), gross and net P&L per call
 * and in total, and the break-even fee (the fee per side at which the net
 * P&L of those calls would be zero).
 */

export interface Costs {
  /** Fee per side when taking liquidity, bps of notional (Binance spot, regular tier: 10). */
  takerFeeBps: number;
  /** Fee per side for a resting order, bps (Binance USD-M futures, regular tier: 2). */
  makerFeeBps: number;
  /** The rule acts only when |predicted return| exceeds the call's cost by more than this, bps. */
  marginBps: number;
  /** Share of calls kept as "the strongest" (highest confidence), 0–1. */
  strongestShare: number;
}

export const DEFAULT_COSTS: Costs = { takerFeeBps: 10, makerFeeBps: 2, marginBps: 0, strongestShare: 0.1 };

export const EXECUTIONS = ['taker', 'maker'] as const;
export type Execution = (typeof EXECUTIONS)[number];
export const CALL_SETS = ['all', 'strongest', 'rule'] as const;
export type CallSet = (typeof CALL_SETS)[number];

export interface EconomicsInput {
  /** Predicted return over the horizon, bps. */
  predictedBps: ArrayLike<number>;
  /** P(up); NaN when the predictor has none (its calls are then ranked by |predicted|). */
  pUp: ArrayLike<number>;
  /** Realized return over the horizon, bps (mid to mid). */
  realizedBps: ArrayLike<number>;
  /** Spread at the call, bps of the mid. */
  spreadBps: ArrayLike<number>;
}

export interface CallFigures {
  calls: number;
  /** Share of calls whose move went the called way (zero moves are misses); null without calls. */
  hitRate: number | null;
  /** Mean |predicted return|. */
  meanPredictedBps: number | null;
  meanCostBps: number | null;
  /** Mean (|predicted| − cost): the edge the predictor claims after costs. */
  predictedEdgeBps: number | null;
  grossBpsPerCall: number | null;
  netBpsPerCall: number | null;
  /** 95 % interval of the net P&L per call, normal approximation at n / overlap effective calls; null below 2 calls. */
  netBpsPerCallCi: [number, number] | null;
  grossBpsTotal: number;
  netBpsTotal: number;
  /** The fee per side at which these calls would net zero: gross per call − mean half-spread paid (taker) or − 0 (maker). */
  breakEvenFeeBps: number | null;
}

export interface ExecutionFigures {
  feeBps: number;
  /** Mean cost of a call (spread part + fee) over all usable samples. */
  meanCostBps: number | null;
  /** Share of realized moves larger than their cost: what even a perfect direction call could net on. */
  movesBeyondCost: number | null;
  all: CallFigures;
  strongest: CallFigures;
  rule: CallFigures;
}

export interface Economics {
  /** What the figures were judged against. */
  costs: Costs;
  /** Samples with a finite prediction, realized return and spread. */
  samples: number;
  /** Of those, calls (non-zero predicted return). */
  calls: number;
  meanAbsMoveBps: number | null;
  meanSpreadBps: number | null;
  /** The confidence of the weakest call kept among the strongest (max(pUp, 1 − pUp)); null without P(up). */
  strongestMinConfidence: number | null;
  taker: ExecutionFigures;
  maker: ExecutionFigures;
}

export interface EconomicsOptions {
  /** How many consecutive samples share one outcome (horizon / sampling interval; 5 for 10 s labels every 2 s): the interval counts n / overlap calls. Conservative for sparse sets. */
  overlap?: number;
}

interface Call {
  dir: number;
  absPred: number;
  move: number;
  spread: number;
  strength: number;
  confidence: number;
}

const mean = (xs: number[]): number | null => (xs.length > 0 ? xs.reduce((a, v) => a + v, 0) / xs.length : null);

/** Cost of one call, bps: the half-spread when taking, plus the fee. */
export function callCostBps(execution: Execution, spreadBps: number, costs: Costs): number {
  return execution === 'taker' ? spreadBps / 2 + costs.takerFeeBps : costs.makerFeeBps;
}

function figures(calls: Call[], execution: Execution, costs: Costs, overlap: number): CallFigures {
  const n = calls.length;
  const fee = execution === 'taker' ? costs.takerFeeBps : costs.makerFeeBps;
  // one pass for the sums (this runs at every live grading, over the whole window)
  const sum = { hits: 0, absPred: 0, cost: 0, spreadPart: 0, gross: 0, net: 0, netSq: 0 };
  for (const c of calls) {
    const k = callCostBps(execution, c.spread, costs);
    const g = c.dir * c.move;
    if (g > 0) sum.hits++;
    sum.absPred += c.absPred;
    sum.cost += k;
    sum.spreadPart += k - fee;
    sum.gross += g;
    sum.net += g - k;
    sum.netSq += (g - k) ** 2;
  }
  const per = (v: number): number | null => (n > 0 ? v / n : null);
  const netPer = per(sum.net);
  let ci: [number, number] | null = null;
  if (n >= 2 && netPer !== null) {
    const sd = Math.sqrt(Math.max(0, (sum.netSq - n * netPer * netPer) / (n - 1)));
    const half = (1.96 * sd) / Math.sqrt(Math.max(1, n / overlap));
    ci = [netPer - half, netPer + half];
  }
  return {
    calls: n,
    hitRate: per(sum.hits),
    meanPredictedBps: per(sum.absPred),
    meanCostBps: per(sum.cost),
    predictedEdgeBps: per(sum.absPred - sum.cost),
    grossBpsPerCall: per(sum.gross),
    netBpsPerCall: netPer,
    netBpsPerCallCi: ci,
    grossBpsTotal: sum.gross,
    netBpsTotal: sum.net,
    breakEvenFeeBps: n > 0 ? (sum.gross - sum.spreadPart) / n : null,
  };
}

/** The strongest `share` of calls: highest confidence first, then largest |predicted|, then earliest (a total order: the same set every time). */
export function strongestCalls<T extends { strength: number; absPred: number }>(calls: T[], share: number): T[] {
  if (calls.length === 0 || !(share > 0)) return [];
  const keep = Math.max(1, Math.ceil(Math.min(1, share) * calls.length));
  const order = Array.from(calls.keys()).sort((a, b) => calls[b]!.strength - calls[a]!.strength || calls[b]!.absPred - calls[a]!.absPred || a - b);
  return order
    .slice(0, keep)
    .sort((a, b) => a - b)
    .map((i) => calls[i]!);
}

export function economics(input: EconomicsInput, costs: Costs = DEFAULT_COSTS, options: EconomicsOptions = {}): Economics {
  const overlap = Math.max(1, options.overlap ?? 1);
  const usable: Call[] = [];
  for (let i = 0; i < input.predictedBps.length; i++) {
    const p = input.predictedBps[i]!;
    const y = input.realizedBps[i]!;
    const s = input.spreadBps[i]!;
    if (!Number.isFinite(p) || !Number.isFinite(y) || !Number.isFinite(s) || s < 0) continue;
    const up = input.pUp[i]!;
    const confidence = Number.isFinite(up) ? Math.max(up, 1 - up) : Number.NaN;
    usable.push({ dir: Math.sign(p), absPred: Math.abs(p), move: y, spread: s, strength: Number.isFinite(confidence) ? confidence : 0.5, confidence });
  }
  const calls = usable.filter((c) => c.dir !== 0);
  const strongest = strongestCalls(calls, costs.strongestShare);
  const weakest = strongest.reduce((m, c) => Math.min(m, c.confidence), Number.POSITIVE_INFINITY);
  const execution = (e: Execution): ExecutionFigures => {
    const cost = (c: Call) => callCostBps(e, c.spread, costs);
    return {
      feeBps: e === 'taker' ? costs.takerFeeBps : costs.makerFeeBps,
      meanCostBps: mean(usable.map(cost)),
      movesBeyondCost: usable.length > 0 ? usable.filter((c) => Math.abs(c.move) > cost(c)).length / usable.length : null,
      all: figures(calls, e, costs, overlap),
      strongest: figures(strongest, e, costs, overlap),
      rule: figures(
        calls.filter((c) => c.absPred > cost(c) + costs.marginBps),
        e,
        costs,
        overlap,
      ),
    };
  };
  return {
    costs: { ...costs },
    samples: usable.length,
    calls: calls.length,
    meanAbsMoveBps: mean(usable.map((c) => Math.abs(c.move))),
    meanSpreadBps: mean(usable.map((c) => c.spread)),
    strongestMinConfidence: Number.isFinite(weakest) ? weakest : null,
    taker: execution('taker'),
    maker: execution('maker'),
  };
}

export interface EconomicsRow {
  /** The predictor's name in the table, e.g. "model", "imbalance baseline". */
  label: string;
  economics: Economics;
}

const bps = (v: number | null, d = 2): string => (v === null ? '—' : v.toFixed(d));
const pctOf = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);

function verdict(rows: EconomicsRow[], costs: Costs): string {
  const first = rows[0];
  if (!first || first.economics.calls === 0) return 'No calls to judge.';
  const e = first.economics;
  const best = CALL_SETS.map((set) => ({ set, f: e.taker[set] }))
    .filter((x) => x.f.calls > 0 && x.f.netBpsPerCall !== null)
    .sort((a, b) => b.f.netBpsPerCall! - a.f.netBpsPerCall!)[0];
  const beTaker = e.taker.all.breakEvenFeeBps;
  const lines = [
    `Following every call of the ${first.label} gains ${bps(e.taker.all.grossBpsPerCall)} bps per call at mid; after half the spread and the ${costs.takerFeeBps} bps taker fee it nets ${bps(e.taker.all.netBpsPerCall)} bps per call (break-even fee ${bps(beTaker)} bps per side).`,
  ];
  if (best && best.f.netBpsPerCall! > 0)
    lines.push(`Net of taker costs, the ${best.set === 'all' ? 'every-call' : best.set} set makes money: ${bps(best.f.netBpsPerCall)} bps per call over ${best.f.calls} calls — read its interval.`);
  else lines.push('Net of taker costs, no set of calls makes money on this span.');
  return lines.join(' ');
}

/**
 * The report section "Net of costs" for one or more predictors (the first is the one the verdict
 * speaks of): markdown for people, the same figures as JSON. The trainer's report calls this; the
 * live grading computes the same `economics` on graded ticks.
 */
export function economicsSection(
  rows: EconomicsRow[],
  costs: Costs = DEFAULT_COSTS,
  options: { heading?: string; level?: number } = {},
): { markdown: string; json: { costs: Costs; predictors: EconomicsRow[] } } {
  const h = '#'.repeat(options.level ?? 2);
  const setName = (set: CallSet, e: Economics, ex: Execution): string =>
    set === 'all'
      ? 'every call'
      : set === 'strongest'
        ? `strongest ${Math.round(costs.strongestShare * 100)} %${e.strongestMinConfidence === null ? ' (by predicted size)' : ` (confidence ≥ ${e.strongestMinConfidence.toFixed(3)})`}`
        : `rule: predicted size > ${ex} cost + ${costs.marginBps} bps`;
  const table = ['| predictor | calls | execution | n | hit rate | predicted edge | gross / call | net / call [95 % CI] | net total | break-even fee |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const { label, economics: e } of rows)
    for (const ex of EXECUTIONS)
      for (const set of CALL_SETS) {
        const f = e[ex][set];
        const ci = f.netBpsPerCallCi ? ` [${bps(f.netBpsPerCallCi[0])}, ${bps(f.netBpsPerCallCi[1])}]` : '';
        table.push(
          `| ${label} | ${setName(set, e, ex)} | ${ex} | ${f.calls} | ${pctOf(f.hitRate)} | ${bps(f.predictedEdgeBps)} | ${bps(f.grossBpsPerCall)} | ${bps(f.netBpsPerCall)}${ci} | ${bps(f.netBpsTotal, 1)} | ${bps(f.breakEvenFeeBps)} |`,
        );
      }
  const e0 = rows[0]?.economics;
  const markdown = [
    `${h} ${options.heading ?? 'Net of costs'}`,
    '',
    `Costs per call, one side: **taker** = half the spread + ${costs.takerFeeBps} bps fee (cross the book to get in, marked at mid one horizon later; a round trip crossing both ways pays it twice); **maker** = ${costs.makerFeeBps} bps fee (resting at the touch and assumed filled: optimistic — missed fills and adverse selection are not modelled). All figures in bps of notional.`,
    '',
    e0
      ? `${e0.samples} samples, ${e0.calls} calls; mean |move| ${bps(e0.meanAbsMoveBps)} bps, mean spread ${bps(e0.meanSpreadBps)} bps; ${pctOf(e0.taker.movesBeyondCost)} of moves exceed the taker cost, ${pctOf(e0.maker.movesBeyondCost)} the maker cost.`
      : 'No samples.',
    '',
    verdict(rows, costs),
    '',
    ...table,
    '',
    'Predicted edge = mean(|predicted| − cost): what the predictor claims after costs. Hit rate counts a zero move as a miss. Break-even fee: the fee per side at which those calls would net zero. Intervals count n / overlap calls (overlapping horizons).',
  ].join('\n');
  return { markdown, json: { costs, predictors: rows } };
}
