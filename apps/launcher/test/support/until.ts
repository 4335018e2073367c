import { vi } from 'vitest';

/** Polls `probe` until it answers (a generous deadline, not a measurement); a probe that throws has not answered yet. */
export async function until<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>, interval = 100): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await Promise.resolve()
        .then(probe)
        .catch(() => undefined);
      if (v === undefined) throw new Error(`timed out: ${what}`);
      return v;
    },
    { timeout: ms, interval },
  );
}
