import { defineConfig } from 'vitest/config';
import { COVERAGE_THRESHOLDS } from './coverage/thresholds.ts';

const ALL = ['apps/*/test/**/*.test.ts', 'libs/*/test/**/*.test.ts', 'deploy/*/test/**/*.test.ts', 'test/**/*.test.ts'];
const E2E = ['apps/*/test/**/*.e2e.test.ts', 'test/**/*.e2e.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // `pnpm test` runs with --coverage: a report in .reports/coverage and per-package floors CI enforces
    // (coverage/thresholds.ts: what was measured, rounded down; raise them, never lower them to pass)
    coverage: {
      provider: 'v8',
      include: ['apps/*/src/**/*.ts', 'libs/*/src/**/*.ts'],
      // generated codecs are checked byte for byte against the generator (libs/sbe/test/generator.test.ts)
      exclude: ['libs/sbe/src/generated/**', '**/*.d.ts'],
      reporter: ['text-summary', 'json-summary', 'html'],
      reportsDirectory: '.reports/coverage',
      reportOnFailure: true,
      thresholds: COVERAGE_THRESHOLDS,
    },
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: E2E, sequence: { groupOrder: 0 } } },
      // whole-stack tests run after the rest, one file at a time: on 2 cores, a parallel neighbour would be
      // measured as the stack's own latency (and page latency alerts that are not the stack's fault)
      { extends: true, test: { name: 'e2e', include: E2E, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
