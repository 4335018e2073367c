/**
 * SymbolProcessor on its own: the re-anchoring state machine, depth gaps and
 * trade backfills, driven by real SBE envelopes (support/stream.ts), with
 * expected books and figures worked out by hand from the scripted events.
 * Undecodable input and checkpoints: checkpoints.test.ts.
 */
import { VectorStatus, decodeVector } from '@hotpath/features';
import { hotpath } from '@hotpath/sbe';
import { describe, expect, it } from 'vitest';
import { SymbolProcessor } from '../src/index.ts';
import { ASKS, BIDS, anchored, feature, m, observable, Stream, SYMBOL, top } from './support/stream.ts';

describe('SymbolProcessor: the re-anchoring state machine', () => {
  it('start-up: Connected → Reanchoring; diffs are buffered; a snapshot that joins → Live, the buffered diffs on it', () => {
    const p = new SymbolProcessor(SYMBOL);
    const s = new Stream();
    expect([p.status, p.version]).toEqual([VectorStatus.Stale, 0]);
    expect(p.apply(s.connected(1_000), '')).toBe('reanchor_started');
    expect(p.status).toBe(VectorStatus.Reanchoring);
    expect(p.reanchorStartUs).toBe(0); // nothing seen yet: event time 0 marks a start-up anchor
    expect(p.version).toBe(0);

    expect(p.apply(s.diff(1_100, 95, 99, [['99.98', '7']]), '')).toBe('applied');
    expect(p.apply(s.diff(1_200, 100, 102, [['100.00', '4']]), '')).toBe('applied');
    expect(p.engine.book.synced).toBe(false);
    expect(p.status).toBe(VectorStatus.Reanchoring);

    expect(p.apply(s.snapshot(1_250, 100, BIDS, ASKS), '')).toBe('reanchored');
    expect(p.status).toBe(VectorStatus.Live);
    expect(p.version).toBe(3);
    expect(p.engine.book.lastUpdateId).toBe(102);
    // the diff 100..102 set 100.00 to 4; the one ending at 99 (already in the snapshot) left no 99.98 level
    expect(top(p)).toEqual([m(100), m(4), m(100.01), m(1.5)]);
    expect(p.engine.book.depth(true, 10)).toBe(m(4) + m(2));
    expect(Number.isNaN(p.lastReanchorDurationUs)).toBe(true); // a start-up anchor has no gap to time
    expect(Number.isNaN(p.reanchorStartUs)).toBe(true);
    expect(p.engine.lastReanchorUs).toBe(1_200_000); // the newest event time seen when it was swapped in

    expect(p.apply(s.diff(1_300, 103, 105, [], [['100.01', '0']]), '')).toBe('applied');
    expect(top(p)).toEqual([m(100), m(4), m(100.02), m(3)]);
    expect(p.version).toBe(4);
    const v = decodeVector(p.vectorBytes(7));
    expect([v.status, v.version, v.eventTimeUs]).toEqual([VectorStatus.Live, 4, 1_300_000]);
    expect(v.bestBid).toBeCloseTo(100, 9);
    expect(v.bestAsk).toBeCloseTo(100.02, 9);
  });

  for (const [name, start] of [
    ['a depth-id GapNotice', (s: Stream) => s.gapNotice(2_000, hotpath.GapKind.DepthUpdateId)],
    ['a connection GapNotice', (s: Stream) => s.gapNotice(2_000, hotpath.GapKind.Connection)],
    ['a Connected event (reconnect)', (s: Stream) => s.connected(2_000)],
  ] as const) {
    it(`${name} mid-stream → Reanchoring, the book dropped; a snapshot that joins → Live, version + 1, the gap timed`, () => {
      const { p, s } = anchored();
      expect(p.apply(s.diff(1_400, 103, 104, [['100.00', '5']]), '')).toBe('applied');
      const version = p.version;
      expect(p.apply(start(s), '')).toBe('reanchor_started');
      expect(p.status).toBe(VectorStatus.Reanchoring);
      expect(p.reanchorStartUs).toBe(1_400_000); // the symbol's event time, not the notice's receive time
      expect(p.engine.book.synced).toBe(false);
      expect(p.engine.book.isSane()).toBe(false);
      expect(p.version).toBe(version);
      expect(Number.isNaN(feature(p, 'spread_bps', 1_400_000))).toBe(true);

      expect(p.apply(s.diff(2_100, 110, 112, [['100.00', '9']]), '')).toBe('applied'); // buffered
      expect(p.apply(s.snapshot(2_150, 111, BIDS, ASKS), '')).toBe('reanchored');
      expect(p.status).toBe(VectorStatus.Live);
      expect(p.version).toBe(version + 2);
      expect(p.engine.book.lastUpdateId).toBe(112);
      expect(top(p)).toEqual([m(100), m(9), m(100.01), m(1.5)]);
      expect(p.lastReanchorDurationUs).toBe(2_100_000 - 1_400_000);
      expect(Number.isNaN(p.reanchorStartUs)).toBe(true);
    });
  }

  it('a trade-id GapNotice and a Disconnected event change nothing (trades are backfilled, the book stays)', () => {
    const { p, s } = anchored();
    const before = observable(p);
    expect(p.apply(s.gapNotice(2_000, hotpath.GapKind.TradeId), '')).toBe('ignored');
    expect(p.apply(s.disconnected(2_001), '')).toBe('ignored');
    expect(p.apply(s.bookTicker(2_002), '')).toBe('ignored');
    expect(observable(p)).toEqual(before);
  });

  it('a snapshot that does not join the buffered diffs → reanchor_failed, Stale, the old engine kept; the next one that joins → Live', () => {
    const { p, s } = anchored();
    expect(p.apply(s.gapNotice(2_000, hotpath.GapKind.DepthUpdateId), '')).toBe('reanchor_started');
    expect(p.apply(s.diff(2_100, 120, 125, [['100.00', '6']]), '')).toBe('applied'); // buffered
    const engine = p.engine;
    const before = observable(p);

    // snapshot 110 is older than the buffered diffs: 120 > 110 + 1
    expect(p.apply(s.snapshot(2_200, 110, BIDS, ASKS), '')).toBe('reanchor_failed');
    expect(p.status).toBe(VectorStatus.Stale);
    expect(p.engine).toBe(engine);
    expect(observable(p)).toEqual({ ...before, status: VectorStatus.Stale });
    expect(p.engine.book.synced).toBe(false); // still buffering for the next snapshot
    expect(p.reanchorStartUs).toBe(1_200_000); // the newest event time (a snapshot does not move the clock)

    expect(p.apply(s.diff(2_300, 126, 126, [], [['100.01', '2']]), '')).toBe('applied'); // buffered
    expect(p.apply(s.snapshot(2_400, 122, BIDS, ASKS), '')).toBe('reanchored');
    expect(p.status).toBe(VectorStatus.Live);
    expect(p.version).toBe(before.version + 2);
    expect(p.engine.book.lastUpdateId).toBe(126);
    expect(top(p)).toEqual([m(100), m(6), m(100.01), m(2)]);
    expect(p.lastReanchorDurationUs).toBe(2_300_000 - 1_200_000);
  });

  for (const [name, bids, asks] of [
    ['crossed', [[100.05, 1]], ASKS],
    ['locked', [[100.01, 1]], ASKS],
    ['without asks', BIDS, []],
    ['without bids', [], ASKS],
  ] as const) {
    it(`an insane snapshot (${name}) → reanchor_failed, Stale, the old engine kept`, () => {
      const { p, s } = anchored();
      expect(p.apply(s.gapNotice(2_000, hotpath.GapKind.DepthUpdateId), '')).toBe('reanchor_started');
      const engine = p.engine;
      const before = observable(p);
      expect(p.apply(s.snapshot(2_200, 200, bids as [number, number][], asks as [number, number][]), '')).toBe('reanchor_failed');
      expect(p.status).toBe(VectorStatus.Stale);
      expect(p.engine).toBe(engine);
      expect(observable(p)).toEqual({ ...before, status: VectorStatus.Stale });
      expect(decodeVector(p.vectorBytes(0)).status).toBe(VectorStatus.Stale);
    });
  }

  it('while Live, a snapshot older than the live book is ignored (the book does not go back in time); one as new or newer is applied as before', () => {
    const { p, s } = anchored(); // live at update id 102
    expect(p.apply(s.diff(1_300, 103, 105, [['100.00', '5']]), '')).toBe('applied');
    const engine = p.engine;
    const before = observable(p);
    for (const [i, lastUpdateId] of [104, 102, 50].entries()) {
      expect(p.apply(s.snapshot(1_400 + i, lastUpdateId, [[99, 1]], [[101, 1]]), ''), `snapshot ${lastUpdateId}`).toBe('ignored');
      expect(p.engine).toBe(engine);
      expect(observable(p)).toEqual(before);
    }
    expect(p.apply(s.diff(1_500, 106, 106, [], [['100.01', '2']]), '')).toBe('applied'); // still followed
    expect(top(p)).toEqual([m(100), m(5), m(100.01), m(2)]);
    // as new as the live book (106): applied, a re-anchor like any other
    expect(p.apply(s.snapshot(1_600, 106, [[99, 1]], [[101, 1]]), '')).toBe('reanchored');
    expect([p.status, p.version, p.engine.book.lastUpdateId]).toEqual([VectorStatus.Live, before.version + 2, 106]);
    expect(top(p)).toEqual([m(99), m(1), m(101), m(1)]);
    // newer
    expect(p.apply(s.snapshot(1_700, 200, BIDS, ASKS), '')).toBe('reanchored');
    expect([p.status, p.version, p.engine.book.lastUpdateId]).toEqual([VectorStatus.Live, before.version + 3, 200]);
    expect(top(p)).toEqual([m(100), m(1), m(100.01), m(1.5)]);
  });

  for (const [name, bids, asks] of [
    ['crossed', [[100.05, 1]], ASKS],
    ['without asks', BIDS, []],
  ] as const) {
    it(`while Live, an insane snapshot (${name}) → reanchor_failed; the live book and the Live status stay, and the stream is still followed`, () => {
      const { p, s } = anchored();
      const engine = p.engine;
      const before = observable(p);
      expect(p.apply(s.snapshot(1_300, 200, bids as [number, number][], asks as [number, number][]), '')).toBe('reanchor_failed');
      expect(p.engine).toBe(engine);
      expect(observable(p)).toEqual(before);
      expect(decodeVector(p.vectorBytes(0)).status).toBe(VectorStatus.Live);
      expect(p.apply(s.diff(1_400, 103, 103, [['100.00', '6']]), '')).toBe('applied');
      expect([p.status, top(p)[1]]).toEqual([VectorStatus.Live, m(6)]);
    });
  }

  it('a depth diff the book already holds (its update ids applied) changes nothing: ignored, the version unchanged; one at a newer event time moves the clock, a new vector', () => {
    const { p, s } = anchored(); // live at update id 102, event time 1.2 s
    expect(p.apply(s.diff(1_300, 103, 105, [['100.00', '5']]), '')).toBe('applied');
    const before = observable(p);
    // another writer's copy of the same diff, an older one, and one inside the range already applied
    const other = new Stream(2);
    for (const d of [other.diff(1_300, 103, 105, [['100.00', '5']]), s.diff(1_250, 100, 102, [['100.00', '4']]), s.diff(1_300, 104, 104, [['100.00', '9']])]) {
      expect(p.apply(d, '')).toBe('ignored');
      expect(observable(p)).toEqual(before);
    }
    expect(decodeVector(p.vectorBytes(0)).version).toBe(before.version);
    // already applied, but later than anything seen: the book stays, the vector's event time moves
    expect(p.apply(s.diff(1_350, 104, 105, [['100.00', '9']]), '')).toBe('applied');
    expect([p.version, p.engine.eventTimeUs, top(p)[1]]).toEqual([before.version + 1, 1_350_000, m(5)]);
    // the next diff joins as usual
    expect(p.apply(s.diff(1_400, 106, 106, [['100.00', '7']]), '')).toBe('applied');
    expect([p.version, top(p)[1]]).toEqual([before.version + 2, m(7)]);
  });

  it('a depth gap inside the diffs → reanchor_started, the diff not applied, the book dropped', () => {
    const { p, s } = anchored();
    expect(p.apply(s.diff(1_300, 103, 105, [['100.00', '5']]), '')).toBe('applied');
    const version = p.version;
    expect(p.apply(s.diff(1_400, 108, 110, [['100.00', '8']]), '')).toBe('reanchor_started'); // 108 > 105 + 1
    expect(p.status).toBe(VectorStatus.Reanchoring);
    expect(p.version).toBe(version);
    expect(p.reanchorStartUs).toBe(1_400_000);
    expect(p.engine.book.synced).toBe(false);
    expect(decodeVector(p.vectorBytes(0)).status).toBe(VectorStatus.Reanchoring);
    // a diff already in the book is not a gap
    const q = anchored();
    expect(q.p.apply(q.s.diff(1_300, 90, 101, [['100.00', '99']]), '')).not.toBe('reanchor_started');
    expect(q.p.status).toBe(VectorStatus.Live);
    expect(q.p.engine.book.lastUpdateId).toBe(102);
    expect(top(q.p)[1]).toBe(m(4));
  });
});

