/**
 * Per-symbol continuity: depth-diff update ids and trade ids across every
 * connection. Frames already covered (the overlap of a make-before-break
 * switch, duplicates) are dropped; a hole in either sequence is announced
 * with a GapNotice and repaired through REST (a depth snapshot, or the
 * missing trades), published as envelopes in stream order. Nothing is
 * dropped silently: every gap, snapshot, backfill and failure is counted and
 * logged with its ids. With tracing on, every repair is a trace of its own
 * (`re-anchor`, `trade backfill`: rare, and what an SRE looks into), its REST
 * calls and Kinesis puts as children, continued by the aggregator.
 */
import { BinanceJsonTranscoder, hotpath, spot } from '@hotpath/sbe';
import { backoffDelay, ignoreRejection, sleep } from '@hotpath/service';
import { Counter, type Logger, type Registry } from '@hotpath/telemetry';
import { type Span, SpanStatusCode, spanClock, type Tracing } from '@hotpath/tracing';
import type { Publisher } from './publisher.ts';
import type { BinanceRest, RestTrade } from './rest.ts';
import type { ResumePoint } from './resume.ts';

interface SymbolState {
  /** Set by a new connection: its first diff may jump; the connection's own snapshot re-anchors it. */
  reconnected: boolean;
  lastDiffId: number;
  lastTradeId: number;
  lastBboId: number;
  snapshotPending: boolean;
  /**
   * The first diff id after the latest break (gap or new connection) that no
   * published snapshot covers yet: a snapshot repairs it only if its
   * lastUpdateId + 1 ≥ this (Binance: a snapshot older than the first
   * buffered diff cannot be joined). -1: nothing to repair; 0: a new
   * connection whose first diff has not arrived.
   */
  repairFrom: number;
  /** lastUpdateId of the latest snapshot published, -1 before the first. */
  anchoredAt: number;
}

/**
 * A snapshot that failed (after the REST client's own attempts) is tried again
 * with the one backoff policy, up to every 30 s, until it succeeds or the
 * ingestor stops: a book left unanchored would stay `reanchoring` downstream.
 */
const SNAPSHOT_RETRY = { baseMs: 500, maxMs: 30_000 } as const;
/** Failures after which each further one is logged as an error (the aggregator's symbol is stale meanwhile). */
const SNAPSHOT_FAILURES_BEFORE_ERROR = 5;

export interface TrackerMetrics {
  gaps: Counter<'kind'>;
  snapshots: Counter<'result'>;
  backfills: Counter<'result'>;
  duplicates: Counter<'message_type'>;
}

/** Trades per TradeBackfill envelope: 34 bytes each, well inside one Kinesis record. */
export const BACKFILL_TRADES_PER_ENVELOPE = 10_000;

function isRestTrade(t: unknown): t is RestTrade {
  const x = t as RestTrade;
  return (
    typeof x === 'object' && x !== null && Number.isSafeInteger(x.id) && typeof x.price === 'string' && typeof x.qty === 'string' && Number.isSafeInteger(x.time) && typeof x.isBuyerMaker === 'boolean'
  );
}

export class SymbolTracker {
  private readonly states = new Map<string, SymbolState>();
  private readonly metrics: TrackerMetrics;
  private readonly transcoder = new BinanceJsonTranscoder();
  private readonly gapEncoder = new hotpath.GapNoticeEncoder();
  private readonly backfillEncoder = new hotpath.TradeBackfillEncoder();
  private readonly scratch = Buffer.alloc(4 * 1024 * 1024);
  /** Re-anchoring work in flight (tests and shutdown wait for it). */
  readonly pending = new Set<Promise<void>>();
  private readonly stopController = new AbortController();
  /** Aborted on shutdown: REST calls and retry waits end at once. */
  readonly stopSignal = this.stopController.signal;

  get stopping(): boolean {
    return this.stopSignal.aborted;
  }

  /** No more snapshots, backfills or retries; what is in flight ends at once. */
  stop(): void {
    this.stopController.abort(new Error('ingestor stopping'));
  }

