/** The launcher takes Ctrl-C as a key only in the terminal's foreground (a background process changing its mode is stopped). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { foregroundFromStat, inForeground } from '../src/terminal.ts';

describe('foregroundFromStat', () => {
  it("compares the process group with the terminal's foreground group, whatever the command's name", () => {
    expect(foregroundFromStat('123 (node) S 1 123 123 34816 123 4194304 0')).toBe(true);
    expect(foregroundFromStat('123 (my (odd) name) S 1 123 123 34816 999 4194304 0')).toBe(false);
    // no terminal: tpgid -1
    expect(foregroundFromStat('123 (node) S 1 123 123 0 -1 4194304 0')).toBe(false);
    expect(foregroundFromStat('garbage')).toBeUndefined();
  });

  it('reads /proc (this test runner has no terminal of its own there: a stat line either way), assumes the foreground without it', () => {
    expect(typeof inForeground()).toBe('boolean');
    const dir = mkdtempSync(join(tmpdir(), 'launcher-stat-'));
    writeFileSync(join(dir, 'stat'), '7 (x) S 1 7 7 34816 8 0');
    expect(inForeground(join(dir, 'stat'))).toBe(false);
    expect(inForeground(join(dir, 'missing'))).toBe(true);
  });
});
