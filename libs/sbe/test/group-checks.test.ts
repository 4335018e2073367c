/**
 * Group entries are range-checked in one branch-free sweep and, only when it finds a bad entry,
 * walked again check by check: the error must still name the first bad field in frame order
 * (entry by entry, field by field), at its offset. The cursor reads every group through the
 * DataView whatever its count, so its position (base, index, at) is checked for small and large
 * groups alike, and the limits the validators read through their module-local reference follow
 * setDecodeLimits.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { generateSchema, parseSchema } from '../src/codegen/index.ts';
import { DecodeStatus, decodeLimits, setDecodeLimits, spot } from '../src/index.ts';

const HEADER = 8;
const DEPTH_ROOT = 26;
const LEVEL = 16;
const TRADE_ROOT = 18;
const TRADE = 25;

/** A depth diff frame with `bids` and `asks` levels (price i+1, qty 10*(i+1)), at `at` in a larger buffer. */
function depthFrame(bids: number, asks: number, at = 3): { buf: Buffer; length: number; bidsAt: number; asksAt: number } {
  const buf = Buffer.alloc(at + 64 + (bids + asks) * LEVEL);
  const e = new spot.DepthDiffStreamEventEncoder().wrapAndApplyHeader(buf, at).eventTime(1).firstBookUpdateId(2).lastBookUpdateId(3).priceExponent(-2).qtyExponent(-8);
  const b = e.bidsCount(bids);
  for (let i = 0; i < bids; i++)
    b.next()
      .priceMantissa(i + 1)
      .qtyMantissa(10 * (i + 1));
  const a = e.asksCount(asks);
  for (let i = 0; i < asks; i++)
    a.next()
      .priceMantissa(i + 1)
      .qtyMantissa(10 * (i + 1));
  e.symbol('BTCUSDT');
  const bidsAt = at + HEADER + DEPTH_ROOT + 4;
  return { buf, length: e.encodedLength, bidsAt, asksAt: bidsAt + bids * LEVEL + 4 };
}

/** Puts 2^60 (out of the exact range) into the int64 at `o`. */
const outOfRange = (buf: Buffer, o: number): void => {
  buf.writeBigInt64LE(1n << 60n, o);
};

