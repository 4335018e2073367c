/**
 * SymbolProcessor on its own: the re-anchoring state machine, depth gaps,
 * trade backfills, undecodable input and checkpoints, driven by real SBE
 * envelopes (EnvelopeWriter + the Binance JSON transcoder), with expected
 * books and figures worked out by hand from the scripted events.
 */
import fc from 'fast-check';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { BinanceJsonTranscoder, hotpath } from '@hotpath/sbe';
import { FEATURE_COUNT, FEATURE_NAMES, VectorStatus, decodeVector } from '@hotpath/features';
import { describe, expect, it } from 'vitest';
import { SymbolProcessor, type Outcome } from '../src/index.ts';

const SYMBOL = 'BTCUSDT';
/** Decimal → mantissa at exponent −8 (the test's own small prices are exact in binary at this scale). */
const m = (x: number): number => Math.round(x * 1e8);

interface BackfillTrade {
  id: number;
  price: string;
  qty: string;
  timeUs: number;
  buyerMaker: boolean;
}

/** One writer's envelopes, as the ingestor would publish them (sequence advancing). */
class Stream {
  readonly writer: EnvelopeWriter;
  private readonly tr = new BinanceJsonTranscoder();
  private readonly scratch = Buffer.alloc(64 * 1024);

  constructor(writerId = 1, epoch = 1) {
    this.writer = new EnvelopeWriter(SYMBOL, epoch, writerId);
  }

  /** A depth diff at event time `ms` (Binance JSON times are ms). */
  diff(ms: number, U: number, u: number, b: [string, string][] = [], a: [string, string][] = []): Buffer {
    const n = this.tr.encodeDepthUpdate({ e: 'depthUpdate', E: ms, s: SYMBOL, U, u, b, a }, this.scratch);
    return this.writer.envelope(hotpath.EnvelopeKind.StreamFrame, ms * 1000, this.scratch.subarray(0, n));
  }

  trade(ms: number, id: number, price: string, qty: string, buyerMaker = false): Buffer {
    const n = this.tr.encodeTrade({ e: 'trade', E: ms, s: SYMBOL, t: id, p: price, q: qty, T: ms, m: buyerMaker }, this.scratch);
    return this.writer.envelope(hotpath.EnvelopeKind.StreamFrame, ms * 1000, this.scratch.subarray(0, n));
  }

  bookTicker(ms: number): Buffer {
    const n = this.tr.encodeBookTicker({ u: 1, s: SYMBOL, b: '100.00', B: '1', a: '100.01', A: '1' }, ms * 1000, this.scratch);
    return this.writer.envelope(hotpath.EnvelopeKind.StreamFrame, ms * 1000, this.scratch.subarray(0, n));
  }

  snapshot(ms: number, lastUpdateId: number, bids: [number, number][], asks: [number, number][]): Buffer {
    return this.writer.snapshot(
      ms * 1000,
      lastUpdateId,
      bids.map(([p, q]) => [m(p), m(q)]),
      asks.map(([p, q]) => [m(p), m(q)]),
    );
  }

  connected(ms: number): Buffer {
    return this.writer.connected(ms * 1000, 'test');
  }

  disconnected(ms: number): Buffer {
    const c = new hotpath.ConnectionEventEncoder()
      .wrapAndApplyHeader(this.scratch)
      .eventTimeUs(ms * 1000)
      .connectionEpoch(this.writer.connectionEpoch)
      .previousEpoch(0)
      .lastSequence(0)
      .type(hotpath.ConnectionEventType.Disconnected)
      .symbol(SYMBOL)
      .reason('test');
    return this.writer.envelope(hotpath.EnvelopeKind.ConnectionEvent, ms * 1000, this.scratch.subarray(0, c.encodedLength));
  }

  gapNotice(ms: number, kind: hotpath.GapKind): Buffer {
    const g = new hotpath.GapNoticeEncoder()
      .wrapAndApplyHeader(this.scratch)
      .detectedAtUs(ms * 1000)
      .expectedId(1)
      .receivedId(5)
      .kind(kind)
      .symbol(SYMBOL);
    return this.writer.envelope(hotpath.EnvelopeKind.GapNotice, ms * 1000, this.scratch.subarray(0, g.encodedLength));
  }

