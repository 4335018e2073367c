/** The feature vector's binary format: lossless both ways, and every malformed value refused by name. */
import { describe, expect, it } from 'vitest';
import { STATUS_OFFSET, VERSION_OFFSET, VectorFormatError, VectorStatus, decodeVector, encodeVector, type FeatureVectorRecord } from '../src/index.ts';

const record: FeatureVectorRecord = {
  status: VectorStatus.Reanchoring,
  version: 7,
  eventTimeUs: 1_750_000_000_000_007,
  writtenAtUs: 1,
  bestBid: 60000.01,
  bestAsk: 60000.02,
  schemaHash: '0123456789abcdef',
  features: Float64Array.from([7, Math.PI, Number.NaN, -0]),
};

describe('feature vector format', () => {
  it('decodes what it encodes, NaN and -0 included', () => {
    const v = decodeVector(encodeVector(record));
    expect(v).toEqual(record);
    expect(Object.is(v.features[3], -0)).toBe(true);
  });

  it('keeps status and version where in-place updates write them', () => {
    const b = encodeVector(record);
    b.writeUInt8(VectorStatus.Live, STATUS_OFFSET);
    b.writeDoubleLE(8, VERSION_OFFSET);
    expect(decodeVector(b)).toMatchObject({ status: VectorStatus.Live, version: 8 });
  });

  it('refuses garbage, another format, a wrong length and an unknown status', () => {
    const refusal = (b: Buffer): string => {
      try {
        decodeVector(b);
      } catch (err) {
        expect(err).toBeInstanceOf(VectorFormatError);
        return (err as Error).message;
      }
      throw new Error('decoded');
    };
    expect(refusal(Buffer.from('garbage garbage garbage garbage garbage garbage garbage garbage garbage'))).toBe('not a feature vector');
    const otherFormat = encodeVector(record);
    otherFormat.writeUInt16LE(2, 4);
    expect(refusal(otherFormat)).toBe('vector format 2 unsupported');
    expect(refusal(encodeVector(record).subarray(0, 68 + 3 * 8))).toBe('vector length 92 does not match 4 features');
    const unknownStatus = encodeVector(record);
    unknownStatus.writeUInt8(3, STATUS_OFFSET);
    expect(refusal(unknownStatus)).toBe('unknown status 3');
    expect(() => encodeVector({ ...record, schemaHash: 'not hex' })).toThrow(RangeError);
  });
});
