/** The feature vector's binary format: lossless both ways, and every malformed value refused by name. */
import { describe, expect, it } from 'vitest';
import { STATUS_OFFSET, TRACE_ID_OFFSET, VECTOR_FORMAT, VERSION_OFFSET, VectorFormatError, VectorStatus, decodeVector, encodeVector, type FeatureVectorRecord } from '../src/index.ts';

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

const trace = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };

/** A vector as format 1 wrote it (the same first 68 bytes, then the features; no trace context): what a Redis may still hold across an upgrade. */
function formatOne(r: FeatureVectorRecord): Buffer {
  const v2 = encodeVector(r);
  const b = Buffer.concat([v2.subarray(0, 68), v2.subarray(96)]);
  b.writeUInt16LE(1, 4);
  return b;
}

describe('feature vector format', () => {
  it('decodes what it encodes, NaN and -0 included', () => {
    const v = decodeVector(encodeVector(record));
    expect(v).toEqual(record);
    expect(v.trace).toBeUndefined();
    expect(Object.is(v.features[3], -0)).toBe(true);
  });

  it('carries a trace context in format 2 (W3C binary at its offsets), none when all zero', () => {
    const b = encodeVector({ ...record, trace });
    expect(b.readUInt16LE(4)).toBe(VECTOR_FORMAT);
    expect(VECTOR_FORMAT).toBe(2);
    expect(b.length).toBe(96 + 4 * 8);
    expect(b.toString('hex', TRACE_ID_OFFSET, TRACE_ID_OFFSET + 16)).toBe(trace.traceId);
    expect(b.toString('hex', TRACE_ID_OFFSET + 16, TRACE_ID_OFFSET + 24)).toBe(trace.spanId);
    expect(b[TRACE_ID_OFFSET + 24]).toBe(1);
    const v = decodeVector(b);
    expect(v).toEqual({ ...record, trace });
    expect(Object.is(v.features[3], -0)).toBe(true);
    // without a context the bytes stay zero: decoded as none
    const none = encodeVector(record);
    expect(none.subarray(TRACE_ID_OFFSET, TRACE_ID_OFFSET + 25).every((x) => x === 0)).toBe(true);
    // a context with one id zero is not usable (untrusted bytes): none, the vector itself still served
    const half = encodeVector({ ...record, trace });
    half.fill(0, TRACE_ID_OFFSET + 16, TRACE_ID_OFFSET + 24);
    expect(decodeVector(half).trace).toBeUndefined();
    expect(decodeVector(half).features).toEqual(record.features);
    expect(() => encodeVector({ ...record, trace: { ...trace, traceId: 'zz'.repeat(16) } })).toThrow(RangeError);
    expect(() => encodeVector({ ...record, trace: { ...trace, spanId: 'b7ad' } })).toThrow(RangeError);
  });

  it('still decodes a format-1 vector (no trace context)', () => {
    const v = decodeVector(formatOne(record));
    expect(v).toEqual(record);
    expect(v.trace).toBeUndefined();
    expect(Object.is(v.features[3], -0)).toBe(true);
    // status and version sit where in-place updates write them in format 1 too
    const b = formatOne(record);
    b.writeUInt8(VectorStatus.Live, STATUS_OFFSET);
    b.writeDoubleLE(9, VERSION_OFFSET);
    expect(decodeVector(b)).toMatchObject({ status: VectorStatus.Live, version: 9 });
    expect(() => decodeVector(formatOne(record).subarray(0, 68 + 3 * 8))).toThrow('vector length 92 does not match 4 features');
  });

  it('keeps status and version where in-place updates write them', () => {
    const b = encodeVector({ ...record, trace });
    b.writeUInt8(VectorStatus.Live, STATUS_OFFSET);
    b.writeDoubleLE(8, VERSION_OFFSET);
    expect(decodeVector(b)).toMatchObject({ status: VectorStatus.Live, version: 8, trace });
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
    otherFormat.writeUInt16LE(3, 4);
    expect(refusal(otherFormat)).toBe('vector format 3 unsupported');
    expect(refusal(encodeVector(record).subarray(0, 96 + 3 * 8))).toBe('vector length 120 does not match 4 features');
    // a format-2 vector relabelled format 1 (or the reverse) is a length mismatch, never features read from the trace bytes
    const relabelled = encodeVector(record);
    relabelled.writeUInt16LE(1, 4);
    expect(refusal(relabelled)).toBe('vector length 128 does not match 4 features');
    const unknownStatus = encodeVector(record);
    unknownStatus.writeUInt8(3, STATUS_OFFSET);
    expect(refusal(unknownStatus)).toBe('unknown status 3');
    expect(() => encodeVector({ ...record, schemaHash: 'not hex' })).toThrow(RangeError);
  });
});