  backfill(ms: number, trades: BackfillTrade[]): Buffer {
    const e = new hotpath.TradeBackfillEncoder()
      .wrapAndApplyHeader(this.scratch)
      .fromId(trades[0]!.id)
      .toId(trades.at(-1)!.id)
      .receiveTimeUs(ms * 1000)
      .complete(hotpath.BoolEnum.True)
      .priceExponent(-8)
      .qtyExponent(-8);
    const g = e.tradesCount(trades.length);
    for (const t of trades) {
      g.next()
        .id(t.id)
        .priceDecimal(t.price)
        .qtyDecimal(t.qty)
        .timeUs(t.timeUs)
        .isBuyerMaker(t.buyerMaker ? hotpath.BoolEnum.True : hotpath.BoolEnum.False)
        .isBestMatch(hotpath.BoolEnum.True);
    }
    e.symbol(SYMBOL);
    return this.writer.envelope(hotpath.EnvelopeKind.TradeBackfill, ms * 1000, this.scratch.subarray(0, e.encodedLength));
  }

  /** A valid envelope of `kind` around arbitrary payload bytes. */
  raw(kind: hotpath.EnvelopeKind, ms: number, payload: Uint8Array): Buffer {
    return this.writer.envelope(kind, ms * 1000, payload);
  }
}

const BIDS: [number, number][] = [
  [100, 1],
  [99.99, 2],
];
const ASKS: [number, number][] = [
  [100.01, 1.5],
  [100.02, 3],
];

function top(p: SymbolProcessor): [number, number, number, number] {
  const b = p.engine.book;
  return [b.bestBid, b.bestBidQty, b.bestAsk, b.bestAskQty];
}

function feature(p: SymbolProcessor, name: string, tUs: number): number {
  const k = FEATURE_NAMES.indexOf(name);
  expect(k).toBeGreaterThanOrEqual(0);
  return p.engine.compute(tUs, new Float64Array(FEATURE_COUNT))[k]!;
}

/** What must not move when an input is refused: the engine's whole state, the version and the status. */
function observable(p: SymbolProcessor): { engine: Buffer; version: number; status: VectorStatus; late: number } {
  return { engine: p.engine.serialize(), version: p.version, status: p.status, late: p.lateBackfillTrades };
}

/** A processor anchored at update id 102 (snapshot 100 + a buffered diff 100..102), status Live. */
function anchored(): { p: SymbolProcessor; s: Stream } {
  const p = new SymbolProcessor(SYMBOL);
  const s = new Stream();
  expect(p.apply(s.connected(1_000), '')).toBe('reanchor_started');
  expect(p.apply(s.diff(1_100, 95, 99, [['99.98', '7']]), '')).toBe('applied'); // buffered; ends before the snapshot: dropped
  expect(p.apply(s.diff(1_200, 100, 102, [['100.00', '4']]), '')).toBe('applied'); // buffered; straddles 101: applied onto it
  expect(p.apply(s.snapshot(1_250, 100, BIDS, ASKS), '')).toBe('reanchored');
  return { p, s };
}

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

const KINDS = [hotpath.EnvelopeKind.StreamFrame, hotpath.EnvelopeKind.DepthSnapshot, hotpath.EnvelopeKind.TradeBackfill, hotpath.EnvelopeKind.ConnectionEvent, hotpath.EnvelopeKind.GapNotice] as const;
const OUTCOMES: Outcome[] = ['applied', 'duplicate', 'ignored', 'reanchor_started', 'reanchored', 'reanchor_failed', 'undecodable'];

