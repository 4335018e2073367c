/**
 * Futures recordings: the reader's handling of USDⓈ-M and COIN-M windows
 * (update-id mapping, contract conversion, µs clocks, markPrice lines, other
 * symbols) and the registry of real windows. That the mapped diffs build the
 * right book through the live processor is libs/processor's futures and
 * oracle tests.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';
import { describe, expect, it } from 'vitest';
import {
  contractsToBase,
  emptyRecordingCounts,
  EnvelopeWriter,
  FIXTURE_COINM_BTCUSD_PERP,
  FIXTURE_USDM_BTCUSDT,
  futuresFirstUpdateId,
  localTimeUs,
  presentRealWindows,
  REAL_WINDOWS,
  readRecording,
  recordingEnvelopes,
} from '../src/index.ts';

/** Decodes an envelope's stream frame (undefined for other kinds). */
function frame(envelope: Buffer): spot.SpotStreamDecoder | undefined {
  const env = new hotpath.EnvelopeDecoder();
  if (env.wrap(envelope) !== DecodeStatus.Ok || env.kind !== hotpath.EnvelopeKind.StreamFrame) return undefined;
  const f = new spot.SpotStreamDecoder();
  expect(f.wrap(env.payload())).toBe(DecodeStatus.Ok);
  return f;
}

describe('COIN-M contracts → base units', () => {
  it('contracts × contract value / price, rounded half up to 1e-8, in integers', () => {
    expect(contractsToBase('35', '61804.7', 100)).toBe('0.05663000'); // 3500 / 61804.7 = 0.056629997…
    expect(contractsToBase('1', '61804.7', 100)).toBe('0.00161800'); // 0.001617999925…
    expect(contractsToBase('1645', '61804.8', 100)).toBe('2.66160557'); // 2.661605571…
    expect(contractsToBase('0', '61804.7', 100)).toBe('0.00000000'); // a removed level stays removed
    expect(contractsToBase('1', '4000000000', 100)).toBe('0.00000003'); // exactly 2.5e-8: half up
    expect(contractsToBase('1', '8000000000', 100)).toBe('0.00000001'); // 1.25e-8
  });

  it('what is not a plain decimal pair, or a zero price, is refused (undefined), never a guess', () => {
    for (const [q, p] of [
      ['1e3', '61804.7'],
      ['-1', '61804.7'],
      ['1', '0'],
      ['1', 'NaN'],
      ['', '61804.7'],
    ] as const)
      expect(contractsToBase(q, p, 100)).toBeUndefined();
    expect(contractsToBase('1', '61804.7', 0)).toBeUndefined();
  });
});

