/**
 * One symbol's processing: envelopes in log order → FeatureEngine, with
 * de-duplication (checkpoint and envelope identity), the re-anchoring state
 * machine, and what gets committed. Pure logic: no I/O here, so the same
 * class replays a capture offline and runs live.
 */
import { FEATURE_COUNT, FEATURE_SCHEMA_HASH, FeatureEngine, StateReader, StateWriter } from '@hotpath/features';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';
import { VectorStatus, encodeVector } from '@hotpath/state';


export type Outcome = 'applied' | 'duplicate' | 'ignored' | 'reanchor_started' | 'reanchored' | 'reanchor_failed' | 'undecodable';

export class SymbolProcessor {
  engine: FeatureEngine;
  /** Events applied (the vector's version). */
  version = 0;
  status: VectorStatus = VectorStatus.Stale;
  lastEpoch = 0;
  lastSequence = 0;
  checkpoint = '';
  /** Event time (µs) the current re-anchoring started; NaN when none. */
  reanchorStartUs = Number.NaN;
  lateBackfillTrades = 0;
  /** Applied events not yet in committed state (not part of the state itself). */
  stateDirty = false;
  /** Version and status of the vector last written to Redis: an unchanged vector is not sent again. */
  publishedVersion = -1;
  publishedStatus: VectorStatus | -1 = -1;
  /** The shard `checkpoint` belongs to: after resharding, a child's records follow the parent's. */
  checkpointShard = '';
  /** Restored from a checkpoint and not yet past it: records up to it were applied before and must be skipped. */
  resuming = false;
  stateCommittedAtMs = 0;
  private readonly env = new hotpath.EnvelopeDecoder();
  private readonly frame = new spot.SpotStreamDecoder();
  private readonly snap = new hotpath.DepthSnapshotDecoder();
  private readonly gap = new hotpath.GapNoticeDecoder();
  private readonly conn = new hotpath.ConnectionEventDecoder();
  private readonly backfill = new hotpath.TradeBackfillDecoder();
  private readonly vector = new Float64Array(FEATURE_COUNT);

  constructor(readonly symbol: string) {
    this.engine = new FeatureEngine(symbol);
  }

  /** Applies one envelope. `checkpoint` is its position in the log. */
  apply(data: Uint8Array, checkpoint: string): Outcome {
    this.checkpoint = checkpoint;
    const e = this.env;
    if (e.wrap(data) !== DecodeStatus.Ok) return 'undecodable';
    const epoch = e.connectionEpoch;
    const seq = e.sequence;
    // (epoch, sequence) identifies an envelope: a producer retry can write one twice.
    if (epoch < this.lastEpoch || (epoch === this.lastEpoch && seq <= this.lastSequence)) return 'duplicate';
    this.lastEpoch = epoch;
    this.lastSequence = seq;
    const payload = e.payload();
    switch (e.kind) {
      case hotpath.EnvelopeKind.StreamFrame: {
        if (this.frame.wrap(payload) !== DecodeStatus.Ok) return 'undecodable';
        if (this.frame.templateId === spot.TradesStreamEventDecoder.TEMPLATE_ID) {
          this.engine.applyTrades(this.frame.tradesStreamEvent);
        } else if (this.frame.templateId === spot.DepthDiffStreamEventDecoder.TEMPLATE_ID) {
          const r = this.engine.applyDiff(this.frame.depthDiffStreamEvent);
          if (r === 'gap') return this.startReanchor();
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
        // The new book is built beside the live one and swapped in only when it validates.
        const candidate = FeatureEngine.restore(this.symbol, this.engine.serialize());
        const joined = candidate.applySnapshot(this.snap, this.engine.eventTimeUs);
        if (joined !== 'applied' || !candidate.book.isSane()) {
          this.status = VectorStatus.Stale;
          return 'reanchor_failed';
        }
        this.engine = candidate;
        this.status = VectorStatus.Live;
        this.version++;
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
    });
  }

  /** Everything to resume exactly: processor fields + engine state. */
  serialize(): Buffer {
    const w = new StateWriter().header();
    w.f64(this.version).f64(this.status).f64(this.lastEpoch).f64(this.lastSequence).f64(this.reanchorStartUs).f64(this.lateBackfillTrades);
    const engine = this.engine.serialize();
    return Buffer.concat([w.finish(), engine]);
  }

  static restore(symbol: string, state: Buffer, checkpoint: string): SymbolProcessor {
    const p = new SymbolProcessor(symbol);
    const head = 8 + 6 * 8;
    const r = new StateReader(state.subarray(0, head));
    r.header();
    p.version = r.f64();
    p.status = r.f64() as VectorStatus;
    p.lastEpoch = r.f64();
    p.lastSequence = r.f64();
    p.reanchorStartUs = r.f64();
    p.lateBackfillTrades = r.f64();
    p.engine = FeatureEngine.restore(symbol, state.subarray(head));
    p.checkpoint = checkpoint;
    p.resuming = checkpoint !== '';
    return p;
  }
}