describe('group entries: the first bad field in frame order', () => {
  const depth = new spot.DepthDiffStreamEventDecoder();
  const dispatcher = new spot.SpotStreamDecoder();

  for (const levels of [3, 40]) {
    it(`${levels} levels a side: the earliest bad entry wins, and within it the earliest field`, () => {
      const f = depthFrame(levels, levels);
      outOfRange(f.buf, f.bidsAt + 2 * LEVEL + 8); // entry 2's qty
      outOfRange(f.buf, f.asksAt + 0 * LEVEL + 0); // a later group's entry 0
      expect(depth.wrap(f.buf, 3, f.length)).toBe(DecodeStatus.Int64OutOfRange);
      expect([depth.errorField, depth.errorOffset]).toEqual(['DepthDiffStreamEvent.bids.qty', f.bidsAt + 2 * LEVEL + 8]);

      outOfRange(f.buf, f.bidsAt + 1 * LEVEL + 0); // an earlier entry's price
      expect(dispatcher.wrap(f.buf, 3, f.length)).toBe(DecodeStatus.Int64OutOfRange);
      expect([dispatcher.errorField, dispatcher.errorOffset]).toEqual(['DepthDiffStreamEvent.bids.price', f.bidsAt + LEVEL]);

      outOfRange(f.buf, f.bidsAt + 1 * LEVEL + 8); // the same entry's qty too: price still comes first
      expect(depth.wrap(f.buf, 3, f.length)).toBe(DecodeStatus.Int64OutOfRange);
      expect(depth.errorField).toBe('DepthDiffStreamEvent.bids.price');
      // A failed wrap hands out nothing of the frame: the groups read empty.
      expect(depth.bids().count).toBe(0);
      expect(depth.bids().next()).toBe(false);
      expect(depth.asks().index).toBe(-1);
    });
  }

  it('a bad enum in an earlier trade wins over a bad int64 in a later one; a bad int64 wins over the enum of its own entry', () => {
    const buf = Buffer.alloc(256);
    const e = new spot.TradesStreamEventEncoder().wrapAndApplyHeader(buf).eventTime(1).transactTime(2).priceExponent(-2).qtyExponent(-8);
    const g = e.tradesCount(3);
    for (let i = 0; i < 3; i++)
      g.next()
        .id(i)
        .priceMantissa(100 + i)
        .qtyMantissa(1)
        .isBuyerMaker(1);
    e.symbol('BTCUSDT');
    const first = HEADER + TRADE_ROOT + 6;
    const trades = new spot.TradesStreamEventDecoder();
    expect(trades.wrap(buf, 0, e.encodedLength)).toBe(DecodeStatus.Ok);

    buf[first + 1 * TRADE + 24] = 7; // entry 1: isBuyerMaker not in the enum
    outOfRange(buf, first + 2 * TRADE + 8); // entry 2: price
    expect(trades.wrap(buf, 0, e.encodedLength)).toBe(DecodeStatus.InvalidEnumValue);
    expect([trades.errorField, trades.errorOffset]).toEqual(['TradesStreamEvent.trades.isBuyerMaker', first + TRADE + 24]);

    outOfRange(buf, first + 1 * TRADE + 16); // entry 1: qty, before its enum
    expect(trades.wrap(buf, 0, e.encodedLength)).toBe(DecodeStatus.Int64OutOfRange);
    expect([trades.errorField, trades.errorOffset]).toEqual(['TradesStreamEvent.trades.qty', first + TRADE + 16]);
  });

  it('the extreme values that fit 2^53 pass, their neighbours outside do not', () => {
    for (const [v, ok] of [
      [(1n << 53n) - 1n, true],
      [-(1n << 53n), true],
      [1n << 53n, false],
      [-(1n << 53n) - 1n, false],
    ] as const) {
      const f = depthFrame(9, 2);
      f.buf.writeBigInt64LE(v, f.bidsAt + 8 * LEVEL + 8);
      expect(depth.wrap(f.buf, 3, f.length), String(v)).toBe(ok ? DecodeStatus.Ok : DecodeStatus.Int64OutOfRange);
      if (ok) expect(depth.bids().qtyMantissaAt(8)).toBe(Number(v));
    }
  });
});

describe('the DataView cursor, small and large groups alike', () => {
  const depth = new spot.DepthDiffStreamEventDecoder();

  for (const levels of [0, 1, 7, 8, 65]) {
    it(`${levels} levels: base, index, next, at and the values`, () => {
      const f = depthFrame(levels, 2, 11);
      expect(depth.wrap(f.buf, 11, f.length)).toBe(DecodeStatus.Ok);
      const g = depth.bids();
      expect(g.count).toBe(levels);
      expect(g.index).toBe(-1);
      const seen: number[][] = [];
      while (g.next()) seen.push([g.index, g.base, g.priceMantissa, g.qtyMantissa, g.price]);
      expect(seen).toEqual(Array.from({ length: levels }, (_, i) => [i, f.bidsAt + i * LEVEL, i + 1, 10 * (i + 1), (i + 1) / 100]));
      expect(g.next()).toBe(false);
      if (levels > 0) {
        expect(g.index).toBe(levels - 1);
        g.at(0);
        expect([g.index, g.base, g.priceMantissa, g.qtyMantissaBigInt()]).toEqual([0, f.bidsAt, 1, 10n]);
        expect(g.next()).toBe(levels > 1);
      }
      expect(() => g.at(levels)).toThrow(RangeError);
      const asks = depth.asks();
      expect(asks.next() && asks.base).toBe(f.asksAt);
    });
  }

  it('a frame in a fresh buffer after one in another: the cursor reads the new frame', () => {
    const a = depthFrame(3, 1, 0);
    const b = depthFrame(9, 1, 5);
    b.buf.writeBigInt64LE(777n, b.bidsAt);
    for (const [f, at, first] of [
      [a, 0, 1],
      [b, 5, 777],
      [a, 0, 1],
    ] as const) {
      expect(depth.wrap(f.buf, at, f.length)).toBe(DecodeStatus.Ok);
      const g = depth.bids();
      g.next();
      expect(g.priceMantissa).toBe(first);
    }
  });
});

