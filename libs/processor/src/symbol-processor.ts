/**
 * One symbol's processing: envelopes in log order → FeatureEngine, with
 * de-duplication (checkpoint and envelope identity), the re-anchoring state
 * machine, and what gets committed. Pure logic: no I/O here, so the same
 * class replays a capture offline and runs live.
 */
import { FEATURE_COUNT, FEATURE_SCHEMA_HASH, FeatureEngine, StateFormatError, StateReader, StateWriter, VectorStatus, encodeVector, type VectorTraceContext } from '@hotpath/features';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';

export type Outcome = 'applied' | 'duplicate' | 'ignored' | 'reanchor_started' | 'reanchored' | 'reanchor_failed' | 'undecodable';

/** Writers remembered per symbol (least recently seen forgotten first): more than ever interleave on one key. */
export const MAX_TRACKED_WRITERS = 4;
/** Marks the current state layout (its first f64; the legacy layout starts with the version, ≥ 0). */
const STATE_LAYOUT_WRITERS = -2;

export class SymbolProcessor {
  engine: FeatureEngine;
  /** Events applied (the vector's version). */
  version = 0;
  status: VectorStatus = VectorStatus.Stale;
  /**
   * Per writer (contract 2): the last (epoch, sequence) applied and the newest
   * receive time among its envelopes. Slot 0 is the most recently seen writer.
   */
  private readonly writerIds = new Float64Array(MAX_TRACKED_WRITERS).fill(Number.NaN);
  private readonly writerEpochs = new Float64Array(MAX_TRACKED_WRITERS);
  private readonly writerSequences = new Float64Array(MAX_TRACKED_WRITERS);
  private readonly writerReceiveUs = new Float64Array(MAX_TRACKED_WRITERS);
  /**
   * Set when the last envelope had an identity at or below its writer's last one
   * but was received later than anything of that writer: not a copy, so it was
   * applied (a writer that reused its id must never be ignored). The caller
   * counts and logs it, then clears the flag.
   */
  identityRegressed = false;
  checkpoint = '';
  /** Event time (µs) the current re-anchoring started; NaN when none. */
  reanchorStartUs = Number.NaN;
  /** How long (event time, µs) the last re-anchoring took, set with the 'reanchored' outcome; NaN for a start-up anchor. */
  lastReanchorDurationUs = Number.NaN;
  lateBackfillTrades = 0;
  /** The shard `checkpoint` belongs to: after resharding, a child's records follow the parent's. */
  checkpointShard = '';
  /** Restored from a checkpoint and not yet past it: records up to it were applied before and must be skipped. */
  resuming = false;
  private readonly env = new hotpath.EnvelopeDecoder();
  private readonly frame = new spot.SpotStreamDecoder();
  private readonly snap = new hotpath.DepthSnapshotDecoder();
  private readonly gap = new hotpath.GapNoticeDecoder();
  private readonly conn = new hotpath.ConnectionEventDecoder();
  private readonly backfill = new hotpath.TradeBackfillDecoder();
  private readonly vector = new Float64Array(FEATURE_COUNT);
  /**
   * The trace context every vector of the symbol carries (docs/tracing.md): set by the aggregator to the `redis
   * publish` span of the newest sampled event applied, kept until a newer one replaces it, so ticks between samples
   * still link to the latest sampled event. Not in the committed state: after a restart, none until the next sample.
   */
  trace: VectorTraceContext | undefined;

  constructor(readonly symbol: string) {
    this.engine = new FeatureEngine(symbol);
  }

  /** The envelope apply() last read (valid until the next apply; undecodable → its fields must not be read): tracing reads its trace context. */
  get envelope(): hotpath.EnvelopeDecoder {
    return this.env;
  }

