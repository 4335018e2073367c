/**
 * Coverage floors per package, enforced by `pnpm test` (vitest --coverage): a
 * change that drops a package below its floor fails CI. Each floor is what was
 * measured when it was set, rounded down to a whole percent, less one point
 * (paths taken only on a busy machine — a retry, a backoff, a timeout — come
 * and go by about that much from run to run); raise a floor
 * when the package's tests grow, never lower one to make CI pass.
 * `scripts/coverage-floors.ts` prints the measured figures in this shape
 * (set 2026-11-30 from a full `pnpm test`, 67 files, 418 tests).
 */
export const COVERAGE_THRESHOLDS: Record<string, { lines: number; branches: number; functions: number; statements: number }> = {
  'apps/aggregator/src/**': { lines: 94, branches: 84, functions: 90, statements: 91 },
  'apps/exchange-sim/src/**': { lines: 94, branches: 86, functions: 93, statements: 92 },
  'apps/inference/src/**': { lines: 96, branches: 88, functions: 92, statements: 93 },
  'apps/ingestor/src/**': { lines: 95, branches: 87, functions: 94, statements: 93 },
  'apps/launcher/src/**': { lines: 44, branches: 32, functions: 34, statements: 41 },
  'apps/trainer/src/**': { lines: 97, branches: 78, functions: 99, statements: 96 },
  // (libs/anomaly: new with issue 22, 100 % of each in its own tests; set 2026-11-30)
  'libs/anomaly/src/**': { lines: 99, branches: 99, functions: 99, statements: 99 },
  // libs/config was rewritten (one loader, issue 17): 83 of 84 lines run; the one left is a read error after a successful open (EIO), which no file here produces
  'libs/config/src/**': { lines: 98, branches: 84, functions: 99, statements: 97 },
  'libs/features/src/**': { lines: 96, branches: 89, functions: 91, statements: 95 },
  'libs/kinesis/src/**': { lines: 89, branches: 73, functions: 88, statements: 86 },
  // (libs/market: the market model moved out of exchange-sim; set 2026-11-30 from a full run, 73 files, 474 tests)
  'libs/market/src/**': { lines: 96, branches: 86, functions: 93, statements: 93 },
  'libs/model/src/**': { lines: 95, branches: 87, functions: 99, statements: 94 },
  'libs/processor/src/**': { lines: 98, branches: 96, functions: 99, statements: 98 },
  // (recordings: measured in a clean clone WITHOUT ../shared — the shared-data locators (fixtures.ts) run only where the
  // full recordings are present; 97.6/87.7/90.0/95.8 there, 98.4/88.9/99+/97+ with them)
  'libs/recordings/src/**': { lines: 96, branches: 86, functions: 89, statements: 94 },
  'libs/sbe/src/**': { lines: 88, branches: 73, functions: 83, statements: 86 },
  'libs/service/src/**': { lines: 67, branches: 50, functions: 79, statements: 65 },
  'libs/state/src/**': { lines: 99, branches: 85, functions: 99, statements: 96 },
  'libs/telemetry/src/**': { lines: 99, branches: 92, functions: 99, statements: 94 },
};
