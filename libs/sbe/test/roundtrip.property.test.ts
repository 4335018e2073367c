/** encode → decode round trips for random valid messages of both schemas (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeStatus, decimalStringToMantissa, decimalToNumber, decimalToString, hotpath, spot } from '../src/index.ts';

const safeInt = fc.maxSafeInteger();
const anyInt64 = fc.oneof(fc.maxSafeNat(), safeInt, fc.integer({ min: -1000, max: 1000 }));
const exponent = fc.integer({ min: -128, max: 127 });
const smallExponent = fc.integer({ min: -18, max: 4 });
const bool = fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>;
// Up to 60 code points of any plane: at most 240 UTF-8 bytes, inside varString8's 255.
const symbol = fc.string({ unit: 'binary', maxLength: 60 });
const level = fc.record({ price: anyInt64, qty: anyInt64 });
const levels = (max: number) => fc.array(level, { maxLength: max });

const buffer = Buffer.alloc(1 << 20);

describe('spot stream schema round trips', () => {
  const dec = new spot.SpotStreamDecoder();

  it('TradesStreamEvent', () => {
    const enc = new spot.TradesStreamEventEncoder();
    fc.assert(
      fc.property(
        fc.record({
          eventTime: anyInt64,
          transactTime: anyInt64,
          priceExponent: exponent,
          qtyExponent: exponent,
          trades: fc.array(fc.record({ id: anyInt64, price: anyInt64, qty: anyInt64, isBuyerMaker: bool }), { maxLength: 40 }),
          symbol,
        }),
        fc.nat({ max: 64 }),
        (msg, offset) => {
          enc.wrapAndApplyHeader(buffer, offset).eventTime(msg.eventTime).transactTime(msg.transactTime);
          enc.priceExponent(msg.priceExponent).qtyExponent(msg.qtyExponent);
          const g = enc.tradesCount(msg.trades.length);
          for (const t of msg.trades) g.next().id(t.id).priceMantissa(t.price).qtyMantissa(t.qty).isBuyerMaker(t.isBuyerMaker);
          enc.symbol(msg.symbol);
          expect(dec.wrap(buffer, offset, enc.encodedLength)).toBe(DecodeStatus.Ok);
          const d = dec.tradesStreamEvent;
          expect(d.encodedLength).toBe(enc.encodedLength);
          expect(d.toObject()).toEqual({
            ...msg,
            trades: msg.trades.map((t) => ({ ...t, isBestMatch: spot.BoolEnum.True })),
          });
          const it = d.trades();
          for (const t of msg.trades) {
            it.next();
            expect(it.priceDecimal()).toBe(decimalToString(t.price, msg.priceExponent));
            // Correctly rounded for |exponent| <= 22 (exact powers of ten); within an ulp or two beyond.
            const want = decimalToNumber(t.price, msg.priceExponent);
            if (Math.abs(msg.priceExponent) <= 22) expect(it.price).toBe(want);
            else expect(Math.abs(it.price - want)).toBeLessThanOrEqual(Math.abs(want) * 4.5e-16);
            expect(it.priceMantissaBigInt()).toBe(BigInt(t.price));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('BestBidAskStreamEvent', () => {
    const enc = new spot.BestBidAskStreamEventEncoder();
    fc.assert(
      fc.property(
        fc.record({
          eventTime: anyInt64,
          bookUpdateId: anyInt64,
          priceExponent: exponent,
          qtyExponent: exponent,
          bidPrice: anyInt64,
          bidQty: anyInt64,
          askPrice: anyInt64,
          askQty: anyInt64,
          symbol,
        }),
        (m) => {
          enc
            .wrapAndApplyHeader(buffer)
            .eventTime(m.eventTime)
            .bookUpdateId(m.bookUpdateId)
            .priceExponent(m.priceExponent)
            .qtyExponent(m.qtyExponent)
            .bidPriceMantissa(m.bidPrice)
            .bidQtyMantissa(m.bidQty)
            .askPriceMantissa(m.askPrice)
            .askQtyMantissa(m.askQty)
            .symbol(m.symbol);
          expect(dec.wrap(buffer, 0, enc.encodedLength)).toBe(DecodeStatus.Ok);
          expect(dec.bestBidAskStreamEvent.toObject()).toEqual(m);
          expect(dec.bestBidAskStreamEvent.askQtyDecimal()).toBe(decimalToString(m.askQty, m.qtyExponent));
        },
      ),
      // a leading U+FEFF (found by this property in CI): TextDecoder strips it unless told not to
      { numRuns: 300, examples: [[{ eventTime: 0, bookUpdateId: 0, priceExponent: 0, qtyExponent: 0, bidPrice: 0, bidQty: 0, askPrice: 0, askQty: 0, symbol: '\uFEFFBTC' }]] },
    );
  });

  for (const kind of ['DepthSnapshotStreamEvent', 'DepthDiffStreamEvent'] as const) {
    it(kind, () => {
      const snapshot = kind === 'DepthSnapshotStreamEvent';
      const snapEnc = new spot.DepthSnapshotStreamEventEncoder();
      const diffEnc = new spot.DepthDiffStreamEventEncoder();
      fc.assert(
        fc.property(
          fc.record({
            eventTime: anyInt64,
            firstId: anyInt64,
            lastId: anyInt64,
            priceExponent: exponent,
            qtyExponent: exponent,
            bids: levels(60),
            asks: levels(60),
            symbol,
          }),
          (m) => {
            const enc = snapshot
              ? snapEnc.wrapAndApplyHeader(buffer).eventTime(m.eventTime).bookUpdateId(m.lastId)
              : diffEnc.wrapAndApplyHeader(buffer).eventTime(m.eventTime).firstBookUpdateId(m.firstId).lastBookUpdateId(m.lastId);
            enc.priceExponent(m.priceExponent).qtyExponent(m.qtyExponent);
            const b = enc.bidsCount(m.bids.length);
            for (const l of m.bids) b.next().priceMantissa(l.price).qtyMantissa(l.qty);
            const a = enc.asksCount(m.asks.length);
            for (const l of m.asks) a.next().priceMantissa(l.price).qtyMantissa(l.qty);
            enc.symbol(m.symbol);
            expect(dec.wrap(buffer, 0, enc.encodedLength)).toBe(DecodeStatus.Ok);
            const ids = snapshot ? { bookUpdateId: m.lastId } : { firstBookUpdateId: m.firstId, lastBookUpdateId: m.lastId };
            const d = snapshot ? dec.depthSnapshotStreamEvent : dec.depthDiffStreamEvent;
            expect(d.toObject()).toEqual({
              eventTime: m.eventTime,
              ...ids,
              priceExponent: m.priceExponent,
              qtyExponent: m.qtyExponent,
              bids: m.bids,
              asks: m.asks,
              symbol: m.symbol,
            });
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});

describe('hotpath envelope schema round trips', () => {
  const dec = new hotpath.HotpathDecoder();

  it('Envelope carries an arbitrary embedded frame byte for byte', () => {
    const enc = new hotpath.EnvelopeEncoder();
    fc.assert(
      fc.property(
        fc.record({
          receiveTimeUs: anyInt64,
          sequence: anyInt64,
          connectionEpoch: fc.nat({ max: 0xffffffff }),
          kind: fc.constantFrom(...Object.values(hotpath.EnvelopeKind)),
          writerId: fc.maxSafeNat(),
          traceId: fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }),
          parentSpanId: fc.array(fc.nat(255), { minLength: 8, maxLength: 8 }),
          traceFlags: fc.nat(255),
          symbol,
          payload: fc.uint8Array({ maxLength: 5000 }),
        }),
        (m) => {
          enc.wrapAndApplyHeader(buffer).receiveTimeUs(m.receiveTimeUs).sequence(m.sequence).connectionEpoch(m.connectionEpoch).kind(m.kind).writerId(m.writerId);
          for (const [i, v] of m.traceId.entries()) enc.traceIdAt(i, v);
          for (const [i, v] of m.parentSpanId.entries()) enc.parentSpanIdAt(i, v);
          enc.traceFlags(m.traceFlags).symbol(m.symbol).payload(m.payload);
          expect(dec.wrap(buffer, 0, enc.encodedLength)).toBe(DecodeStatus.Ok);
          const e = dec.envelope;
          expect(e.toObject()).toEqual({ ...m, payload: m.payload });
          expect(Buffer.from(buffer.subarray(e.payloadOffset, e.payloadOffset + e.payloadLength))).toEqual(Buffer.from(m.payload));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('TradeBackfill, DepthSnapshot, ConnectionEvent and GapNotice', () => {
    const tb = new hotpath.TradeBackfillEncoder();
    const ds = new hotpath.DepthSnapshotEncoder();
    const ce = new hotpath.ConnectionEventEncoder();
    const gn = new hotpath.GapNoticeEncoder();
    fc.assert(
      fc.property(
        fc.record({
          fromId: anyInt64,
          toId: anyInt64,
          t: anyInt64,
          complete: bool,
          exp: smallExponent,
          trades: fc.array(fc.record({ id: anyInt64, price: anyInt64, qty: anyInt64, timeUs: anyInt64, isBuyerMaker: bool, isBestMatch: bool }), { maxLength: 30 }),
          bids: levels(30),
          asks: levels(30),
          epoch: fc.nat({ max: 0xffffffff }),
          reason: symbol,
          symbol,
        }),
        (m) => {
          tb.wrapAndApplyHeader(buffer).fromId(m.fromId).toId(m.toId).receiveTimeUs(m.t).complete(m.complete).priceExponent(m.exp).qtyExponent(m.exp);
          const g = tb.tradesCount(m.trades.length);
          for (const t of m.trades) g.next().id(t.id).priceMantissa(t.price).qtyMantissa(t.qty).timeUs(t.timeUs).isBuyerMaker(t.isBuyerMaker).isBestMatch(t.isBestMatch);
          tb.symbol(m.symbol);
          expect(dec.wrap(buffer, 0, tb.encodedLength)).toBe(DecodeStatus.Ok);
          expect(dec.tradeBackfill.toObject()).toEqual({
            fromId: m.fromId,
            toId: m.toId,
            receiveTimeUs: m.t,
            complete: m.complete,
            priceExponent: m.exp,
            qtyExponent: m.exp,
            trades: m.trades,
            symbol: m.symbol,
          });

          ds.wrapAndApplyHeader(buffer).lastUpdateId(m.toId).requestTimeUs(m.t).receiveTimeUs(m.t).priceExponent(m.exp).qtyExponent(m.exp);
          const b = ds.bidsCount(m.bids.length);
          for (const l of m.bids) b.next().priceMantissa(l.price).qtyMantissa(l.qty);
          const a = ds.asksCount(m.asks.length);
          for (const l of m.asks) a.next().priceMantissa(l.price).qtyMantissa(l.qty);
          ds.symbol(m.symbol);
          expect(dec.wrap(buffer, 0, ds.encodedLength)).toBe(DecodeStatus.Ok);
          expect(dec.depthSnapshot.toObject()).toMatchObject({ lastUpdateId: m.toId, bids: m.bids, asks: m.asks, symbol: m.symbol });

          ce.wrapAndApplyHeader(buffer).eventTimeUs(m.t).connectionEpoch(m.epoch).previousEpoch(m.epoch).lastSequence(m.fromId).type(hotpath.ConnectionEventType.SwitchedOver);
          ce.symbol(m.symbol).reason(m.reason);
          expect(dec.wrap(buffer, 0, ce.encodedLength)).toBe(DecodeStatus.Ok);
          expect(dec.connectionEvent.symbol()).toBe(m.symbol);
          expect(dec.connectionEvent.reason()).toBe(m.reason);
          expect(dec.connectionEvent.type).toBe(hotpath.ConnectionEventType.SwitchedOver);

          gn.wrapAndApplyHeader(buffer).detectedAtUs(m.t).expectedId(m.fromId).receivedId(m.toId).kind(hotpath.GapKind.TradeId).symbol(m.symbol);
          expect(dec.wrap(buffer, 0, gn.encodedLength)).toBe(DecodeStatus.Ok);
          expect(dec.gapNotice.toObject()).toEqual({ detectedAtUs: m.t, expectedId: m.fromId, receivedId: m.toId, kind: 2, symbol: m.symbol });
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('decimals', () => {
  it('string → mantissa → string is exact at any scale', () => {
    fc.assert(
      fc.property(anyInt64, smallExponent, (m, e) => {
        const text = decimalToString(m, e);
        expect(decimalStringToMantissa(text, e)).toBe(m);
        expect(decimalToNumber(m, e)).toBe(Number(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects values with more precision than the exponent, and non-numbers', () => {
    expect(() => decimalStringToMantissa('1.234', -2)).toThrow(RangeError);
    expect(() => decimalStringToMantissa('abc', -2)).toThrow(RangeError);
    expect(() => decimalStringToMantissa('.', -2)).toThrow(RangeError);
    expect(decimalStringToMantissa('1.2300', -2)).toBe(123);
    expect(decimalStringToMantissa('-0.5', -1)).toBe(-5);
    expect(decimalStringToMantissa('1e3', 0)).toBe(1000);
  });
});