describe('SymbolProcessor: trade backfills', () => {
  it('backfilled trades join the windows; those older than the newest applied trade are counted late and left out', () => {
    const { p, s } = anchored();
    expect(p.apply(s.trade(10_000, 1, '100.00', '1'), '')).toBe('applied');
    expect(p.apply(s.trade(10_500, 5, '100.01', '2', true), '')).toBe('applied');
    expect(p.apply(s.gapNotice(10_500, hotpath.GapKind.TradeId), '')).toBe('ignored');
    const version = p.version;
    expect(
      p.apply(
        s.backfill(10_800, [
          { id: 2, price: '100.02', qty: '0.5', timeUs: 10_200_000, buyerMaker: false }, // older than 10.5 s: late
          { id: 3, price: '100.03', qty: '0.25', timeUs: 10_400_000, buyerMaker: true }, // late
          { id: 4, price: '100.04', qty: '4', timeUs: 10_700_000, buyerMaker: false },
        ]),
        '',
      ),
    ).toBe('applied');
    expect(p.version).toBe(version + 1);
    expect(p.lateBackfillTrades).toBe(2);
    expect(p.engine.eventTimeUs).toBe(10_700_000); // the backfill moved the clock to its newest trade

    const t = 11_000_000;
    expect(feature(p, 'trade_count_60s', t)).toBe(3);
    expect(feature(p, 'buy_volume_60s', t)).toBeCloseTo(5, 12); // 1 + 4 (takers bought)
    expect(feature(p, 'sell_volume_60s', t)).toBeCloseTo(2, 12);
    expect(feature(p, 'volume_imbalance_60s', t)).toBeCloseTo(3 / 7, 12);
    expect(feature(p, 'time_since_last_trade_s', t)).toBeCloseTo(0.3, 12);
    // VWAP (100·1 + 100.01·2 + 100.04·4) / 7; last trade 100.04
    const vwap = (100 * 1 + 100.01 * 2 + 100.04 * 4) / 7;
    expect(feature(p, 'vwap_dev_bps_60s', t)).toBeCloseTo((100.04 / vwap - 1) * 1e4, 9);
    // the 1 s window at 11 s holds 10.5 and 10.7: the trade return is from the trade just before it (10.0 s)
    expect(feature(p, 'trade_count_1s', t)).toBe(2);
    expect(feature(p, 'ret_trade_bps_1s', t)).toBeCloseTo(Math.log(100.04 / 100) * 1e4, 9);

    // a second backfill adds to the count; checkpoints keep it
    expect(p.apply(s.backfill(10_900, [{ id: 6, price: '100.00', qty: '1', timeUs: 10_600_000, buyerMaker: false }]), '')).toBe('applied');
    expect(p.lateBackfillTrades).toBe(3);
    expect(SymbolProcessor.restore(SYMBOL, p.serialize(), '').lateBackfillTrades).toBe(3);
  });
});