describe('futures sequencing in spot terms (firstBookUpdateId = pu + 1)', () => {
  /**
   * The futures procedure and the spot procedure on mapped ids, each run on
   * the same chain of events and snapshot id: both keep the same events, but
   * one ending exactly at the snapshot id, which only futures applies (and
   * which changes nothing: the snapshot holds its state), and a snapshot id
   * between two events, from which only the mapping starts.
   */
  it('property: both procedures apply the same diffs from any snapshot id inside a pu-chained stream', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 50 })), { minLength: 2, maxLength: 40 }), fc.nat(), (steps, pick) => {
        // events: U > pu (ids of other symbols between events), u >= U
        const events: { U: number; u: number; pu: number }[] = [];
        let prev = 1000;
        for (const [skip, len] of steps) {
          const U = prev + skip;
          events.push({ U, u: U + len, pu: prev });
          prev = U + len;
        }
        const L = 1000 + (pick % (prev - 1000 + 1));
        const futures: number[] = [];
        let last = L;
        let first = true;
        events.forEach((d, i) => {
          if (d.u < last) return;
          const ok = first ? d.U <= last && d.u >= last : d.pu === last;
          if (!ok) return;
          first = false;
          futures.push(i);
          last = d.u;
        });
        const spotKept: number[] = [];
        last = L;
        first = true;
        events.forEach((d, i) => {
          const U = futuresFirstUpdateId(d);
          if (d.u <= last) return;
          const ok = first ? U <= last + 1 && d.u >= last + 1 : U === last + 1;
          if (!ok) return;
          first = false;
          spotKept.push(i);
          last = d.u;
        });
        if (events.some((d) => d.U <= L && L <= d.u)) expect(spotKept).toEqual(futures.filter((i) => events[i]!.u !== L));
        else {
          // L between two events (ids of other symbols): futures cannot start (it would fetch another snapshot); the mapping
          // starts at the event after the gap, which is right — no update of this book happened between pu and U
          expect(futures).toEqual([]);
          const next = events.findIndex((d) => d.u > L);
          expect(spotKept).toEqual(next < 0 ? [] : events.map((_, i) => i).slice(next));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('reading futures recordings', () => {
  it('USDⓈ-M .dat: µs recorder clock, markPrice lines skipped and counted, diffs written with pu + 1, exchange times', () => {
    const lines = readRecording(FIXTURE_USDM_BTCUSDT);
    expect(localTimeUs(lines[0]!.localTime)).toBe(1_680_652_700_423_575); // 16 digits: already µs
    expect(localTimeUs(Number('1723161255030314667'))).toBe(1_723_161_255_030_314); // 19 digits (read as the reader does): ns
    const counts = emptyRecordingCounts();
    const envelopes = [...recordingEnvelopes(lines, new EnvelopeWriter('BTCUSDT'), counts)];
    expect(counts).toEqual({ trade: 581, bookTicker: 1258, depthUpdate: 1135, depthSnapshot: 1, markPrice: 25, otherSymbol: 0, other: 0 });
    expect(envelopes).toHaveLength(581 + 1258 + 1135 + 1);
    const firstDiff = lines.find((l) => (l.data as { e?: string }).e === 'depthUpdate')!.data as { E: number; U: number; u: number; pu: number };
    const diffEnvelope = envelopes.find((e) => frame(e)?.templateId === spot.DepthDiffStreamEventDecoder.TEMPLATE_ID)!;
    const d = frame(diffEnvelope)!.depthDiffStreamEvent;
    expect([d.firstBookUpdateId, d.lastBookUpdateId, d.eventTime]).toEqual([firstDiff.pu + 1, firstDiff.u, firstDiff.E * 1000]);
    // a futures bookTicker keeps the exchange's E (a spot one has none)
    const firstTicker = lines.find((l) => (l.data as { e?: string }).e === 'bookTicker')!.data as { E: number };
    const tickerEnvelope = envelopes.find((e) => frame(e)?.templateId === spot.BestBidAskStreamEventDecoder.TEMPLATE_ID)!;
    expect(frame(tickerEnvelope)!.bestBidAskStreamEvent.eventTime).toBe(firstTicker.E * 1000);
  });

  it('COIN-M: every quantity (trades, diffs, snapshot, bookTicker) converted from contracts to BTC at its price', () => {
    const lines = readRecording(FIXTURE_COINM_BTCUSD_PERP);
    const counts = emptyRecordingCounts();
    const envelopes = [...recordingEnvelopes(lines, new EnvelopeWriter('BTCUSD_PERP'), counts)];
    expect(counts).toMatchObject({ trade: 58, depthUpdate: 1453, depthSnapshot: 1, markPrice: 0, otherSymbol: 0 });
    const trade = lines.find((l) => (l.data as { e?: string }).e === 'trade')!.data as { p: string; q: string };
    const t = frame(envelopes.find((e) => frame(e)?.templateId === spot.TradesStreamEventDecoder.TEMPLATE_ID)!)!.tradesStreamEvent.trades();
    t.next();
    expect(t.qtyDecimal()).toBe(contractsToBase(trade.q, trade.p, 100)!.replace(/0+$/, '').replace(/\.$/, ''));
    const snapshot = lines.find((l) => l.stream === 'snapshot')!.data as { bids: [string, string][] };
    const s = new hotpath.DepthSnapshotDecoder();
    const env = new hotpath.EnvelopeDecoder();
    env.wrap(envelopes.find((e) => env.wrap(e) === DecodeStatus.Ok && env.kind === hotpath.EnvelopeKind.DepthSnapshot)!);
    expect(s.wrap(env.payload())).toBe(DecodeStatus.Ok);
    const b = s.bids();
    b.next();
    const [price, contracts] = snapshot.bids[0]!;
    expect(b.qtyMantissa).toBe(Math.round(Number(contractsToBase(contracts, price, 100)) * 1e8));
  });

  it('with `only`, lines of another symbol (a combined stream of several) are skipped and counted, not mixed into the book', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-fut-'));
    const path = join(dir, 'mixed.gz');
    const trade = (s: string, t: number) =>
      `1680652700000000 {"stream":"${s.toLowerCase()}@trade","data":{"e":"trade","E":1680652700455,"T":1680652700452,"s":"${s}","t":${t},"p":"1.5","q":"2","X":"MARKET","m":true}}`;
    writeFileSync(
      path,
      gzipSync(
        `${[trade('BTCUSDT', 1), trade('ETHUSDT', 2), trade('BTCUSDT', 3), '1680652700000001 {"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1"}}'].join('\n')}\n`,
      ),
    );
    const counts = emptyRecordingCounts();
    const out = [...recordingEnvelopes(readRecording(path), new EnvelopeWriter('BTCUSDT'), counts, 'BTCUSDT')];
    // without `only`, every line is replayed under the writer's symbol (benches replay one recording as many symbols)
    expect([...recordingEnvelopes(readRecording(path), new EnvelopeWriter('SYM1'))]).toHaveLength(3);
    expect(out).toHaveLength(2);
    expect(counts).toMatchObject({ trade: 2, otherSymbol: 1, markPrice: 1 });
  });
});

describe('the real windows', () => {
  it('every recorded window once; those recorded at the same time share a group; only spot 2023 lacks a snapshot', () => {
    expect(REAL_WINDOWS.map((w) => w.id)).toEqual(['spot-2024-08-08', 'usdm-2024-08-08', 'coinm-2024-08-08', 'usdm-2024-07-18', 'usdm-2023-04-04', 'spot-2023-04-05']);
    const groups: Record<string, string[]> = {};
    for (const w of REAL_WINDOWS) (groups[w.group] ??= []).push(w.id);
    expect(groups).toEqual({
      '2024-08-08': ['spot-2024-08-08', 'usdm-2024-08-08', 'coinm-2024-08-08'],
      '2024-07-18': ['usdm-2024-07-18'],
      '2023-04-04': ['usdm-2023-04-04', 'spot-2023-04-05'],
    });
    expect(REAL_WINDOWS.filter((w) => !w.snapshot).map((w) => w.id)).toEqual(['spot-2023-04-05']);
    expect(new Set(REAL_WINDOWS.flatMap((w) => w.files)).size).toBe(10); // the ten files of SOURCES.md
  });

  it('presentRealWindows: none in a directory without the files; with the share, only windows whose every file exists', () => {
    expect(presentRealWindows(mkdtempSync(join(tmpdir(), 'no-real-')))).toEqual([]);
    for (const { paths } of presentRealWindows()) for (const p of paths) expect(existsSync(p)).toBe(true);
  });
});