describe('SymbolProcessor: undecodable input', () => {
  it('bytes that are not an envelope, and envelopes whose payload does not decode, are undecodable and change no state', () => {
    const { p, s } = anchored();
    p.apply(s.trade(5_000, 1, '100.00', '1'), '');
    const before = observable(p);
    expect(p.apply(Buffer.from('not an envelope at all'), '')).toBe('undecodable');
    expect(p.apply(Buffer.alloc(0), '')).toBe('undecodable');
    const good = s.diff(5_100, 103, 104, [['100.00', '3']]);
    expect(p.apply(good.subarray(0, good.length - 5), '')).toBe('undecodable'); // truncated
    for (const kind of KINDS) {
      expect(p.apply(s.raw(kind, 5_200, Buffer.from('garbage payload, not SBE')), '')).toBe('undecodable');
      expect(p.apply(s.raw(kind, 5_200, Buffer.alloc(0)), '')).toBe('undecodable');
    }
    // a real trade frame under an envelope kind that says it is something else
    const envelope = new hotpath.EnvelopeDecoder();
    envelope.wrap(s.trade(5_300, 2, '100.00', '1'));
    const tradeFrame = Buffer.from(envelope.payload());
    for (const kind of KINDS.filter((k) => k !== hotpath.EnvelopeKind.StreamFrame)) expect(p.apply(s.raw(kind, 5_300, tradeFrame), '')).toBe('undecodable');
    // and a real GapNotice labelled a stream frame
    envelope.wrap(s.gapNotice(5_300, hotpath.GapKind.DepthUpdateId));
    expect(p.apply(s.raw(hotpath.EnvelopeKind.StreamFrame, 5_300, Buffer.from(envelope.payload())), '')).toBe('undecodable');
    expect(observable(p)).toEqual(before);
    // the stream goes on as if nothing happened
    expect(p.apply(s.diff(5_400, 103, 104, [['100.00', '3']]), '')).toBe('applied');
    expect(top(p)[1]).toBe(m(3));
  });

  it('property: any bytes, bare or inside a valid envelope of any kind, never throw; undecodable leaves the state as it was', () => {
    const { p, s } = anchored();
    let decoded = 0;
    fc.assert(
      fc.property(fc.constantFrom(undefined, ...KINDS), fc.uint8Array({ maxLength: 2048 }), (kind, bytes) => {
        const before = observable(p);
        const data = kind === undefined ? Buffer.from(bytes) : s.raw(kind, 6_000, bytes);
        const outcome = p.apply(data, '');
        expect(OUTCOMES).toContain(outcome);
        if (outcome === 'undecodable') expect(observable(p)).toEqual(before);
        else decoded++;
      }),
      { numRuns: 300 },
    );
    // still a working processor (random bytes practically never form a valid message: if one did, the book may have moved)
    if (decoded === 0) {
      expect(p.status).toBe(VectorStatus.Live);
      expect(p.apply(s.diff(6_100, 103, 104, [['100.00', '3']]), '')).toBe('applied');
      expect(top(p)[1]).toBe(m(3));
    }
  });
});

/** A scripted stream through every outcome: start-up anchor, trades, a gap, a failed and a good re-anchor, snapshots and a diff refused while Live, a backfill. */
function scripted(): Buffer[] {
  const s = new Stream();
  return [
    s.trade(900, 1, '99.99', '0.1', true),
    s.connected(1_000),
    s.diff(1_100, 95, 99, [['99.98', '7']]),
    s.diff(1_200, 100, 102, [['100.00', '4']]),
    s.snapshot(1_250, 100, BIDS, ASKS),
    s.trade(1_300, 2, '100.01', '0.3'),
    s.diff(1_400, 103, 105, [['100.00', '2']], [['100.03', '1']]),
    s.trade(1_500, 3, '100.00', '0.2', true),
    s.diff(1_600, 106, 106, [], [['100.01', '0']]),
    s.diff(2_700, 109, 110), // gap
    s.diff(2_800, 111, 112, [['100.01', '1']]),
    s.snapshot(2_900, 100, BIDS, ASKS), // too old
    s.trade(3_000, 7, '100.02', '1'),
    s.diff(3_100, 113, 114, [], [['100.05', '2']]),
    s.snapshot(
      3_200,
      112,
      [
        [100.01, 1],
        [100, 3],
      ],
      [
        [100.02, 2],
        [100.05, 1],
      ],
    ),
    s.snapshot(3_250, 113, BIDS, ASKS), // live at 114: older, ignored
    s.snapshot(3_260, 300, [[100.05, 1]], ASKS), // crossed: refused, still Live
    s.diff(3_100, 113, 114, [], [['100.05', '2']]), // already in the book, no newer: ignored
    s.gapNotice(3_300, hotpath.GapKind.TradeId),
    s.backfill(3_400, [
      { id: 4, price: '100.00', qty: '0.5', timeUs: 1_550_000, buyerMaker: false },
      { id: 8, price: '100.03', qty: '0.5', timeUs: 3_350_000, buyerMaker: false },
    ]),
    s.diff(3_500, 115, 116, [['100.01', '0']], [['100.02', '0.5']]),
    s.trade(4_000, 9, '100.02', '0.7', true),
  ];
}

