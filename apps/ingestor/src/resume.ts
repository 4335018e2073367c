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

/** Reads envelopes in log order (untrusted: anything that does not decode is skipped). */
export function resumePoints(envelopes: Iterable<Uint8Array>, symbols: readonly string[]): Map<string, ResumePoint> {
  const points = new Map<string, ResumePoint>(symbols.map((s) => [s, { lastTradeId: -1, unrepairedTradeGaps: [] }]));
  const env = new hotpath.EnvelopeDecoder();
  const frame = new spot.SpotStreamDecoder();
  const gap = new hotpath.GapNoticeDecoder();
  const backfill = new hotpath.TradeBackfillDecoder();
  for (const data of envelopes) {
    if (env.wrap(data) !== DecodeStatus.Ok) continue;
    const point = points.get(env.symbol());
    if (point === undefined) continue;
    const payload = env.payload();
    switch (env.kind) {
      case hotpath.EnvelopeKind.StreamFrame: {
        if (frame.wrap(payload) !== DecodeStatus.Ok || frame.templateId !== spot.TradesStreamEventDecoder.TEMPLATE_ID) break;
        const g = frame.tradesStreamEvent.trades();
        if (g.count > 0) point.lastTradeId = Math.max(point.lastTradeId, g.at(g.count - 1).id);
        break;
      }
      case hotpath.EnvelopeKind.GapNotice:
        if (gap.wrap(payload) !== DecodeStatus.Ok || gap.kind !== hotpath.GapKind.TradeId || gap.receivedId <= gap.expectedId) break;
        point.unrepairedTradeGaps.push({ fromId: gap.expectedId, toId: gap.receivedId - 1 });
        break;
      case hotpath.EnvelopeKind.TradeBackfill: {
        if (backfill.wrap(payload) !== DecodeStatus.Ok) break;
        const to = backfill.toId;
        point.lastTradeId = Math.max(point.lastTradeId, to);
        // a backfill (or its last part) answers the gaps it reaches the end of
        point.unrepairedTradeGaps = point.unrepairedTradeGaps.filter((x) => x.toId > to);
        break;
      }
    }
  }
  return points;
}
