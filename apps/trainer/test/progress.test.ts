/**
 * The progress bar: redrawn in place on a terminal, a line per 10 % in CI
 * logs (stderr is captured here, so each mode is chosen explicitly).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress } from '../src/progress.ts';

function capture(tty: boolean): { lines: string[]; bar: (label: string) => Progress } {
  const lines: string[] = [];
  const was = process.stderr.isTTY;
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return {
    lines,
    bar: (label) => {
      process.stderr.isTTY = tty;
      try {
        return new Progress(label);
      } finally {
        process.stderr.isTTY = was;
      }
    },
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('progress', () => {
  it('on a terminal: one line redrawn with a 30-cell bar, clamped to [0, 1], a newline when done', () => {
    const { lines, bar } = capture(true);
    const p = bar('fit');
    p.update(0.5, 'half');
    p.update(2);
    p.done('ok');
    expect(lines[0]).toBe(`\rfit [${'#'.repeat(15)}${'.'.repeat(15)}]  50 % half   `);
    expect(lines[1]).toBe(`\rfit [${'#'.repeat(30)}] 100 %    `);
    expect(lines.slice(2)).toEqual([`\rfit [${'#'.repeat(30)}] 100 % ok   `, '\n']);
  });

  it('in a log: a line only when a new 10 % is reached, negative fractions as 0 %', () => {
    const { lines, bar } = capture(false);
    const p = bar('load');
    p.update(-1);
    p.update(0.05);
    p.update(0.12, 'a');
    p.update(0.19, 'b');
    p.update(0.35, 'c');
    p.done('done');
    expect(lines).toEqual(['load 0 % \n', 'load 10 % a\n', 'load 30 % c\n', 'load 100 % done\n']);
  });
});