  /** Applies one envelope. `checkpoint` is its position in the log. */
  apply(data: Uint8Array, checkpoint: string): Outcome {
    this.checkpoint = checkpoint;
    const e = this.env;
    if (e.wrap(data) !== DecodeStatus.Ok) return 'undecodable';
    if (this.isDuplicate(e.writerId ?? 0, e.connectionEpoch, e.sequence, e.receiveTimeUs)) return 'duplicate';
    const payload = e.payload();
    switch (e.kind) {
      case hotpath.EnvelopeKind.StreamFrame: {
        if (this.frame.wrap(payload) !== DecodeStatus.Ok) return 'undecodable';
        if (this.frame.templateId === spot.TradesStreamEventDecoder.TEMPLATE_ID) {
          this.engine.applyTrades(this.frame.tradesStreamEvent);
        } else if (this.frame.templateId === spot.DepthDiffStreamEventDecoder.TEMPLATE_ID) {
          const clock = this.engine.eventTimeUs;
          const r = this.engine.applyDiff(this.frame.depthDiffStreamEvent);
          if (r === 'gap') return this.startReanchor();
          // A diff the book already holds (another writer's copy, a replayed one) at no newer event time left the
          // engine as it was: no new version, so readers are not sent the same vector again.
          if (r === 'stale' && this.engine.eventTimeUs === clock) return 'ignored';
        } else return 'ignored';
        this.version++;
        return 'applied';
      }
      case hotpath.EnvelopeKind.GapNotice:
        if (this.gap.wrap(payload) !== DecodeStatus.Ok) return 'undecodable';
        return this.gap.kind === hotpath.GapKind.TradeId ? 'ignored' : this.startReanchor();
      case hotpath.EnvelopeKind.ConnectionEvent:
        if (this.conn.wrap(payload) !== DecodeStatus.Ok) return 'undecodable';
        return this.conn.type === hotpath.ConnectionEventType.Connected ? this.startReanchor() : 'ignored';
      case hotpath.EnvelopeKind.DepthSnapshot: {
        if (this.snap.wrap(payload) !== DecodeStatus.Ok) return 'undecodable';
        const live = this.status === VectorStatus.Live;
        // A snapshot fetched before the updates the live book has applied (a late or repeated fetch) would take it back in time.
        if (live && this.snap.lastUpdateId < this.engine.book.lastUpdateId) return 'ignored';
        // The new book is built beside the live one and swapped in only when it validates.
        const candidate = FeatureEngine.restore(this.symbol, this.engine.serialize());
        const joined = candidate.applySnapshot(this.snap, this.engine.eventTimeUs);
        if (joined !== 'applied' || !candidate.book.isSane()) {
          // A live book is intact and still followed by the diffs; only a book being re-anchored is left without one.
          if (!live) this.status = VectorStatus.Stale;
          return 'reanchor_failed';
        }
        this.engine = candidate;
        this.status = VectorStatus.Live;
        this.version++;
        // gap → swap in event time (NaN for a start-up anchor, which has no gap to time); reset here, so a replay's
        // state equals the live one
        this.lastReanchorDurationUs = !Number.isNaN(this.reanchorStartUs) && this.reanchorStartUs > 0 ? this.engine.eventTimeUs - this.reanchorStartUs : Number.NaN;
        this.reanchorStartUs = Number.NaN;
        return 'reanchored';
      }
      case hotpath.EnvelopeKind.TradeBackfill:
        if (this.backfill.wrap(payload) !== DecodeStatus.Ok) return 'undecodable';
        this.lateBackfillTrades += this.engine.applyBackfill(this.backfill);
        this.version++;
        return 'applied';
      default:
        return 'ignored';
    }
  }

  /**
   * A writer's sequence alone orders its envelopes (one counter for the
   * process's life); the connection epoch is not part of the order, because a
   * snapshot or backfill started on one connection may be published after the
   * next connection's frames. Writer 0 (schema v0, one sequence per
   * connection) is ordered by (epoch, sequence). A producer retry
   * writes a whole Kinesis record again, right after the first copy (one put
   * in flight per key). A copy is at or below its writer's last identity AND
   * was received no later than that writer's newest envelope; anything else is
   * new data and is applied — so a writer whose identity went backwards is
   * flagged, never ignored.
   */
  private isDuplicate(writerId: number, epoch: number, seq: number, receiveTimeUs: number): boolean {
    const ids = this.writerIds;
    let i = 0;
    while (i < MAX_TRACKED_WRITERS && ids[i] !== writerId) i++;
    if (i === MAX_TRACKED_WRITERS) {
      i = MAX_TRACKED_WRITERS - 1; // a new writer takes the least recently seen slot
      this.writerEpochs[i] = -1;
      this.writerReceiveUs[i] = Number.NEGATIVE_INFINITY;
    } else if (writerId === 0 ? epoch < this.writerEpochs[i]! || (epoch === this.writerEpochs[i]! && seq <= this.writerSequences[i]!) : seq <= this.writerSequences[i]!) {
      if (receiveTimeUs <= this.writerReceiveUs[i]!) return true;
      this.identityRegressed = true;
    }
    if (i !== 0) this.moveToFront(i);
    ids[0] = writerId;
    this.writerEpochs[0] = epoch;
    this.writerSequences[0] = seq;
    if (receiveTimeUs > this.writerReceiveUs[0]!) this.writerReceiveUs[0] = receiveTimeUs;
    return false;
  }

