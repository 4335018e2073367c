/** Each class of bad input yields its typed status; nothing throws, nothing reads the frame after a failure. */
import { describe, expect, it, afterEach } from 'vitest';
import { DecodeError, DecodeStatus, EncodeError, decodeLimits, setDecodeLimits, spot } from '../src/index.ts';

const S1 = '120010270100000040420f000000000041420f0000000000fef81900010000000100000000000000401640000000000000e1f50500000000010742544355534454';
const S3 =
  '1a0013270100000040420f000000000039300000000000003e30000000000000fef810000300401640000000000000e1f50500000000dc1540000000000000e1f50500000000781540000000000000e1f5050000000010000200a41640000000000000c2eb0b00000000081740000000000000c2eb0b000000000742544355534454';
const frame = (hex: string): Buffer => Buffer.from(hex, 'hex');

describe('typed decode errors', () => {
  const dispatcher = new spot.SpotStreamDecoder();
  const trades = new spot.TradesStreamEventDecoder();
  const depth = new spot.DepthDiffStreamEventDecoder();
  const saved = { ...decodeLimits };
  afterEach(() => setDecodeLimits(saved));

  it('every strict prefix of a valid frame is rejected, never decoded as Ok', () => {
    for (const hex of [S1, S3]) {
      const full = frame(hex);
      for (let n = 0; n < full.length; n++) {
        const status = dispatcher.wrap(full.subarray(0, n));
        expect(status, `length ${n}`).not.toBe(DecodeStatus.Ok);
        expect([DecodeStatus.Truncated, DecodeStatus.VarDataTooLong]).toContain(status);
      }
      expect(dispatcher.wrap(full)).toBe(DecodeStatus.Ok);
    }
  });

  it('a wrong schema id', () => {
    const f = frame(S1);
    f.writeUInt16LE(3, 4);
    expect(dispatcher.wrap(f)).toBe(DecodeStatus.SchemaIdMismatch);
    expect(trades.wrap(f)).toBe(DecodeStatus.SchemaIdMismatch);
    expect(trades.errorField).toBe('TradesStreamEvent.header.schemaId');
    expect(trades.errorOffset).toBe(4);
  });

  it('an unknown template id (dispatcher) and a frame handed to the wrong decoder', () => {
    const f = frame(S1);
    f.writeUInt16LE(10099, 2);
    expect(dispatcher.wrap(f)).toBe(DecodeStatus.UnknownTemplate);
    expect(dispatcher.templateId).toBe(10099);
    expect(depth.wrap(frame(S1))).toBe(DecodeStatus.TemplateMismatch);
  });

  it('a header blockLength shorter than the fields of the acting version', () => {
    const f = frame(S1);
    f.writeUInt16LE(17, 0);
    expect(trades.wrap(f)).toBe(DecodeStatus.BlockLengthTooSmall);
  });

  it('a group entry blockLength shorter than its fields', () => {
    const f = frame(S1);
    f.writeUInt16LE(24, 26); // trades group blockLength 25 → 24
    expect(trades.wrap(f)).toBe(DecodeStatus.GroupBlockLengthTooSmall);
    expect(trades.errorField).toBe('TradesStreamEvent.trades');
  });

  it('a group count that runs past the buffer, past the schema maximum, or past the configured limit', () => {
    const f = frame(S1);
    f.writeUInt32LE(2, 28);
    expect(trades.wrap(f)).toBe(DecodeStatus.Truncated);
    f.writeUInt32LE(0x80000000, 28); // schema maxValue is 2^31-1
    expect(trades.wrap(f)).toBe(DecodeStatus.GroupCountTooLarge);
    f.writeUInt32LE(1_000_000, 28);
    expect(trades.wrap(f)).toBe(DecodeStatus.GroupCountTooLarge);
    const d = frame(S3);
    setDecodeLimits({ maxGroupEntries: 2 });
    expect(depth.wrap(d)).toBe(DecodeStatus.GroupCountTooLarge);
    expect(depth.errorField).toBe('DepthDiffStreamEvent.bids');
    setDecodeLimits({ maxGroupEntries: 3 });
    expect(depth.wrap(d)).toBe(DecodeStatus.Ok);
  });

  it('a var-string length past the frame, or past the configured limit', () => {
    const f = frame(S1);
    f[f.length - 8] = 8; // symbol length 7 → 8
    expect(trades.wrap(f)).toBe(DecodeStatus.VarDataTooLong);
    expect(trades.errorField).toBe('TradesStreamEvent.symbol');
    setDecodeLimits({ maxVarDataLength: 6 });
    expect(trades.wrap(frame(S1))).toBe(DecodeStatus.VarDataTooLong);
  });

  it('an int64 that does not fit 2^53 is reported with its field, not rounded', () => {
    const f = frame(S1);
    f.writeBigInt64LE(2n ** 53n, 8); // eventTime
    expect(trades.wrap(f)).toBe(DecodeStatus.Int64OutOfRange);
    expect(trades.errorField).toBe('TradesStreamEvent.eventTime');
    f.writeBigInt64LE(2n ** 53n - 1n, 8);
    expect(trades.wrap(f)).toBe(DecodeStatus.Ok);
    expect(trades.eventTime).toBe(2 ** 53 - 1);
    f.writeBigInt64LE(-(2n ** 53n), 8);
    expect(trades.wrap(f)).toBe(DecodeStatus.Ok);
    expect(trades.eventTimeBigInt()).toBe(-(2n ** 53n));
    f.writeBigInt64LE(-(2n ** 53n) - 1n, 8);
    expect(trades.wrap(f)).toBe(DecodeStatus.Int64OutOfRange);
    // inside a group entry too, at the exact boundaries
    const g = frame(S1);
    for (const [v, ok] of [
      [2n ** 53n - 1n, true],
      [2n ** 53n, false],
      [-(2n ** 53n), true],
      [-(2n ** 53n) - 1n, false],
      [-(2n ** 62n), false],
      [2n ** 63n - 1n, false],
      [-1n, true],
    ] as const) {
      g.writeBigInt64LE(v, 40); // trades[0].price
      expect(trades.wrap(g), String(v)).toBe(ok ? DecodeStatus.Ok : DecodeStatus.Int64OutOfRange);
      if (ok) expect(trades.trades().at(0).priceMantissa).toBe(Number(v));
      else expect(trades.errorField).toBe('TradesStreamEvent.trades.price');
    }
  });

  it('an enum value the schema does not list', () => {
    const f = frame(S1);
    f[56] = 2; // isBuyerMaker
    expect(trades.wrap(f)).toBe(DecodeStatus.InvalidEnumValue);
    expect(trades.errorField).toBe('TradesStreamEvent.trades.isBuyerMaker');
  });

  it('invalid offset/length arguments', () => {
    const f = frame(S1);
    expect(trades.wrap(f, -1)).toBe(DecodeStatus.InvalidArgument);
    expect(trades.wrap(f, 0, f.length + 1)).toBe(DecodeStatus.InvalidArgument);
    expect(trades.wrap(f, 0.5, 10)).toBe(DecodeStatus.InvalidArgument);
    expect(dispatcher.wrap(f, 10, 60)).toBe(DecodeStatus.InvalidArgument);
  });

  it('after a failure every accessor reads the null frame: zeros, empty groups, empty strings', () => {
    const good = frame(S1);
    expect(trades.wrap(good)).toBe(DecodeStatus.Ok);
    const bad = frame(S1);
    bad[56] = 9;
    expect(trades.wrap(bad)).toBe(DecodeStatus.InvalidEnumValue);
    expect(trades.eventTime).toBe(0);
    expect(trades.trades().count).toBe(0);
    expect(trades.trades().next()).toBe(false);
    expect(trades.symbol()).toBe('');
    expect(trades.symbolLength).toBe(0);
  });

  it('error() builds a typed, loggable DecodeError only on demand', () => {
    const f = frame(S1).subarray(0, 20);
    expect(trades.wrap(f)).toBe(DecodeStatus.Truncated);
    const err = trades.error()!;
    expect(err).toBeInstanceOf(DecodeError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('Truncated');
    expect(err.field).toBe('TradesStreamEvent');
    expect(err.message).toContain('Truncated');
    expect(trades.wrap(frame(S1))).toBe(DecodeStatus.Ok);
    expect(trades.error()).toBeUndefined();
  });

  it('the cached symbol string never aliases a reused receive buffer', () => {
    const buf = frame(S1);
    expect(trades.wrap(buf)).toBe(DecodeStatus.Ok);
    expect(trades.symbol()).toBe('BTCUSDT');
    buf.write('ETHUSDT', buf.length - 7, 'utf8'); // the same Buffer reused for the next frame
    expect(trades.wrap(buf)).toBe(DecodeStatus.Ok);
    expect(trades.symbol()).toBe('ETHUSDT');
    buf.write('BTCUSDT', buf.length - 7, 'utf8');
    expect(trades.wrap(buf)).toBe(DecodeStatus.Ok);
    expect(trades.symbol()).toBe('BTCUSDT');
  });

  it('the decode limits themselves are validated', () => {
    expect(() => setDecodeLimits({ maxGroupEntries: -1 })).toThrow(RangeError);
    expect(() => setDecodeLimits({ maxVarDataLength: 1.5 })).toThrow(RangeError);
  });
});

describe('typed encode errors', () => {
  const enc = new spot.TradesStreamEventEncoder();

  it('a buffer too small for the block, a group or the var data', () => {
    expect(() => enc.wrapAndApplyHeader(Buffer.alloc(20))).toThrow(EncodeError);
    enc.wrapAndApplyHeader(Buffer.alloc(40));
    expect(() => enc.tradesCount(1)).toThrow(/BufferTooSmall/);
    enc.wrapAndApplyHeader(Buffer.alloc(33)).tradesCount(0);
    expect(() => enc.symbol('BTCUSDT')).toThrow(EncodeError);
    let thrown: unknown;
    try {
      enc.wrapAndApplyHeader(Buffer.alloc(20));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ name: 'EncodeError', code: 'BufferTooSmall' });
  });

  it('values outside their wire type', () => {
    const e = enc.wrapAndApplyHeader(Buffer.alloc(256));
    expect(() => e.eventTime(2 ** 53)).toThrow(/ValueOutOfRange/);
    expect(() => e.eventTime(1.5)).toThrow(/ValueOutOfRange/);
    expect(() => e.priceExponent(128)).toThrow(/ValueOutOfRange/);
    expect(() => e.eventTimeBigInt(2n ** 63n)).toThrow(/ValueOutOfRange/);
    e.eventTimeBigInt(2n ** 62n); // fine on the wire; the decoder reports it as Int64OutOfRange
  });

  it('more entries than announced, and var data over its length prefix', () => {
    const e = enc.wrapAndApplyHeader(Buffer.alloc(1024));
    const g = e.tradesCount(1);
    g.next();
    expect(() => g.next()).toThrow(/EntryOverflow/);
    expect(() => e.symbol('x'.repeat(256))).toThrow(/VarDataTooLong/);
  });
});