  constructor(
    symbols: readonly string[],
    private readonly publisher: Publisher,
    private readonly rest: BinanceRest,
    private readonly snapshotLimit: number,
    registry: Registry,
    private readonly log: Logger,
    private readonly maxBackfillTrades = 50_000,
    /** Repairs are traced when it is enabled (docs/tracing.md). */
    private readonly tracing?: Tracing,
  ) {
    for (const s of symbols) this.states.set(s, { reconnected: false, lastDiffId: -1, lastTradeId: -1, lastBboId: -1, snapshotPending: false, repairFrom: -1, anchoredAt: -1 });
    this.metrics = {
      gaps: new Counter({ name: 'ingestor_sbe_sequence_gaps_total', help: 'Detected sequence gaps', labelNames: ['kind'], registers: [registry] }),
      snapshots: new Counter({ name: 'ingestor_snapshots_total', help: 'Depth snapshots fetched for re-anchoring', labelNames: ['result'], registers: [registry] }),
      backfills: new Counter({ name: 'ingestor_backfills_total', help: 'Trade backfills', labelNames: ['result'], registers: [registry] }),
      duplicates: new Counter({
        name: 'ingestor_duplicate_frames_total',
        help: 'Frames already covered (connection overlap, redelivery), not forwarded',
        labelNames: ['message_type'],
        registers: [registry],
      }),
    };
    this.waitCutShort = ignoreRejection(log, 'the wait before the next snapshot ends early only when the ingestor stops, and the loop checks for that');
  }

  private readonly waitCutShort: (err: unknown) => void;

  /**
   * Decides what to do with a decoded frame: true = publish it. Gap handling
   * starts here (asynchronously) before the frame itself is published.
   */
  accept(decoder: spot.SpotStreamDecoder, symbol: string, epoch: number, receiveTimeUs: number): boolean {
    const st = this.states.get(symbol);
    if (st === undefined) return false;
    switch (decoder.templateId) {
      case spot.DepthDiffStreamEventDecoder.TEMPLATE_ID: {
        const d = decoder.depthDiffStreamEvent;
        const first = d.firstBookUpdateId;
        const last = d.lastBookUpdateId;
        if (last <= st.lastDiffId) {
          this.metrics.duplicates.inc({ message_type: 'depth' });
          return false;
        }
        if (st.reconnected) {
          st.reconnected = false;
          if (st.lastDiffId >= 0 && first > st.lastDiffId + 1) {
            this.metrics.gaps.inc({ kind: 'connection' });
            this.log.info({ symbol, expected: st.lastDiffId + 1, received: first, epoch }, 'depth ids jumped across the reconnect; the connection snapshot re-anchors');
          }
          // The connection's snapshot may have been taken before this first diff: it must reach it.
          if (st.repairFrom >= 0 || st.anchoredAt + 1 < first) this.needSnapshot(symbol, epoch, first);
        } else if (st.lastDiffId >= 0 && first > st.lastDiffId + 1) {
          this.metrics.gaps.inc({ kind: 'depth' });
          this.log.warn({ symbol, expected: st.lastDiffId + 1, received: first, epoch }, 'depth update-id gap');
          this.publishGap(symbol, epoch, receiveTimeUs, hotpath.GapKind.DepthUpdateId, st.lastDiffId + 1, first);
          this.needSnapshot(symbol, epoch, first);
        }
        st.lastDiffId = last;
        return true;
      }
      case spot.TradesStreamEventDecoder.TEMPLATE_ID: {
        const g = decoder.tradesStreamEvent.trades();
        if (g.count === 0) return true;
        const firstId = g.at(0).id;
        const lastId = g.at(g.count - 1).id;
        if (lastId <= st.lastTradeId) {
          this.metrics.duplicates.inc({ message_type: 'trade' });
          return false;
        }
        if (st.lastTradeId >= 0 && firstId > st.lastTradeId + 1) {
          this.metrics.gaps.inc({ kind: 'trade' });
          this.log.warn({ symbol, expected: st.lastTradeId + 1, received: firstId, epoch }, 'trade-id gap');
          this.publishGap(symbol, epoch, receiveTimeUs, hotpath.GapKind.TradeId, st.lastTradeId + 1, firstId);
          this.requestBackfill(symbol, epoch, st.lastTradeId + 1, firstId - 1);
        }
        st.lastTradeId = lastId;
        return true;
      }
      case spot.BestBidAskStreamEventDecoder.TEMPLATE_ID: {
        const id = decoder.bestBidAskStreamEvent.bookUpdateId;
        // bookUpdateId has normal gaps (auto-culling); it only orders and de-duplicates.
        if (id <= st.lastBboId) {
          this.metrics.duplicates.inc({ message_type: 'best_bid_ask' });
          return false;
        }
        st.lastBboId = id;
        return true;
      }
      default:
        return true;
    }
  }