describe('limits read by the validators', () => {
  const saved = { ...decodeLimits };
  afterEach(() => setDecodeLimits(saved));

  it('setDecodeLimits takes effect on the next wrap, and undoing it too', () => {
    const depth = new spot.DepthDiffStreamEventDecoder();
    const f = depthFrame(12, 1);
    setDecodeLimits({ maxGroupEntries: 11 });
    expect(depth.wrap(f.buf, 3, f.length)).toBe(DecodeStatus.GroupCountTooLarge);
    setDecodeLimits({ maxGroupEntries: 12, maxVarDataLength: 6 });
    expect(depth.wrap(f.buf, 3, f.length)).toBe(DecodeStatus.VarDataTooLong);
    setDecodeLimits(saved);
    expect(depth.wrap(f.buf, 3, f.length)).toBe(DecodeStatus.Ok);
  });
});

describe('a group entry with its own exponent', () => {
  // Its own .tmp: generator.test.ts removes libs/sbe/.tmp when it ends, maybe while this runs.
  const tmp = join(resolve(fileURLToPath(import.meta.url), '..'), '.tmp');
  const outDir = join(tmp, 'own-exponent');
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('its decimals scale by the exponent of the same entry, entry after entry, in small and large groups', async () => {
    const xml = `<sbe:messageSchema xmlns:sbe="http://fixprotocol.io/2016/sbe" xmlns:mbx="x" package="own" id="9" version="0" byteOrder="littleEndian">
      <types><composite name="messageHeader"><type name="blockLength" primitiveType="uint16"/><type name="templateId" primitiveType="uint16"/>
      <type name="schemaId" primitiveType="uint16"/><type name="version" primitiveType="uint16"/></composite>
      <composite name="gs"><type name="blockLength" primitiveType="uint16"/><type name="numInGroup" primitiveType="uint16"/></composite>
      <type name="exponent8" primitiveType="int8"/><type name="mantissa64" primitiveType="int64"/></types>
      <sbe:message name="Quotes" id="1"><group name="quotes" id="1" dimensionType="gs">
        <field name="exponent" id="1" type="exponent8"/><field name="price" id="2" type="mantissa64" mbx:exponent="exponent"/>
      </group></sbe:message></sbe:messageSchema>`;
    mkdirSync(outDir, { recursive: true });
    for (const f of generateSchema(parseSchema(xml), xml, 'own.xml', { runtimeImport: '../../../src/runtime/index.ts' })) writeFileSync(join(outDir, f.path), f.text);
    const m = (await import(join(outDir, 'index.ts'))) as Record<string, any>;
    for (const n of [3, 12]) {
      const buf = Buffer.alloc(1024);
      const enc = new m['QuotesEncoder']().wrapAndApplyHeader(buf);
      const g = enc.quotesCount(n);
      for (let i = 0; i < n; i++)
        g.next()
          .exponent(-(i % 4))
          .priceMantissa(12345);
      const dec = new m['QuotesDecoder']();
      expect(dec.wrap(buf, 0, enc.encodedLength)).toBe(DecodeStatus.Ok);
      const q = dec.quotes();
      const prices: number[] = [];
      while (q.next()) prices.push(q.price);
      expect(prices).toEqual(Array.from({ length: n }, (_, i) => 12345 / 10 ** (i % 4)));
    }
  });
});