describe('indexed access to fixed-size groups', () => {
  it('xAt(i) equals the cursor values, for small (byte reads) and large (DataView) groups, and rejects bad indexes', () => {
    const enc = new spot.DepthDiffStreamEventEncoder();
    const dec = new spot.DepthDiffStreamEventDecoder();
    for (const levels of [3, 40]) {
      const buf = Buffer.alloc(4096);
      enc.wrapAndApplyHeader(buf, 5).eventTime(1).firstBookUpdateId(1).lastBookUpdateId(2).priceExponent(-2).qtyExponent(-8);
      const bids = enc.bidsCount(levels);
      for (let i = 0; i < levels; i++)
        bids
          .next()
          .priceMantissa(6_000_000 - i)
          .qtyMantissa(i * 1000 + 1);
      enc.asksCount(0);
      enc.symbol('BTCUSDT');
      expect(dec.wrap(buf, 5, enc.encodedLength)).toBe(DecodeStatus.Ok);
      const g = dec.bids();
      const byIndex = Array.from({ length: g.count }, (_, i) => [g.priceMantissaAt(i), g.qtyMantissaAt(i), g.priceAt(i), g.qtyAt(i)]);
      const byCursor: number[][] = [];
      while (g.next()) byCursor.push([g.priceMantissa, g.qtyMantissa, g.price, g.qty]);
      expect(byIndex).toEqual(byCursor);
      expect(byIndex[1]).toEqual([5_999_999, 1001, 59999.99, 0.00001001]);
      expect(() => g.priceAt(levels)).toThrow(RangeError);
      expect(() => g.priceMantissaAt(-1)).toThrow(RangeError);
    }
  });
});
