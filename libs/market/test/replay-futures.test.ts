/**
 * A USDⓈ-M recording replayed: its diffs, chained by `pu`, are served as spot
 * SBE diffs a spot-procedure client can follow (firstBookUpdateId = pu + 1),
 * and the replay's REST snapshot joins them.
 */
import { FIXTURE_USDM_BTCUSDT, readRecording } from '@hotpath/recordings';
import { DecodeStatus, spot } from '@hotpath/sbe';
import { describe, expect, it } from 'vitest';
import { ReplayFeed } from '../src/index.ts';

describe('replaying a futures recording', () => {
  it('every diff continues the previous one by spot rules; the original last ids and pu chain are kept', () => {
    const replay = new ReplayFeed([FIXTURE_USDM_BTCUSDT]);
    const dec = new spot.SpotStreamDecoder();
    const diffs: [number, number][] = [];
    replay.advanceTo(replay.lastTimeUs + 1, (f) => {
      expect(dec.wrap(f.bytes)).toBe(DecodeStatus.Ok);
      if (f.kind === 'depth') diffs.push([dec.depthDiffStreamEvent.firstBookUpdateId, dec.depthDiffStreamEvent.lastBookUpdateId]);
    });
    const recorded = readRecording(FIXTURE_USDM_BTCUSDT).flatMap((l) => ((l.data as { e?: string }).e === 'depthUpdate' ? [l.data as { u: number; pu: number }] : []));
    expect(diffs).toEqual(recorded.map((d) => [d.pu + 1, d.u]));
    for (let i = 1; i < diffs.length; i++) expect(diffs[i]![0]).toBe(diffs[i - 1]![1] + 1);
    // a REST snapshot taken mid-replay joins the stream: its id is the last diff served
    const snap = replay.depthSnapshot('BTCUSDT', 100);
    expect(snap.lastUpdateId).toBe(diffs[diffs.length - 1]![1]);
  });
});
