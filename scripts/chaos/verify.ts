/**
 * The end of a soak: the whole Kinesis stream replayed offline through the
 * aggregator's own SymbolProcessor (what it must equal bit for bit), which
 * trade ids reached the features (each exchange id exactly once, none missing
 * except inside a backfill flagged incomplete), and which ticks got a
 * prediction (every one, or a counted reason).
 */
import { checkpointOf, type ReadRecord } from '@hotpath/kinesis';
import { SymbolProcessor, type Outcome } from '@hotpath/processor';
import { ignoreRejection, type DebugLogger } from '@hotpath/service';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';
import { FeatureStore, decodeVector, type FeatureVectorRecord } from '@hotpath/state';
import type { Redis } from 'ioredis';
import type { CountedMiss } from './probe.ts';
import type { FaultWindow } from './faults.ts';

export interface Replay {
  processor: SymbolProcessor;
  records: number;
  outcomes: Record<string, number>;
  trades: TradeAudit;
}

export interface TradeAudit {
  /** Trade entries in the stream's envelopes, copies included (what the ingestor published). */
  published: number;
  firstId: number;
  lastId: number;
  /** Ids that entered the feature windows, and how often. */
  applied: Map<number, number>;
  /** Ids in applied backfills left out of the windows as older than the newest trade (counted in the state). */
  late: Map<number, number>;
  writerOf: Map<number, number>;
  incompleteBackfills: [number, number][];
  unrepairedGapNotices: [number, number][];
  lateCountInState: number;
}

/** Replays every record of the symbol as the aggregator applies it, and audits trade ids on the way. */
export function replay(records: readonly ReadRecord[], symbol: string): Replay {
  const p = new SymbolProcessor(symbol);
  const env = new hotpath.EnvelopeDecoder();
  const frame = new spot.SpotStreamDecoder();
  const backfill = new hotpath.TradeBackfillDecoder();
  const gap = new hotpath.GapNoticeDecoder();
  const outcomes: Record<string, number> = {};
  const audit: TradeAudit = {
    published: 0,
    firstId: Number.POSITIVE_INFINITY,
    lastId: Number.NEGATIVE_INFINITY,
    applied: new Map(),
    late: new Map(),
    writerOf: new Map(),
    incompleteBackfills: [],
    unrepairedGapNotices: [],
    lateCountInState: 0,
  };
  const gapNotices: [number, number][] = [];
  const backfilled: [number, number][] = [];
  // the engine's rule for backfills (FeatureEngine.applyBackfill): older than the newest trade applied = late
  let lastTradeUs = Number.NaN;
  let n = 0;
  for (const r of records) {
    if (r.partitionKey !== symbol) continue;
    n++;
    const outcome: Outcome = p.apply(r.data, checkpointOf(r));
    p.checkpointShard = r.shardId;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (env.wrap(r.data) !== DecodeStatus.Ok) continue;
    const writer = env.writerId ?? 0;
    const kind = env.kind;
    const payload = env.payload();
    if (kind === hotpath.EnvelopeKind.StreamFrame && frame.wrap(payload) === DecodeStatus.Ok && frame.templateId === spot.TradesStreamEventDecoder.TEMPLATE_ID) {
      const g = frame.tradesStreamEvent.trades();
      const t = frame.tradesStreamEvent.transactTime;
      while (g.next()) {
        audit.published++;
        if (outcome !== 'applied') continue;
        add(audit.applied, g.id);
        if (!audit.writerOf.has(g.id)) audit.writerOf.set(g.id, writer);
        lastTradeUs = t;
      }
    } else if (kind === hotpath.EnvelopeKind.TradeBackfill && backfill.wrap(payload) === DecodeStatus.Ok) {
      if (outcome === 'applied') {
        backfilled.push([backfill.fromId, backfill.toId]);
        if (backfill.complete !== hotpath.BoolEnum.True) audit.incompleteBackfills.push([backfill.fromId, backfill.toId]);
      }
      const g = backfill.trades();
      while (g.next()) {
        audit.published++;
        if (outcome !== 'applied') continue;
        if (!Number.isNaN(lastTradeUs) && g.timeUs < lastTradeUs) add(audit.late, g.id);
        else {
          add(audit.applied, g.id);
          lastTradeUs = g.timeUs;
        }
        if (!audit.writerOf.has(g.id)) audit.writerOf.set(g.id, writer);
      }
    } else if (kind === hotpath.EnvelopeKind.GapNotice && outcome !== 'duplicate' && gap.wrap(payload) === DecodeStatus.Ok && gap.kind === hotpath.GapKind.TradeId) {
      gapNotices.push([gap.expectedId, gap.receivedId - 1]);
    }
  }
  for (const id of [...audit.applied.keys(), ...audit.late.keys()]) {
    if (id < audit.firstId) audit.firstId = id;
    if (id > audit.lastId) audit.lastId = id;
  }
  audit.unrepairedGapNotices = gapNotices.filter(([a, b]) => !backfilled.some(([x, y]) => x <= a && b <= y));
  audit.lateCountInState = p.lateBackfillTrades;
  return { processor: p, records: n, outcomes, trades: audit };
}

