/**
 * The stage budget over a recent window (the live page's "last 5 min"), not since each process
 * started: `pipeline_stage_latency_seconds` buckets are cumulative counters, so the window is each
 * source's counts now minus its counts in a snapshot taken up to `windowMs` ago — Prometheus's
 * increase(), done on the snapshots /v1/status itself takes — merged across sources afterwards.
 * Per source, so that a peer which did not answer once neither drops out of nor floods the window.
 * Memory is bounded: at most one snapshot per `stepMs`, none older than the window.
 */

/** stage → (le → cumulative count), as parseStageBuckets reads it. */
type Buckets = Map<string, Map<number, number>>;

export interface WindowedBuckets {
  /** What every source counted in the window, merged per stage. */
  buckets: Buckets;
  /** How far back the window reaches (shorter while the snapshots are young), ms. */
  spanMs: number;
}

export class StageWindow {
  private readonly snapshots: { at: number; sources: Map<string, Buckets> }[] = [];

  constructor(
    readonly windowMs = 300_000,
    private readonly stepMs = 10_000,
  ) {}

  /** `current`: source (this service, each peer) → its buckets now. Kept as a snapshot when the last one is a step old. */
  window(current: Map<string, Buckets>, now = Date.now()): WindowedBuckets {
    while (this.snapshots.length > 0 && this.snapshots[0]!.at < now - this.windowMs) this.snapshots.shift();
    const oldest = this.snapshots[0];
    const out: Buckets = new Map();
    for (const [source, stages] of current) {
      // a source not seen in the window yet (first answer, or it was down) adds nothing: its counts go back to its start
      const base = this.snapshots.find((s) => s.sources.has(source))?.sources.get(source);
      if (base) for (const [stage, counts] of stages) addDelta(out, stage, counts, base.get(stage));
    }
    const last = this.snapshots[this.snapshots.length - 1];
    if (!last || now - last.at >= this.stepMs) this.snapshots.push({ at: now, sources: current });
    return { buckets: out, spanMs: oldest ? now - oldest.at : 0 };
  }
}

/** Every source's counts added up per stage (the budget since each process started). */
export function mergeSources(sources: Map<string, Buckets>): Buckets {
  const out: Buckets = new Map();
  for (const stages of sources.values()) for (const [stage, counts] of stages) addDelta(out, stage, counts, undefined);
  return out;
}

function addDelta(out: Buckets, stage: string, counts: Map<number, number>, before: Map<number, number> | undefined): void {
  // a count lower than before: that process restarted inside the window, so all it has counted is recent
  let reset = false;
  if (before) for (const [le, c] of counts) if (c < (before.get(le) ?? 0)) reset = true;
  let merged = out.get(stage);
  if (!merged) out.set(stage, (merged = new Map()));
  for (const [le, c] of counts) merged.set(le, (merged.get(le) ?? 0) + (reset || !before ? c : c - (before.get(le) ?? 0)));
}
