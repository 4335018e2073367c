import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';

/**
 * Walks one symbol's envelopes in stream order and checks the re-anchoring
 * contract: a break (a Connected event, whose first diff the snapshot must
 * reach, or a depth GapNotice) needs a later DepthSnapshot with
 * lastUpdateId + 1 ≥ the break's first diff id (Binance: a snapshot older than
 * the first buffered diff cannot be joined).
 */
export function checkRepairs(envelopes: readonly { kind: number; payload: Buffer }[]): { snapshots: number; unreasonedSnapshots: number; unrepairedFrom: number } {
  const gap = new hotpath.GapNoticeDecoder();
  const conn = new hotpath.ConnectionEventDecoder();
  const snap = new hotpath.DepthSnapshotDecoder();
  const diff = new spot.DepthDiffStreamEventDecoder();
  let need = -1; // first diff id a snapshot must reach; -1 = nothing to repair
  let awaitingFirstDiff = false;
  let anchoredAt = -1;
  let snapshots = 0;
  let unreasonedSnapshots = 0;
  for (const e of envelopes) {
    if (e.kind === hotpath.EnvelopeKind.ConnectionEvent && conn.wrap(e.payload) === DecodeStatus.Ok && conn.type === hotpath.ConnectionEventType.Connected) {
      need = Math.max(need, 0);
      awaitingFirstDiff = true;
    } else if (e.kind === hotpath.EnvelopeKind.GapNotice && gap.wrap(e.payload) === DecodeStatus.Ok && gap.kind === hotpath.GapKind.DepthUpdateId) {
      need = Math.max(need, gap.receivedId);
    } else if (e.kind === hotpath.EnvelopeKind.StreamFrame && awaitingFirstDiff && diff.wrap(e.payload) === DecodeStatus.Ok) {
      awaitingFirstDiff = false;
      if (need >= 0 || anchoredAt + 1 < diff.firstBookUpdateId) need = Math.max(need, diff.firstBookUpdateId);
    } else if (e.kind === hotpath.EnvelopeKind.DepthSnapshot && snap.wrap(e.payload) === DecodeStatus.Ok) {
      snapshots++;
      if (need < 0) unreasonedSnapshots++;
      anchoredAt = snap.lastUpdateId;
      if (anchoredAt + 1 >= need) need = -1;
    }
  }
  return { snapshots, unreasonedSnapshots, unrepairedFrom: need };
}