function add(m: Map<number, number>, id: number): void {
  m.set(id, (m.get(id) ?? 0) + 1);
}

export interface MissingRun {
  from: number;
  to: number;
  cause: 'incomplete_backfill' | 'gap_notice_without_backfill' | 'across_ingestor_restart' | 'unflagged';
}

export interface TradeVerdict {
  published: number;
  first_id: number;
  last_id: number;
  expected: number;
  applied_unique: number;
  duplicated: number;
  late_backfill: number;
  late_backfill_in_state: number;
  missing_flagged_incomplete: number;
  lost: number;
  lost_by_cause: Record<string, number>;
  lost_runs_sample: MissingRun[];
}

/** Exchange ids are consecutive (one per fill): every id between the first and the last seen must have arrived once. */
export function judgeTrades(a: TradeAudit): TradeVerdict {
  const seen = (id: number): boolean => a.applied.has(id) || a.late.has(id);
  const runs: MissingRun[] = [];
  const empty = a.firstId > a.lastId;
  if (!empty) {
    let runFrom = -1;
    for (let id = a.firstId; id <= a.lastId + 1; id++) {
      const missing = id <= a.lastId && !seen(id);
      if (missing && runFrom < 0) runFrom = id;
      if (!missing && runFrom >= 0) {
        runs.push({ from: runFrom, to: id - 1, cause: causeOf(a, runFrom, id - 1) });
        runFrom = -1;
      }
    }
  }
  const size = (r: MissingRun): number => r.to - r.from + 1;
  const lostRuns = runs.filter((r) => r.cause !== 'incomplete_backfill');
  const byCause: Record<string, number> = {};
  for (const r of lostRuns) byCause[r.cause] = (byCause[r.cause] ?? 0) + size(r);
  let late = 0;
  for (const v of a.late.values()) late += v;
  return {
    published: a.published,
    first_id: empty ? 0 : a.firstId,
    last_id: empty ? 0 : a.lastId,
    expected: empty ? 0 : a.lastId - a.firstId + 1,
    applied_unique: a.applied.size,
    duplicated: [...a.applied.values()].filter((c) => c > 1).length,
    late_backfill: late,
    late_backfill_in_state: a.lateCountInState,
    missing_flagged_incomplete: runs.filter((r) => r.cause === 'incomplete_backfill').reduce((s, r) => s + size(r), 0),
    lost: lostRuns.reduce((s, r) => s + size(r), 0),
    lost_by_cause: byCause,
    lost_runs_sample: lostRuns.slice(0, 10),
  };
}

function causeOf(a: TradeAudit, from: number, to: number): MissingRun['cause'] {
  if (a.incompleteBackfills.some(([x, y]) => x <= from && to <= y)) return 'incomplete_backfill';
  if (a.unrepairedGapNotices.some(([x, y]) => x <= from && to <= y)) return 'gap_notice_without_backfill';
  const before = a.writerOf.get(from - 1);
  const after = a.writerOf.get(to + 1);
  if (before !== undefined && after !== undefined && before !== after) return 'across_ingestor_restart';
  return 'unflagged';
}

export interface ReplayVerdict {
  records: number;
  outcomes: Record<string, number>;
  version_replay: number;
  version_live: number | null;
  status_live: number | null;
  vector_equal: boolean;
  engine_state_equal: boolean;
  processor_state_equal: boolean;
  /** Where the committed processor state differs from the replay's (fields other than the engine). */
  processor_state_diff?: Record<string, unknown>;
}

