/**
 * Where `pnpm start`'s time goes, start to first prediction: each phase's
 * time in ms since the launcher's process started (performance.timeOrigin, so
 * the launcher's own module loading counts). Phases come from the launcher
 * itself (Redis, Kinesis, spawns) and from polling the children during start
 * (/health, the ingestor's snapshot counter, inference's prediction history):
 * a polled phase is known to the poll interval (100 ms; the first vector from
 * the aggregator's lastWriteAgeMs), the predictions exactly (their issuedAtMs),
 * the first tick exactly (its boundary). `<child> up` = its /health answers.
 */

/** The phases in the order a start goes through them (parallel children interleave; `causes` says what must precede what). */
export const PHASES = [
  'launcher loaded',
  'redis up',
  'kinesis up',
  'exchange-sim spawned',
  'ingestor spawned',
  'aggregator spawned',
  'inference spawned',
  'exchange-sim up',
  'ingestor up',
  'aggregator up',
  'inference up',
  'ingestor connected',
  'snapshot published',
  'aggregator leases',
  'first vector written',
  'inference first tick',
  'first prediction',
  'first model prediction',
] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Pairs [before, after] that every start must respect (what the e2e checks; never absolute seconds). Only pairs
 * that hold whatever the poll's resolution: two polled phases, or a polled and an exact one, may swap within it.
 */
export const CAUSES: readonly (readonly [Phase, Phase])[] = [
  ['launcher loaded', 'redis up'],
  ['launcher loaded', 'kinesis up'],
  ['kinesis up', 'ingestor spawned'],
  ['kinesis up', 'aggregator spawned'],
  ['redis up', 'inference spawned'],
  ['exchange-sim spawned', 'exchange-sim up'],
  ['ingestor spawned', 'ingestor up'],
  ['aggregator spawned', 'aggregator up'],
  ['inference spawned', 'inference up'],
  ['ingestor spawned', 'ingestor connected'],
  ['ingestor spawned', 'snapshot published'],
  ['aggregator spawned', 'aggregator leases'],
  ['aggregator spawned', 'first vector written'],
  ['inference spawned', 'inference first tick'],
  ['inference first tick', 'first prediction'],
  ['first prediction', 'first model prediction'],
];

/** Epoch ms → ms since this process started (the timeline's clock). */
export const sinceStart = (epochMs: number): number => epochMs - performance.timeOrigin;

export class StartTimeline {
  private readonly at = new Map<Phase, number>();

  /** The first time a phase is seen wins (ms since process start; now by default). */
  mark(phase: Phase, ms = performance.now()): void {
    if (!this.at.has(phase)) this.at.set(phase, Math.max(0, ms));
  }

  /** An exact time known later (the first tick, from the first prediction) corrects a polled one. */
  lower(phase: Phase, ms: number): void {
    const at = this.at.get(phase);
    if (at === undefined || ms < at) this.at.set(phase, Math.max(0, ms));
  }

  has(phase: Phase): boolean {
    return this.at.has(phase);
  }

  get(phase: Phase): number | undefined {
    return this.at.get(phase);
  }

  /** Phases seen, in time order, as seconds since start (3 decimals): what the JSON line carries. */
  seconds(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [p, ms] of [...this.at].sort((a, b) => a[1] - b[1])) out[p] = Math.round(ms) / 1000;
    return out;
  }

  /** One line: `redis up 0.31 · kinesis up 0.36 · …` in time order. */
  format(): string {
    return Object.entries(this.seconds())
      .map(([p, s]) => `${p} ${s.toFixed(2)}`)
      .join(' · ');
  }
}
