/**
 * Golden vectors: real captured Binance frames (values decoded independently,
 * listed in shared/reference/binance/test-vectors.md) and frames assembled
 * here byte by byte from the schema's documented layout, without the generator.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DecodeStatus, spot } from '../src/index.ts';

interface Level {
  price: number;
  qty: number;
  priceDecimal: string;
  qtyDecimal: string;
}
interface Vector {
  id: string;
  message: string;
  templateId: number;
  hex: string;
  complete: boolean;
  length?: number;
  eventTime?: number;
  transactTime?: number;
  bookUpdateId?: number;
  firstBookUpdateId?: number;
  lastBookUpdateId?: number;
  priceExponent?: number;
  qtyExponent?: number;
  symbol?: string;
  bids?: Level[];
  asks?: Level[];
  trades?: { id: number; price: number; qty: number; isBuyerMaker: number }[];
  bid?: { price: number; qty: number };
  ask?: { price: number; qty: number };
}

const { vectors } = JSON.parse(readFileSync(new URL('./fixtures/binance-test-vectors.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};
const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');
/** The reference prints zero as Python's Decimal does ("0E-8"); compare by exact value instead. */
const canonical = (s: string): string => (/^0E-\d+$/.test(s) ? '0' : s.replace(/\.?0+$/, '') || '0');

function readLevels(g: spot.DepthDiffStreamEventBidsDecoder | spot.DepthSnapshotStreamEventBidsDecoder | spot.DepthDiffStreamEventAsksDecoder | spot.DepthSnapshotStreamEventAsksDecoder) {
  const out: { price: number; qty: number; priceDecimal: string; qtyDecimal: string; priceValue: number }[] = [];
  while (g.next()) {
    out.push({ price: g.priceMantissa, qty: g.qtyMantissa, priceDecimal: g.priceDecimal(), qtyDecimal: g.qtyDecimal(), priceValue: g.price });
  }
  return out;
}

