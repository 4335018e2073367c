/**
 * The pipeline's stage budget for the live page: `pipeline_stage_latency_seconds`
 * read from this service's registry and its peers' /metrics, merged per stage,
 * p50/p99 by linear interpolation inside the histogram buckets.
 */
import { STAGES } from '@hotpath/telemetry';

export interface StageFigure {
  stage: string;
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** stage → (le → cumulative count), from Prometheus text exposition. */
export function parseStageBuckets(text: string, into = new Map<string, Map<number, number>>()): Map<string, Map<number, number>> {
  for (const m of text.matchAll(/^pipeline_stage_latency_seconds_bucket\{([^}]*)\} (\S+)/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (!labels['stage'] || labels['le'] === undefined) continue;
    const le = labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels['le']);
    let b = into.get(labels['stage']);
    if (!b) into.set(labels['stage'], (b = new Map()));
    b.set(le, (b.get(le) ?? 0) + Number(m[2]));
  }
  return into;
}

function quantile(buckets: Map<number, number>, q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe; // above the last bound: report the bound
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1e-12, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export function stageFigures(buckets: Map<string, Map<number, number>>): StageFigure[] {
  return STAGES.map((stage) => {
    const b = buckets.get(stage);
    const count = b ? Math.max(...b.values()) : 0;
    const ms = (q: number) => {
      const v = b ? quantile(b, q) : null;
      return v === null ? null : v * 1000;
    };
    return { stage, count, p50Ms: ms(0.5), p99Ms: ms(0.99) };
  });
}
