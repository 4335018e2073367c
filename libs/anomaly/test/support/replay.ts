/**
 * Recorded Binance data → the vectors live inference would read every 2 s →
 * the detector: the offline path the trainer uses (recordings → envelopes →
 * the aggregator's SymbolProcessor), sampled as a tick sees it. At each 2 s
 * boundary of exchange time the tick gets the vector the aggregator wrote
 * after the last event before the boundary (computed at that event's time),
 * and its feature age is the boundary minus that event's time. There is no
 * pipeline offline, so latency_spike is not judged. Used by the replay test
 * (the committed excerpt) and `pnpm anomalies:replay` (every real window).
 */
import { type Anomaly, AnomalyDetector, type AnomalyConfig, type AnomalyInput, emptyInput, kindsOf, marketInput } from '@hotpath/anomaly';
import { FEATURE_COUNT, FEATURE_SCHEMA_HASH, VectorStatus } from '@hotpath/features';
import { SymbolProcessor } from '@hotpath/processor';
import { EnvelopeWriter, localTimeUs, readRecording, recordingEnvelopes } from '@hotpath/recordings';

export const TICK_US = 2_000_000;

/** One tick of the replay: its time, what the detector was fed, and what fired. */
export interface ReplayTick {
  tickMs: number;
  input: AnomalyInput;
  anomalies: readonly Anomaly[];
  /** Kinds whose rising edge this tick is. */
  started: readonly Anomaly['kind'][];
}

/** One anomaly event: its rising edge, how many consecutive ticks it stayed on, its peak value over them. */
export interface ReplayEvent {
  tickMs: number;
  kind: Anomaly['kind'];
  value: number;
  threshold: number;
  ticks: number;
  peak: number;
}

export interface Replay {
  symbol: string;
  ticks: ReplayTick[];
  events: ReplayEvent[];
  detector: AnomalyDetector;
}

/** The envelopes the ingestor would have written for hftbacktest day files that continue one another. */
function* envelopes(files: string[], symbol: string): Generator<Buffer> {
  const writer = new EnvelopeWriter(symbol);
  for (const [i, f] of files.entries()) {
    const lines = readRecording(f);
    if (i === 0 && lines[0]) yield writer.connected(localTimeUs(lines[0].localTime), `recording ${f}`);
    yield* recordingEnvelopes(lines, writer, undefined, symbol);
  }
}

/** Replays `files` (one window) through the detector; latency_spike is left out (no pipeline offline). */
export function replayAnomalies(files: string[], symbol: string, config: Partial<AnomalyConfig> = {}): Replay {
  const detector = new AnomalyDetector({ kinds: ['price_jump', 'spread_blowout', 'imbalance_extreme', 'trade_burst', 'feature_age_spike'], ...config });
  const p = new SymbolProcessor(symbol);
  const vector = new Float64Array(FEATURE_COUNT);
  let vectorUs = Number.NaN;
  let next = Number.NaN;
  const ticks: ReplayTick[] = [];
  const events: ReplayEvent[] = [];
  const open = new Map<string, ReplayEvent>();
  let n = 0;
  for (const e of envelopes(files, symbol)) {
    p.apply(e, `${n++}`);
    const t = p.engine.eventTimeUs;
    if (Number.isNaN(next) && t > 0) next = Math.ceil(t / TICK_US) * TICK_US;
    // the boundaries this event passed were read, live, before it: with the vector written after the previous one
    for (; t >= next; next += TICK_US) {
      if (Number.isNaN(vectorUs)) continue;
      const input = marketInput(vector, FEATURE_SCHEMA_HASH, emptyInput());
      input.featureAgeMs = (next - vectorUs) / 1000;
      const verdict = detector.observe(symbol, input)!;
      const started = kindsOf(verdict.started);
      ticks.push({ tickMs: next / 1000, input, anomalies: verdict.anomalies, started });
      for (const a of verdict.anomalies) {
        const ev = started.includes(a.kind) ? undefined : open.get(a.kind);
        if (ev === undefined) {
          const fresh = { tickMs: next / 1000, kind: a.kind, value: a.value, threshold: a.threshold, ticks: 1, peak: a.value };
          events.push(fresh);
          open.set(a.kind, fresh);
        } else {
          ev.ticks++;
          if (Math.abs(a.value) > Math.abs(ev.peak)) ev.peak = a.value;
        }
      }
      for (const k of open.keys()) if (!verdict.anomalies.some((a) => a.kind === k)) open.delete(k);
    }
    // the vector the aggregator writes now (a book being re-anchored is no vector a tick would judge)
    if (p.status === VectorStatus.Live && p.engine.book.isSane()) {
      p.engine.compute(t, vector);
      vectorUs = t;
    } else vectorUs = Number.NaN;
  }
  return { symbol, ticks, events, detector };
}
