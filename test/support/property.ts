/** Helpers the property tests of every package share: damaged inputs, and "does this parse?" as a boolean. */
import fc from 'fast-check';

/** True when `parse` returns, false when it throws: for `fc.pre(!accepts(...))` — a property about what is refused. */
export function accepts(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

/** A valid value with bytes overwritten, then perhaps cut short, then perhaps spliced into. */
export function damaged(base: Uint8Array, limits: { minEdits?: number; maxEdits: number; maxSplice: number }): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: limits.minEdits ?? 0, maxLength: limits.maxEdits }),
      fc.option(fc.nat()),
      fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: limits.maxSplice }))),
    )
    .map(([edits, cut, splice]) => {
      let b = Buffer.from(base);
      for (const [at, v] of edits) b[at % b.length] = v;
      if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
      if (splice !== null) {
        const at = splice[0] % (b.length + 1);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(splice[1]), b.subarray(at)]);
      }
      return b;
    });
}