describe('real and reference frames from test-vectors.md', () => {
  const decoder = new spot.SpotStreamDecoder();

  for (const v of vectors.filter((x) => x.complete)) {
    it(`${v.id} ${v.message} decodes to the listed values and consumes every byte`, () => {
      const frame = bytes(v.hex);
      expect(frame.length).toBe(v.length);
      expect(decoder.wrap(frame)).toBe(DecodeStatus.Ok);
      expect(decoder.templateId).toBe(v.templateId);

      if (v.message === 'DepthSnapshotStreamEvent' || v.message === 'DepthDiffStreamEvent') {
        const d = v.message === 'DepthSnapshotStreamEvent' ? decoder.depthSnapshotStreamEvent : decoder.depthDiffStreamEvent;
        expect(d.encodedLength).toBe(frame.length);
        expect(d.eventTime).toBe(v.eventTime);
        expect(d.priceExponent).toBe(v.priceExponent);
        expect(d.qtyExponent).toBe(v.qtyExponent);
        expect(d.symbol()).toBe(v.symbol);
        if (d instanceof spot.DepthSnapshotStreamEventDecoder) expect(d.bookUpdateId).toBe(v.bookUpdateId);
        else {
          expect(d.firstBookUpdateId).toBe(v.firstBookUpdateId);
          expect(d.lastBookUpdateId).toBe(v.lastBookUpdateId);
        }
        for (const side of ['bids', 'asks'] as const) {
          const got = readLevels(d[side]());
          const want = v[side]!;
          expect(got.map((l) => [l.price, l.qty])).toEqual(want.map((l) => [l.price, l.qty]));
          expect(got.map((l) => canonical(l.priceDecimal))).toEqual(want.map((l) => canonical(l.priceDecimal)));
          expect(got.map((l) => canonical(l.qtyDecimal))).toEqual(want.map((l) => canonical(l.qtyDecimal)));
          // The number accessor is the correctly rounded value of the exact decimal.
          expect(got.map((l) => l.priceValue)).toEqual(want.map((l) => Number(l.priceDecimal)));
        }
      } else if (v.message === 'TradesStreamEvent') {
        const d = decoder.tradesStreamEvent;
        expect(d.encodedLength).toBe(frame.length);
        expect([d.eventTime, d.transactTime, d.priceExponent, d.qtyExponent]).toEqual([v.eventTime, v.transactTime, v.priceExponent, v.qtyExponent]);
        const t = d.trades();
        expect(t.count).toBe(v.trades!.length);
        expect(t.next()).toBe(true);
        expect([t.id, t.priceMantissa, t.qtyMantissa, t.isBuyerMaker, t.isBestMatch]).toEqual([
          v.trades![0]!.id,
          v.trades![0]!.price,
          v.trades![0]!.qty,
          v.trades![0]!.isBuyerMaker,
          spot.BoolEnum.True,
        ]);
        expect(t.priceDecimal()).toBe('42000.00');
        expect(t.price).toBe(42000);
        expect(t.next()).toBe(false);
        expect(d.symbol()).toBe(v.symbol);
      } else if (v.message === 'BestBidAskStreamEvent') {
        const d = decoder.bestBidAskStreamEvent;
        expect(d.encodedLength).toBe(frame.length);
        expect([d.eventTime, d.bookUpdateId, d.priceExponent, d.qtyExponent]).toEqual([v.eventTime, v.bookUpdateId, v.priceExponent, v.qtyExponent]);
        expect([d.bidPriceMantissa, d.bidQtyMantissa, d.askPriceMantissa, d.askQtyMantissa]).toEqual([v.bid!.price, v.bid!.qty, v.ask!.price, v.ask!.qty]);
        expect([d.bidPriceDecimal(), d.askPriceDecimal(), d.bidQtyDecimal()]).toEqual(['42000.00', '42001.00', '1.00000000']);
        expect(d.symbol()).toBe('BTCUSDT');
      }
    });
  }

  it('the nautilus buffer with 4 trailing bytes still decodes and reports its true length', () => {
    const s2 = vectors.find((v) => v.id === 'S2')!;
    const frame = Buffer.concat([bytes(s2.hex), Buffer.alloc(4)]);
    expect(decoder.wrap(frame)).toBe(DecodeStatus.Ok);
    expect(decoder.bestBidAskStreamEvent.encodedLength).toBe(66);
  });

  for (const v of vectors.filter((x) => !x.complete)) {
    it(`${v.id}: a 32-byte prefix of a real ${v.message} is reported as truncated, not misread`, () => {
      const frame = bytes(v.hex);
      expect(decoder.wrap(frame)).toBe(DecodeStatus.Truncated);
      expect(decoder.templateId).toBe(v.templateId);
      expect(decoder.error()?.code).toBe('Truncated');
      // The header and the first fields are still legible by hand: the vector itself is sound.
      expect(frame.readBigInt64LE(8)).toBe(BigInt(v.eventTime!));
    });
  }
});

/** Builds frames from the documented layout (NOTES.md §2) with Buffer writes only. */
function header(blockLength: number, templateId: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(blockLength, 0);
  h.writeUInt16LE(templateId, 2);
  h.writeUInt16LE(1, 4);
  h.writeUInt16LE(0, 6);
  return h;
}
const i64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  return b;
};
const i8 = (v: number): Buffer => Buffer.from([v & 0xff]);
const varString8 = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s, 'utf8')]);

