/** Checkpoint order: the allocation-free comparison agrees with BigInt arithmetic on Kinesis-shaped sequence numbers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCheckpoints } from '../src/index.ts';

const sequence = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 56n - 1n }), fc.bigInt({ min: 49_000_000_000_000_000_000n, max: 49_000_000_000_000_000_100n }));
const reference = (a: [bigint, number], b: [bigint, number]): number => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : Math.sign(a[1] - b[1]));

describe('compareCheckpoints', () => {
  it('orders by sequence number, then sub-sequence, like BigInt does', () => {
    fc.assert(
      fc.property(fc.tuple(sequence, fc.nat(100_000)), fc.tuple(sequence, fc.nat(100_000)), (a, b) => {
        expect(compareCheckpoints(`${a[0]}:${a[1]}`, `${b[0]}:${b[1]}`)).toBe(reference(a, b));
      }),
      { numRuns: 5000 },
    );
  });

  it('handles different lengths, equal sequences and a missing sub-sequence', () => {
    expect(compareCheckpoints('99:5', '100:0')).toBe(-1);
    expect(compareCheckpoints('4960:10', '4960:9')).toBe(1);
    expect(compareCheckpoints('4960:3', '4960:3')).toBe(0);
    expect(compareCheckpoints('4960', '4960:0')).toBe(0);
  });
});