/** The live result in Redis (vector, committed state) against the replay, bit for bit. */
export async function judgeReplay(r: Replay, redis: Redis, symbol: string, log: DebugLogger): Promise<ReplayVerdict> {
  const store = new FeatureStore(redis);
  const want = decodeVector(r.processor.vectorBytes(0));
  let live: FeatureVectorRecord | undefined;
  try {
    live = await store.readVector(symbol);
  } catch {
    live = undefined;
  }
  const saved = await store.loadState(symbol).catch(ignoreRejection(log, 'a committed state that cannot be read equals nothing: the verdict says so'));
  let engineEqual = false;
  let processorEqual = false;
  let diff: Record<string, unknown> | undefined;
  if (saved !== undefined) {
    try {
      const restored = SymbolProcessor.restore(symbol, saved.state, '');
      engineEqual = restored.engine.serialize().equals(r.processor.engine.serialize());
      processorEqual = saved.state.equals(r.processor.serialize());
      if (!processorEqual) diff = processorDiff(restored, r.processor);
    } catch {
      // a state that does not restore equals nothing
    }
  }
  return {
    records: r.records,
    outcomes: r.outcomes,
    version_replay: want.version,
    version_live: live?.version ?? null,
    status_live: live?.status ?? null,
    vector_equal: live !== undefined && live.version === want.version && live.status === want.status && Buffer.from(live.features.buffer).equals(Buffer.from(want.features.buffer)),
    engine_state_equal: engineEqual,
    processor_state_equal: processorEqual,
    ...(diff !== undefined ? { processor_state_diff: diff } : {}),
  };
}

/** The processor fields (beside the engine) that differ: live → replay. */
function processorDiff(live: SymbolProcessor, want: SymbolProcessor): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = (p: SymbolProcessor) => ({ version: p.version, status: p.status, reanchorStartUs: p.reanchorStartUs, lateBackfillTrades: p.lateBackfillTrades, writers: p.writers() });
  const a = fields(live);
  const b = fields(want);
  for (const k of Object.keys(a) as (keyof typeof a)[]) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = { live: a[k], replay: b[k] };
  }
  if (Object.keys(out).length === 0) out['bytes'] = 'fields equal, bytes differ (NaN payloads?)';
  return out;
}

export interface TickVerdict {
  from_ms: number;
  to_ms: number;
  expected: number;
  written: number;
  fallback_by_reason: Record<string, number>;
  missing_by_reason: Record<string, number>;
  silent: number;
  silent_sample_ms: number[];
  misaligned: number;
}

export interface PredictionEntry {
  id: string;
  tickMs: number;
  fallback: boolean;
  reason: string | null;
}

/**
 * Every tick in [fromMs, toMs] has a prediction in the stream, or a reason:
 * a window the harness knows (Redis down, read-only, hung; no inference
 * replica serving), or a miss a replica counted (inference_ticks_missed_total,
 * a local fallback without Redis) within a few seconds of the tick.
 */
export function judgeTicks(
  entries: readonly PredictionEntry[],
  fromMs: number,
  toMs: number,
  intervalMs: number,
  windows: readonly FaultWindow[],
  counted: readonly CountedMiss[],
  countSlackMs: number,
): TickVerdict {
  const byTick = new Map<number, PredictionEntry>();
  let misaligned = 0;
  for (const e of entries) {
    if (e.id !== `${e.tickMs}-0` || e.tickMs % intervalMs !== 0) misaligned++;
    byTick.set(e.tickMs, e);
  }
  const fallback: Record<string, number> = {};
  const missing: Record<string, number> = {};
  const silent: number[] = [];
  const pool = counted.map((c) => ({ ...c }));
  let expected = 0;
  let written = 0;
  for (let t = fromMs; t <= toMs; t += intervalMs) {
    expected++;
    const e = byTick.get(t);
    if (e !== undefined) {
      written++;
      if (e.fallback) fallback[e.reason ?? 'unflagged'] = (fallback[e.reason ?? 'unflagged'] ?? 0) + 1;
      continue;
    }
    const w = windows.find((x) => x.startMs <= t && t <= x.endMs);
    if (w !== undefined) {
      missing[w.reason] = (missing[w.reason] ?? 0) + 1;
      continue;
    }
    const c = pool.find((x) => x.n > 0 && x.atMs >= t && x.atMs <= t + countSlackMs);
    if (c !== undefined) {
      c.n--;
      missing[`counted:${c.reason}`] = (missing[`counted:${c.reason}`] ?? 0) + 1;
      continue;
    }
    silent.push(t);
  }
  return { from_ms: fromMs, to_ms: toMs, expected, written, fallback_by_reason: fallback, missing_by_reason: missing, silent: silent.length, silent_sample_ms: silent.slice(0, 10), misaligned };
}
