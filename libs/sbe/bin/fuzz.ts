/**
 * pnpm fuzz:sbe [frames=1000000] [seed=1]
 * Feeds random and mutated frames to every generated decoder, reading every
 * field through a bounds-checking proxy. Last line: one JSON object.
 */
import { runFuzz } from '../test/support/fuzz-harness.ts';

const frames = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
const started = process.hrtime.bigint();
const report = runFuzz(frames, seed);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ bench: 'sbe-fuzz', ...report, seconds: Number(seconds.toFixed(2)) }));
process.exit(report.crashes === 0 && report.outOfBoundsReads === 0 && report.readsAfterFailure === 0 && report.windowLeaks === 0 ? 0 : 1);
