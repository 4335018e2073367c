/**
 * 15,000 real Binance events (committed fixture) transcoded to SBE and decoded
 * back: every id, time, price and quantity string comes back exactly.
 */
import { FIXTURE_SPOT_BTCUSDT, readRecording } from '../src/index.ts';
import { describe, expect, it } from 'vitest';
import { BinanceJsonTranscoder, DecodeStatus, classifyPayload, hotpath, spot, type JsonBookTicker, type JsonDepthSnapshot, type JsonDepthUpdate, type JsonTrade } from '@hotpath/sbe';

describe('real recorded events through the SBE codecs', () => {
  const lines = readRecording(FIXTURE_SPOT_BTCUSDT);
  const transcoder = new BinanceJsonTranscoder();
  const dec = new spot.SpotStreamDecoder();
  const snap = new hotpath.DepthSnapshotDecoder();
  const buf = Buffer.alloc(256 * 1024);

  it('the fixture holds every stream kind', () => {
    const kinds = new Map<string, number>();
    for (const l of lines) kinds.set(classifyPayload(l.data) ?? 'other', (kinds.get(classifyPayload(l.data) ?? 'other') ?? 0) + 1);
    expect(Object.fromEntries(kinds)).toEqual({ trade: 2744, bookTicker: 10906, depthUpdate: 1349, depthSnapshot: 1 });
  });

  it('exact round trip of every event', () => {
    let checked = 0;
    for (const l of lines) {
      switch (classifyPayload(l.data)) {
        case 'trade': {
          const t = l.data as JsonTrade;
          const n = transcoder.encodeTrade(t, buf);
          expect(dec.wrap(buf, 0, n)).toBe(DecodeStatus.Ok);
          const d = dec.tradesStreamEvent;
          const g = d.trades();
          g.next();
          expect([d.eventTime, d.transactTime, g.id, g.priceDecimal(), g.qtyDecimal(), g.isBuyerMaker === 1, d.symbol()]).toEqual([t.E * 1000, t.T * 1000, t.t, t.p, t.q, t.m, t.s]);
          expect(g.price).toBe(Number(t.p));
          break;
        }
        case 'bookTicker': {
          const t = l.data as JsonBookTicker;
          const n = transcoder.encodeBookTicker(t, Math.round(l.localTime / 1000), buf);
          expect(dec.wrap(buf, 0, n)).toBe(DecodeStatus.Ok);
          const d = dec.bestBidAskStreamEvent;
          expect([d.bookUpdateId, d.bidPriceDecimal(), d.bidQtyDecimal(), d.askPriceDecimal(), d.askQtyDecimal()]).toEqual([t.u, t.b, t.B, t.a, t.A]);
          break;
        }
        case 'depthUpdate': {
          const u = l.data as JsonDepthUpdate;
          const n = transcoder.encodeDepthUpdate(u, buf);
          expect(dec.wrap(buf, 0, n)).toBe(DecodeStatus.Ok);
          const d = dec.depthDiffStreamEvent;
          expect([d.firstBookUpdateId, d.lastBookUpdateId, d.eventTime]).toEqual([u.U, u.u, u.E * 1000]);
          for (const [side, want] of [
            [d.bids(), u.b],
            [d.asks(), u.a],
          ] as const) {
            const got: [string, string][] = [];
            while (side.next()) got.push([side.priceDecimal(), side.qtyDecimal()]);
            expect(got).toEqual(want);
          }
          break;
        }
        case 'depthSnapshot': {
          const s = l.data as JsonDepthSnapshot;
          const n = transcoder.encodeDepthSnapshot('BTCUSDT', s, 1, 2, buf);
          expect(snap.wrap(buf, 0, n)).toBe(DecodeStatus.Ok);
          expect(snap.lastUpdateId).toBe(s.lastUpdateId);
          const bids = snap.bids();
          expect(bids.count).toBe(s.bids.length);
          const got: [string, string][] = [];
          while (bids.next()) got.push([bids.priceDecimal(), bids.qtyDecimal()]);
          expect(got).toEqual(s.bids);
          break;
        }
        default:
          throw new Error(`unexpected line ${l.json.slice(0, 80)}`);
      }
      checked++;
    }
    expect(checked).toBe(15000);
  });

  it('SBE frames are a fraction of the JSON size', () => {
    let sbe = 0;
    let json = 0;
    for (const l of lines) {
      if (classifyPayload(l.data) !== 'depthUpdate') continue;
      sbe += transcoder.encodeDepthUpdate(l.data as JsonDepthUpdate, buf);
      json += Buffer.byteLength(l.json);
    }
    expect(sbe / json).toBeLessThan(0.6);
  });
});
