/**
 * KPL aggregation, checked against an independent protobuf implementation
 * (protobufjs with the published aggregation .proto) in both directions.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { KPL_MAGIC, AggregatedRecordBuilder, KplFormatError, MAX_RECORD_BYTES, deaggregate, type UserRecord } from '../src/index.ts';

const root = protobuf.parse(
  `
syntax = "proto2";
message AggregatedRecord {
  repeated string partition_key_table = 1;
  repeated string explicit_hash_key_table = 2;
  repeated Record records = 3;
}
message Tag { required string key = 1; optional string value = 2; }
message Record {
  required uint64 partition_key_index = 1;
  optional uint64 explicit_hash_key_index = 2;
  required bytes data = 3;
  repeated Tag tags = 4;
}`,
  { keepCase: true },
).root;
const Aggregated = root.lookupType('AggregatedRecord');

const record = fc.record(
  {
    partitionKey: fc.constantFrom('BTCUSDT', 'ETHUSDT', 'DOGEUSDT', 'ключ'),
    explicitHashKey: fc.constantFrom('0', '170141183460469231731687303715884105728'),
    data: fc.uint8Array({ maxLength: 300 }),
  },
  { requiredKeys: ['partitionKey', 'data'] },
);

describe('KPL aggregation', () => {
  it('what we build, protobufjs reads; the predicted size is exact', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 60 }), (records) => {
        const agg = new AggregatedRecordBuilder();
        for (const r of records) agg.add(r as UserRecord);
        const predicted = agg.size;
        const bytes = agg.build();
        expect(bytes.length).toBe(predicted);
        expect(bytes.subarray(0, 4)).toEqual(KPL_MAGIC);
        const body = bytes.subarray(4, bytes.length - 16);
        expect(createHash('md5').update(body).digest()).toEqual(bytes.subarray(bytes.length - 16));
        const msg = Aggregated.toObject(Aggregated.decode(body), { longs: Number, bytes: Buffer, defaults: false }) as {
          partition_key_table: string[];
          explicit_hash_key_table?: string[];
          records: { partition_key_index: number; explicit_hash_key_index?: number; data: Buffer }[];
        };
        const decoded = msg.records.map((r) => ({
          partitionKey: msg.partition_key_table[r.partition_key_index],
          ...(r.explicit_hash_key_index !== undefined ? { explicitHashKey: msg.explicit_hash_key_table![r.explicit_hash_key_index] } : {}),
          data: new Uint8Array(r.data),
        }));
        expect(decoded).toEqual(records.map((r) => ({ ...r, data: new Uint8Array(r.data) })));
      }),
      { numRuns: 200 },
    );
  });

  it('what protobufjs builds, we deaggregate', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 40 }), (records) => {
        const keys = [...new Set(records.map((r) => r.partitionKey))];
        const body = Buffer.from(
          Aggregated.encode(
            Aggregated.fromObject({
              partition_key_table: keys,
              records: records.map((r) => ({ partition_key_index: keys.indexOf(r.partitionKey), data: r.data })),
            }),
          ).finish(),
        );
        const bytes = Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
        const out = deaggregate(bytes);
        expect(out.aggregated).toBe(true);
        expect(out.records.map((r) => [r.partitionKey, Buffer.from(r.data).toString('hex')])).toEqual(records.map((r) => [r.partitionKey, Buffer.from(r.data).toString('hex')]));
      }),
      { numRuns: 200 },
    );
  });

  it('plain records and digest mismatches pass through untouched, like the KCL; corrupt protobuf is an error', () => {
    const plain = Buffer.from('not aggregated');
    expect(deaggregate(plain, 'BTCUSDT')).toEqual({ aggregated: false, records: [{ partitionKey: 'BTCUSDT', data: plain }] });
    const agg = new AggregatedRecordBuilder();
    agg.add({ partitionKey: 'BTCUSDT', data: Buffer.from([1, 2, 3]) });
    const bytes = agg.build();
    const tampered = Buffer.from(bytes);
    tampered[bytes.length - 1]! ^= 0xff;
    expect(deaggregate(tampered).aggregated).toBe(false);
    const body = Buffer.from([0x1a, 0x05, 0x08, 0x07, 0x1a, 0x01, 0x00]); // record with partition key index 7, no table
    const bad = Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
    expect(() => deaggregate(bad)).toThrow(KplFormatError);
    expect(() => deaggregate(bad)).toThrow(expect.objectContaining({ code: 'malformed_kpl' }));
    const trunc = Buffer.from([0x1a, 0x7f, 0x08]);
    expect(() => deaggregate(Buffer.concat([KPL_MAGIC, trunc, createHash('md5').update(trunc).digest()]))).toThrow(KplFormatError);
  });

  it('wouldFit keeps an aggregate within the 1 MiB Kinesis record limit', () => {
    const agg = new AggregatedRecordBuilder();
    const r = { partitionKey: 'BTCUSDT', data: Buffer.alloc(700, 7) };
    let n = 0;
    while (agg.wouldFit(r)) {
      agg.add(r);
      n++;
    }
    const bytes = agg.build();
    expect(bytes.length + 'BTCUSDT'.length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    expect(bytes.length + 'BTCUSDT'.length + 700 + 8).toBeGreaterThan(MAX_RECORD_BYTES); // one more (700 B + 8 B framing) would not fit
    expect(deaggregate(bytes).records).toHaveLength(n);
    expect(agg.count).toBe(0); // build() resets
  });
});
