/**
 * bench:scale's reading of a service's /metrics (Prometheus text format): samples by name and labels, counters
 * summed over the labels not asked for, a histogram's buckets between two scrapes, and its quantile interpolated
 * inside the bucket it falls in (as Prometheus's histogram_quantile does).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export type Samples = Sample[];

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Samples {
  const out: Samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[3]) });
  }
  return out;
}

export async function scrape(url: string): Promise<Samples> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

const matches = (s: Sample, name: string, filter: Record<string, string>): boolean => s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v);

/** The sum of every series of `name` whose labels include `filter`. */
export function counterSum(samples: Samples, name: string, filter: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) if (matches(s, name, filter)) sum += s.value;
  return sum;
}

/** Cumulative [le, count] of `name`'s buckets (series matching `filter` summed) observed between `before` and `after`. */
export function histogramDelta(before: Samples, after: Samples, name: string, filter: Record<string, string> = {}): [number, number][] {
  const buckets = new Map<number, number>();
  for (const [samples, sign] of [
    [after, 1],
    [before, -1],
  ] as const) {
    for (const s of samples) {
      if (!matches(s, `${name}_bucket`, filter)) continue;
      const le = s.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels['le']);
      buckets.set(le, (buckets.get(le) ?? 0) + sign * s.value);
    }
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]);
}

/** The q-quantile of cumulative buckets, linear inside its bucket; NaN without observations; the last finite bound when it is in +Inf's. */
export function quantile(buckets: [number, number][], q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1e-12, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