describe('hand-assembled frames (independent of the generator)', () => {
  const decoder = new spot.SpotStreamDecoder();

  it('TradesStreamEvent with three trades: 6-byte group header, 25-byte entries, constant isBestMatch off the wire', () => {
    const trades = [
      [3735683259n, 6183763000000n, 2000000n, 1],
      [3735683260n, 6183764000000n, 123456789n, 0],
      [3735683261n, 6183765000000n, 1n, 1],
    ] as const;
    const groupHeader = Buffer.alloc(6);
    groupHeader.writeUInt16LE(25, 0);
    groupHeader.writeUInt32LE(trades.length, 2);
    const frame = Buffer.concat([
      header(18, 10000),
      i64(1723161255343000n),
      i64(1723161255342000n),
      i8(-8),
      i8(-8),
      groupHeader,
      ...trades.map(([id, p, q, m]) => Buffer.concat([i64(id), i64(p), i64(q), Buffer.from([m])])),
      varString8('BTCUSDT'),
    ]);
    expect(frame.length).toBe(8 + 18 + 6 + 3 * 25 + 8);
    expect(decoder.wrap(frame)).toBe(DecodeStatus.Ok);
    const d = decoder.tradesStreamEvent;
    expect(d.eventTime).toBe(1723161255343000);
    expect(d.transactTime).toBe(1723161255342000);
    const g = d.trades();
    const got: unknown[] = [];
    while (g.next()) got.push([g.id, g.priceDecimal(), g.qtyDecimal(), g.isBuyerMaker]);
    expect(got).toEqual([
      [3735683259, '61837.63000000', '0.02000000', 1],
      [3735683260, '61837.64000000', '1.23456789', 0],
      [3735683261, '61837.65000000', '0.00000001', 1],
    ]);
    expect(g.at(1).qty).toBe(1.23456789);
    expect(d.symbol()).toBe('BTCUSDT');
    expect(d.encodedLength).toBe(frame.length);
  });

  it('DepthDiffStreamEvent with an empty bid group, negative exponent variety and a non-ASCII symbol', () => {
    const bidsHeader = Buffer.from([16, 0, 0, 0]);
    const asksHeader = Buffer.from([16, 0, 2, 0]);
    const frame = Buffer.concat([
      header(26, 10003),
      i64(1759737666314426n),
      i64(77453519695n),
      i64(77453519761n),
      i8(-2),
      i8(-5),
      bidsHeader,
      asksHeader,
      i64(8359601n),
      i64(0n),
      i64(8361093n),
      i64(225174n),
      varString8('币安USDT'),
    ]);
    expect(decoder.wrap(frame)).toBe(DecodeStatus.Ok);
    const d = decoder.depthDiffStreamEvent;
    expect([d.firstBookUpdateId, d.lastBookUpdateId]).toEqual([77453519695, 77453519761]);
    expect(d.bids().count).toBe(0);
    expect(d.bids().next()).toBe(false);
    const asks = d.asks();
    expect(asks.count).toBe(2);
    asks.next();
    expect([asks.priceDecimal(), asks.qtyDecimal(), asks.qty]).toEqual(['83596.01', '0.00000', 0]);
    asks.next();
    expect([asks.price, asks.qtyDecimal()]).toEqual([83610.93, '2.25174']);
    expect(d.symbol()).toBe('币安USDT');
    expect(d.symbolLength).toBe(Buffer.byteLength('币安USDT'));
  });

  it('BestBidAskStreamEvent at offset 5 inside a larger buffer', () => {
    const body = Buffer.concat([
      header(50, 10001),
      i64(1759737766615822n),
      i64(77453571531n),
      i8(-8),
      i8(-8),
      i64(8359600000000n),
      i64(212091000n),
      i64(8359601000000n),
      i64(225174000n),
      varString8('BTCUSDT'),
    ]);
    const buf = Buffer.concat([Buffer.from([9, 9, 9, 9, 9]), body, Buffer.from([7, 7])]);
    expect(decoder.wrap(buf, 5, body.length)).toBe(DecodeStatus.Ok);
    const d = decoder.bestBidAskStreamEvent;
    expect([d.bidPrice, d.bidQty, d.askPrice, d.askQty]).toEqual([83596, 2.12091, 83596.01, 2.25174]);
    expect(d.bookUpdateId).toBe(77453571531);
    expect(d.encodedLength).toBe(66);
  });

  it('a frame from a newer schema version with a longer root block decodes the known fields (forward compatible)', () => {
    const bidsHeader = Buffer.from([24, 0, 1, 0]); // entries grew to 24 bytes too
    const frame = Buffer.concat([
      header(30, 10002),
      i64(1n),
      i64(42n),
      i8(-8),
      i8(-8),
      Buffer.alloc(12, 0xee), // unknown new root fields
      bidsHeader,
      i64(100n),
      i64(200n),
      Buffer.alloc(8, 0xee),
      Buffer.from([16, 0, 0, 0]),
      varString8('X'),
    ]);
    frame.writeUInt16LE(3, 6); // version 3
    expect(decoder.wrap(frame)).toBe(DecodeStatus.Ok);
    const d = decoder.depthSnapshotStreamEvent;
    expect(d.actingVersion).toBe(3);
    expect(d.bookUpdateId).toBe(42);
    const b = d.bids();
    expect(b.next()).toBe(true);
    expect([b.priceMantissa, b.qtyMantissa]).toEqual([100, 200]);
    expect(d.symbol()).toBe('X');
  });
});