function sameState(a: SymbolProcessor, b: SymbolProcessor): void {
  // Buffer#equals: a deep toEqual walks ~100 kB of book state byte by byte
  expect(b.serialize().equals(a.serialize())).toBe(true);
  expect([b.version, b.status, b.reanchorStartUs, b.lateBackfillTrades]).toEqual([a.version, a.status, a.reanchorStartUs, a.lateBackfillTrades]);
  expect(b.writers()).toEqual(a.writers());
  expect(b.vectorBytes(42).equals(a.vectorBytes(42))).toBe(true);
}

describe('SymbolProcessor: checkpoints', () => {
  it('the scripted stream takes every outcome it should', () => {
    const p = new SymbolProcessor(SYMBOL);
    expect(scripted().map((e) => p.apply(e, ''))).toEqual([
      'applied',
      'reanchor_started',
      'applied',
      'applied',
      'reanchored',
      'applied',
      'applied',
      'applied',
      'applied',
      'reanchor_started',
      'applied',
      'reanchor_failed',
      'applied',
      'applied',
      'reanchored',
      'ignored',
      'reanchor_failed',
      'ignored',
      'ignored',
      'applied',
      'applied',
      'applied',
    ]);
    expect(p.lateBackfillTrades).toBe(1);
    expect(p.status).toBe(VectorStatus.Live);
  });

  it('restore(serialize()) at every point of the scripted stream continues exactly like the uninterrupted processor', () => {
    const envelopes = scripted();
    for (let cut = 0; cut <= envelopes.length; cut++) {
      const whole = new SymbolProcessor(SYMBOL);
      const outcomes = envelopes.map((e) => whole.apply(e, ''));
      const head = new SymbolProcessor(SYMBOL);
      envelopes.slice(0, cut).forEach((e) => {
        head.apply(e, '');
      });
      const resumed = SymbolProcessor.restore(SYMBOL, head.serialize(), cut === 0 ? '' : `shard-0:${cut}`);
      sameState(head, resumed);
      expect(resumed.resuming).toBe(cut !== 0);
      expect(envelopes.slice(cut).map((e) => resumed.apply(e, ''))).toEqual(outcomes.slice(cut));
      sameState(whole, resumed);
      // the last envelope again is a copy
      expect(resumed.apply(envelopes.at(-1)!, '')).toBe('duplicate');
    }
  });

  it('restore(serialize()) mid-stream on the real recording continues bit for bit (buffered diffs, live book, windows)', () => {
    const envelopes = [...recordingEnvelopes(readRecording(FIXTURE_SPOT_BTCUSDT), new EnvelopeWriter(SYMBOL))];
    const whole = new SymbolProcessor(SYMBOL);
    const outcomes = envelopes.map((e) => whole.apply(e, ''));
    expect(outcomes).toContain('reanchored');
    // before the snapshot (diffs buffered), right after it, and deep in the stream
    const snapshotAt = outcomes.indexOf('reanchored');
    for (const cut of [snapshotAt - 1, snapshotAt + 1, Math.floor(envelopes.length / 2), envelopes.length - 3]) {
      const head = new SymbolProcessor(SYMBOL);
      for (let i = 0; i < cut; i++) head.apply(envelopes[i]!, '');
      const resumed = SymbolProcessor.restore(SYMBOL, head.serialize(), '');
      const rest: Outcome[] = [];
      for (let i = cut; i < envelopes.length; i++) rest.push(resumed.apply(envelopes[i]!, ''));
      expect(rest).toEqual(outcomes.slice(cut));
      sameState(whole, resumed);
    }
  });
});
