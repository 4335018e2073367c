/**
 * Where a restarted ingestor takes over: what its predecessors already put on
 * the stream. A new process knows no trade id, so trades sent while no
 * ingestor was connected would never read as a gap; and a predecessor killed
 * between a GapNotice and its TradeBackfill leaves a gap nobody repairs. The
 * recent stream tells both: per symbol, the newest trade id published (stream
 * frames and backfills) and the trade gaps announced but not yet backfilled.
 */
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';

export interface ResumePoint {
  /** The newest trade id on the stream, -1 when none was found. */
  lastTradeId: number;
  /** Trade-id ranges a GapNotice announced that no later backfill covered, oldest first. */
  unrepairedTradeGaps: { fromId: number; toId: number }[];
}

/** Reads envelopes in log order, one at a time (untrusted: anything that does not decode is skipped). */
export class ResumeScanner {
  readonly points: Map<string, ResumePoint>;
  private readonly env = new hotpath.EnvelopeDecoder();
  private readonly frame = new spot.SpotStreamDecoder();
  private readonly gap = new hotpath.GapNoticeDecoder();
  private readonly backfill = new hotpath.TradeBackfillDecoder();

  constructor(symbols: readonly string[]) {
    this.points = new Map(symbols.map((s) => [s, { lastTradeId: -1, unrepairedTradeGaps: [] }]));
  }

  add(data: Uint8Array): void {
    const env = this.env;
    if (env.wrap(data) !== DecodeStatus.Ok) return;
    const point = this.points.get(env.symbol());
    if (point === undefined) return;
    const payload = env.payload();
    switch (env.kind) {
      case hotpath.EnvelopeKind.StreamFrame: {
        const frame = this.frame;
        if (frame.wrap(payload) !== DecodeStatus.Ok || frame.templateId !== spot.TradesStreamEventDecoder.TEMPLATE_ID) return;
        const g = frame.tradesStreamEvent.trades();
        if (g.count > 0) point.lastTradeId = Math.max(point.lastTradeId, g.at(g.count - 1).id);
        return;
      }
      case hotpath.EnvelopeKind.GapNotice: {
        const gap = this.gap;
        if (gap.wrap(payload) !== DecodeStatus.Ok || gap.kind !== hotpath.GapKind.TradeId || gap.receivedId <= gap.expectedId) return;
        point.unrepairedTradeGaps.push({ fromId: gap.expectedId, toId: gap.receivedId - 1 });
        return;
      }
      case hotpath.EnvelopeKind.TradeBackfill: {
        if (this.backfill.wrap(payload) !== DecodeStatus.Ok) return;
        const to = this.backfill.toId;
        point.lastTradeId = Math.max(point.lastTradeId, to);
        // a backfill (or its last part) answers the gaps it reaches the end of
        point.unrepairedTradeGaps = point.unrepairedTradeGaps.filter((x) => x.toId > to);
        return;
      }
    }
  }
}

export function resumePoints(envelopes: Iterable<Uint8Array>, symbols: readonly string[]): Map<string, ResumePoint> {
  const scanner = new ResumeScanner(symbols);
  for (const data of envelopes) scanner.add(data);
  return scanner.points;
}