  private moveToFront(i: number): void {
    for (const a of [this.writerIds, this.writerEpochs, this.writerSequences, this.writerReceiveUs]) {
      const x = a[i]!;
      a.copyWithin(1, 0, i);
      a[0] = x;
    }
  }

  /** The writers this symbol has seen, most recent first (diagnostics and tests). */
  writers(): { writerId: number; epoch: number; sequence: number; receiveTimeUs: number }[] {
    const out = [];
    for (let i = 0; i < MAX_TRACKED_WRITERS && !Number.isNaN(this.writerIds[i]); i++) {
      out.push({ writerId: this.writerIds[i]!, epoch: this.writerEpochs[i]!, sequence: this.writerSequences[i]!, receiveTimeUs: this.writerReceiveUs[i]! });
    }
    return out;
  }

  private startReanchor(): Outcome {
    this.engine.book.invalidate();
    this.status = VectorStatus.Reanchoring;
    this.reanchorStartUs = this.engine.eventTimeUs;
    return 'reanchor_started';
  }

  /** The vector to publish now (at the symbol's event time). */
  vectorBytes(writtenAtUs: number): Buffer {
    const t = this.engine.eventTimeUs;
    const v = this.engine.compute(t, this.vector);
    const book = this.engine.book;
    return encodeVector({
      status: this.status,
      version: this.version,
      eventTimeUs: t,
      writtenAtUs,
      bestBid: book.bestBid * 1e-8,
      bestAsk: book.bestAsk * 1e-8,
      schemaHash: FEATURE_SCHEMA_HASH,
      features: v,
      trace: this.trace,
    });
  }

  /** Everything to resume exactly: processor fields + engine state. */
  serialize(): Buffer {
    const w = new StateWriter().header();
    w.f64(STATE_LAYOUT_WRITERS).f64(this.version).f64(this.status).f64(this.reanchorStartUs).f64(this.lateBackfillTrades);
    for (let i = 0; i < MAX_TRACKED_WRITERS; i++) w.f64(this.writerIds[i]!).f64(this.writerEpochs[i]!).f64(this.writerSequences[i]!).f64(this.writerReceiveUs[i]!);
    const engine = this.engine.serialize();
    return Buffer.concat([w.finish(), engine]);
  }

  /** Throws StateFormatError (from @hotpath/features) on bytes that are not a processor state. */
  static restore(symbol: string, state: Buffer, checkpoint: string): SymbolProcessor {
    const p = new SymbolProcessor(symbol);
    const r = new StateReader(state);
    r.header();
    const first = r.f64();
    let head: number;
    if (first === STATE_LAYOUT_WRITERS) {
      p.version = r.f64();
      p.status = r.f64() as VectorStatus;
      p.reanchorStartUs = r.f64();
      p.lateBackfillTrades = r.f64();
      for (let i = 0; i < MAX_TRACKED_WRITERS; i++) {
        p.writerIds[i] = r.f64();
        p.writerEpochs[i] = r.f64();
        p.writerSequences[i] = r.f64();
        p.writerReceiveUs[i] = r.f64();
      }
      head = 8 + (5 + 4 * MAX_TRACKED_WRITERS) * 8;
    } else {
      // the layout before writer ids: one (epoch, sequence), no receive time — its writer is 0, compared as before
      p.version = first;
      p.status = r.f64() as VectorStatus;
      p.writerIds[0] = 0;
      p.writerEpochs[0] = r.f64();
      p.writerSequences[0] = r.f64();
      p.writerReceiveUs[0] = Number.POSITIVE_INFINITY;
      p.reanchorStartUs = r.f64();
      p.lateBackfillTrades = r.f64();
      head = 8 + 6 * 8;
    }
    // Redis contents are untrusted: a state that decodes to nonsense is refused whole
    if (!Number.isSafeInteger(p.version) || p.version < 0) throw new StateFormatError(`version ${p.version} is not a count`);
    if (p.status !== VectorStatus.Live && p.status !== VectorStatus.Stale && p.status !== VectorStatus.Reanchoring) throw new StateFormatError(`status ${p.status} unknown`);
    p.engine = FeatureEngine.restore(symbol, state.subarray(head));
    p.checkpoint = checkpoint;
    p.resuming = checkpoint !== '';
    return p;
  }
}
