/** CI runs the README's test command: the extraction in .ci/run yields `pnpm test`, which writes the report CI counts. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

describe('.ci/run', () => {
  it('extracts the README test command, and that command is pnpm test', () => {
    const script = readFileSync(`${root}.ci/run`, 'utf8');
    const line = script.split('\n').find((l) => l.startsWith('TEST_CMD='));
    expect(line).toBeDefined();
    // run the very extraction line of .ci/run against the README
    const cmd = execFileSync('bash', ['-c', `cd "${root}" && ${line} && printf %s "$TEST_CMD"`], { encoding: 'utf8' });
    expect(cmd).toBe('pnpm install --frozen-lockfile && pnpm test');
    expect(script).toContain('bash -c "$TEST_CMD"');
    const test = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).scripts.test as string;
    expect(test).toMatch(/^pnpm lint && pnpm typecheck && vitest run /); // lint (Biome) and the typecheck gate the suite
    expect(test).toContain('--outputFile.json=.reports/vitest.json'); // the report .ci/run counts
  });
});
