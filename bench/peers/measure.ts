/**
 * Timing helpers shared by the benches (bench:sbe, bench:peers): ns per
 * message measured hot (each chunk decoded repeatedly while in cache, as a
 * just-received frame is) or streaming (the whole list, mostly out of cache).
 */

/** Messages per hot chunk, and timed passes over each chunk after one untimed cache-warming pass. */
export const HOT_CHUNK = 256;
export const HOT_PASSES = 8;

/**
 * ns per message with each chunk of `chunk` messages processed `passes` times
 * in a row (the first, cache-warming pass untimed).
 */
export function measureHot<T>(list: readonly T[], pass: (l: readonly T[]) => void, chunk = HOT_CHUNK, passes = HOT_PASSES): number {
  let total = 0n;
  for (let i = 0; i < list.length; i += chunk) {
    const part = list.slice(i, i + chunk);
    pass(part);
    const start = process.hrtime.bigint();
    for (let k = 0; k < passes; k++) pass(part);
    total += process.hrtime.bigint() - start;
  }
  return Number(total) / (passes * list.length);
}

/** ns per message over the whole list, repeated until a sample lasts at least `minSampleMs`. */
export function measureStreaming<T>(list: readonly T[], pass: (l: readonly T[]) => void, minSampleMs: number): number {
  let loops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  do {
    pass(list);
    loops++;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < BigInt(minSampleMs * 1e6));
  return Number(elapsed) / (loops * list.length);
}

/** Upper median (the middle element for odd lengths), as every bench here reports it. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