  /**
   * Takes over from a predecessor (resume.ts): trades continue from its newest
   * trade id, so the first trade of the new connection reads as a gap if any
   * were missed, and gaps it announced but never backfilled are backfilled now.
   */
  resume(symbol: string, point: ResumePoint): void {
    const st = this.states.get(symbol);
    if (st === undefined) return;
    if (point.lastTradeId > st.lastTradeId) st.lastTradeId = point.lastTradeId;
    for (const g of point.unrepairedTradeGaps) {
      this.metrics.gaps.inc({ kind: 'trade_unrepaired' });
      this.log.warn({ symbol, fromId: g.fromId, toId: g.toId }, 'a predecessor announced this trade gap and never backfilled it: backfilling');
      this.requestBackfill(symbol, 0, g.fromId, g.toId);
    }
  }

  /** The newest trade id seen or resumed from (-1: none yet). */
  lastTradeIdOf(symbol: string): number {
    return this.states.get(symbol)?.lastTradeId ?? -1;
  }

  /** A new connection (not a switch-over): every book must be re-anchored. */
  onNewConnection(epoch: number): void {
    for (const [symbol, st] of this.states) {
      st.reconnected = true;
      this.needSnapshot(symbol, epoch, 0);
    }
  }

  private publishGap(symbol: string, epoch: number, t: number, kind: hotpath.GapKind, expected: number, received: number): void {
    const e = this.gapEncoder.wrapAndApplyHeader(this.scratch).detectedAtUs(t).expectedId(expected).receivedId(received).kind(kind).symbol(symbol);
    this.publisher.publish(hotpath.EnvelopeKind.GapNotice, symbol, epoch, t, this.scratch.subarray(0, e.encodedLength));
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /**
   * A break whose first diff id is `from` (0: not known yet) needs a snapshot
   * that reaches it. One REST call per symbol at a time: a break found while
   * one is in flight is checked against its answer, and another is fetched
   * when that answer is older than the break.
   */
  private needSnapshot(symbol: string, epoch: number, from: number): void {
    const st = this.states.get(symbol)!;
    st.repairFrom = Math.max(st.repairFrom, from);
    if (st.snapshotPending) return;
    st.snapshotPending = true;
    this.track(this.snapshotUntilRepaired(symbol, st, epoch));
  }

  private async snapshotUntilRepaired(symbol: string, st: SymbolState, epoch: number): Promise<void> {
    let failures = 0;
    const repair = this.startRepair('re-anchor', symbol, epoch);
    repair?.span.setAttribute('repair_from', st.repairFrom);
    try {
      while (st.repairFrom >= 0 && !this.stopping) {
        const call = repair && this.tracing!.startChild('rest depth snapshot', repair.span);
        try {
          const snap = await this.rest.depth(symbol, this.snapshotLimit, call?.spanContext());
          call?.setAttribute('last_update_id', snap.lastUpdateId);
          call?.end(spanClock());
          const n = this.transcoder.encodeDepthSnapshot(symbol, snap, snap.requestTimeUs, snap.receiveTimeUs, this.scratch);
          this.publishTraced(repair, hotpath.EnvelopeKind.DepthSnapshot, symbol, epoch, snap.receiveTimeUs, this.scratch.subarray(0, n));
          this.metrics.snapshots.inc({ result: 'ok' });
          st.anchoredAt = snap.lastUpdateId;
          failures = 0;
          if (snap.lastUpdateId + 1 >= st.repairFrom) {
            st.repairFrom = -1;
            this.log.info({ symbol, lastUpdateId: snap.lastUpdateId, epoch }, 're-anchor snapshot published');
          } else this.log.warn({ symbol, lastUpdateId: snap.lastUpdateId, needed: st.repairFrom, epoch }, 'snapshot older than a break found while it was fetched: fetching another');
        } catch (err) {
          if (call?.isRecording()) failed(call, err);
          this.metrics.snapshots.inc({ result: 'failed' });
          if (this.stopping) return;
          const delay = backoffDelay(failures++, SNAPSHOT_RETRY);
          if (failures > SNAPSHOT_FAILURES_BEFORE_ERROR)
            this.log.error({ symbol, err, failures, retryInMs: Math.round(delay) }, 'depth snapshot keeps failing: the book stays unanchored until one succeeds');
          else this.log.warn({ symbol, err, retryInMs: Math.round(delay) }, 'depth snapshot failed: retrying');
          await sleep(delay, this.stopSignal).catch(this.waitCutShort);
        }
      }
    } finally {
      st.snapshotPending = false;
      if (repair !== undefined) {
        if (st.repairFrom >= 0) repair.span.addEvent('not repaired', { reason: 'the ingestor stopped' });
        finishRepair(repair);
      }
    }
  }

  /** A repair's own trace (none when tracing is off). */
  private startRepair(name: string, symbol: string, epoch: number): RepairTrace | undefined {
    if (this.tracing?.enabled !== true) return undefined;
    const span = this.tracing.startRoot(name);
    span.setAttribute('symbol', symbol);
    span.setAttribute('connection_epoch', epoch);
    return { span, puts: 0, done: false };
  }

  /** Publishes an envelope of a repair; traced, it carries a `kinesis put` span's context, ended at the ack. */
  private publishTraced(repair: RepairTrace | undefined, kind: hotpath.EnvelopeKind, symbol: string, epoch: number, receiveTimeUs: number, payload: Uint8Array): boolean {
    if (repair === undefined) return this.publisher.publish(kind, symbol, epoch, receiveTimeUs, payload);
    const put = this.tracing!.startChild('kinesis put', repair.span);
    repair.puts++;
    const acked = () => {
      const t = spanClock();
      put.end(t);
      repair.puts--;
      if (repair.done && repair.puts === 0) repair.span.end(t);
    };
    const ok = this.publisher.publish(kind, symbol, epoch, receiveTimeUs, payload, acked, put.spanContext());
    if (!ok) {
      put.addEvent('dropped', { reason: 'refused: the producer buffer is full, the payload too large or the publisher closed' });
      put.setStatus({ code: SpanStatusCode.ERROR });
      acked();
    }
    return ok;
  }

  private requestBackfill(symbol: string, epoch: number, fromId: number, toId: number): void {
    this.track(
      (async () => {
        const repair = this.startRepair('trade backfill', symbol, epoch);
        repair?.span.setAttribute('from_id', fromId);
        repair?.span.setAttribute('to_id', toId);
        try {
          // The exchange's ids are not trusted to bound the work: only the newest maxBackfillTrades are fetched.
          const firstWanted = Math.max(fromId, toId - this.maxBackfillTrades + 1);
          const trades: RestTrade[] = [];
          let next = firstWanted;
          while (next <= toId && !this.stopping) {
            const call = repair && this.tracing!.startChild('rest historical trades', repair.span);
            const page = await this.rest.historicalTrades(symbol, next, toId - next + 1, call?.spanContext()).catch((err: unknown) => {
              if (call !== undefined) failed(call, err);
              throw err;
            });
            call?.setAttribute('trades', Array.isArray(page) ? page.length : -1);
            call?.end(spanClock());
            if (!Array.isArray(page)) throw new TypeError('historicalTrades answer is not an array');
            const useful = page.filter((t) => isRestTrade(t) && t.id >= next && t.id <= toId);
            if (useful.length === 0) break;
            trades.push(...useful);
            next = useful[useful.length - 1]!.id + 1;
          }
          const parts = this.publishBackfill(repair, symbol, epoch, fromId, toId, trades);
          const complete = trades.length === toId - fromId + 1;
          this.metrics.backfills.inc({ result: complete ? 'complete' : 'partial' });
          repair?.span.setAttribute('recovered', trades.length);
          if (!complete) repair?.span.addEvent('partial', { recovered: trades.length, wanted: toId - fromId + 1 });
          this.log.info({ symbol, fromId, toId, recovered: trades.length, envelopes: parts }, 'trade backfill published');
        } catch (err) {
          this.metrics.backfills.inc({ result: 'failed' });
          if (repair !== undefined) failed(repair.span, err, false);
          this.log.error({ symbol, fromId, toId, err }, 'trade backfill failed');
        } finally {
          if (repair !== undefined) finishRepair(repair);
        }
      })(),
    );
  }

  /**
   * One TradeBackfill envelope per BACKFILL_TRADES_PER_ENVELOPE trades (a Kinesis
   * record holds ~30,000): together they cover [fromId, toId] in order, each
   * flagged complete only when every id of its own range is in it.
   */
  private publishBackfill(repair: RepairTrace | undefined, symbol: string, epoch: number, fromId: number, toId: number, trades: readonly RestTrade[]): number {
    let parts = 0;
    let rangeFrom = fromId;
    for (let i = 0; i === 0 || i < trades.length; i += BACKFILL_TRADES_PER_ENVELOPE) {
      const chunk = trades.slice(i, i + BACKFILL_TRADES_PER_ENVELOPE);
      const last = i + BACKFILL_TRADES_PER_ENVELOPE >= trades.length;
      const rangeTo = last ? toId : chunk[chunk.length - 1]!.id;
      const e = this.backfillEncoder
        .wrapAndApplyHeader(this.scratch)
        .fromId(rangeFrom)
        .toId(rangeTo)
        .receiveTimeUs(Date.now() * 1000)
        .complete(chunk.length === rangeTo - rangeFrom + 1 ? hotpath.BoolEnum.True : hotpath.BoolEnum.False)
        .priceExponent(-8)
        .qtyExponent(-8);
      const g = e.tradesCount(chunk.length);
      for (const t of chunk) {
        g.next()
          .id(t.id)
          .priceDecimal(t.price)
          .qtyDecimal(t.qty)
          .timeUs(t.time * 1000)
          .isBuyerMaker(t.isBuyerMaker ? hotpath.BoolEnum.True : hotpath.BoolEnum.False)
          .isBestMatch(t.isBestMatch ? hotpath.BoolEnum.True : hotpath.BoolEnum.False);
      }
      e.symbol(symbol);
      this.publishTraced(repair, hotpath.EnvelopeKind.TradeBackfill, symbol, epoch, Date.now() * 1000, this.scratch.subarray(0, e.encodedLength));
      parts++;
      rangeFrom = rangeTo + 1;
    }
    return parts;
  }
}

/**
 * A repair's trace: its root ends when the repair is done AND each of its
 * envelopes is acknowledged — the repair reaches downstream only then. (A put
 * lost at stop leaves it open: never exported, like a lost frame's.)
 */
interface RepairTrace {
  span: Span;
  puts: number;
  done: boolean;
}

/** The repair's work is over: its root ends now, or at its last put's acknowledgement. */
function finishRepair(repair: RepairTrace): void {
  repair.done = true;
  if (repair.puts === 0) repair.span.end(spanClock());
}

/** Records a failure on a span (the exception, status ERROR) and, unless told otherwise, ends it. */
function failed(span: Span, err: unknown, end = true): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  if (end) span.end(spanClock());
}
