/**
 * SymbolProcessor on its own, what it refuses and what it restores: undecodable
 * input changes no state, and restore(serialize()) continues exactly like the
 * uninterrupted processor (scripted envelopes from support/stream.ts, and the
 * real recording). The re-anchoring state machine: processor.test.ts.
 */
import fc from 'fast-check';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { hotpath } from '@hotpath/sbe';
import { VectorStatus } from '@hotpath/features';
import { describe, expect, it } from 'vitest';
import { SymbolProcessor, type Outcome } from '../src/index.ts';
import { ASKS, BIDS, anchored, m, observable, Stream, SYMBOL, top } from './support/stream.ts';

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
