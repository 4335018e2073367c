/** Setting shapes several apps share, so each is validated (and its refusal worded) one way. */
import { z } from 'zod';

/** "a,b , c" → ['A', 'B', 'C']: a comma-separated list, trimmed, upper-cased, empty entries dropped. */
export const csvList = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim().toUpperCase())
    .filter((x) => x !== ''),
);

/**
 * Exchange symbols (BTCUSDT,ETHUSDT), from an environment variable's comma-separated text or an
 * array given in code: at least one, each 2–20 letters or digits. Default: BTCUSDT.
 */
export const symbolList = z
  .union([csvList, z.array(z.string())])
  .pipe(z.array(z.string().regex(/^[A-Z0-9]{2,20}$/, 'a symbol is 2–20 letters or digits, e.g. BTCUSDT')).min(1))
  .default(['BTCUSDT']);
