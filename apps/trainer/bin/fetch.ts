/**
 * pnpm train:fetch -- --symbol BTCUSDT --kind trades --from 2024-08-01 --to 2024-08-03 [--out data/archive]
 * Then: pnpm train -- --source archive --files data/archive/BTCUSDT-trades-2024-08-01.csv.gz,...
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { fetchArchive, FetchError } from '../src/fetch.ts';
import { Progress } from '../src/progress.ts';
import { configOrExit, loadConfig } from '@hotpath/config';

const argv = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'));
const options = {
  symbol: { type: 'string', default: 'BTCUSDT' },
  kind: { type: 'string', default: 'trades' },
  from: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string', default: 'data/archive' },
  'base-url': { type: 'string' },
} as const;
const { values } = parseArgs({ args: argv, options });
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date is YYYY-MM-DD');
const Args = z.object({
  symbol: z.string().regex(/^[A-Z0-9]{2,20}$/, 'a symbol is 2–20 capital letters or digits, e.g. BTCUSDT'),
  kind: z.enum(['trades', 'aggTrades']),
  from: day,
  to: day,
  out: z.string(),
  'base-url': z.string().url().optional(),
});
// a wrong flag: named (--from) on stderr, exit code 2
const a = configOrExit(() => loadConfig({ name: 'pnpm train:fetch', schema: Args, flags: Object.fromEntries(Object.keys(options).map((f) => [f, f])) }, { flags: values }));
const bars = new Map<string, Progress>();
try {
  const files = await fetchArchive({
    symbol: a.symbol,
    kind: a.kind,
    from: a.from,
    to: a.to,
    out: a.out,
    ...(a['base-url'] ? { baseUrl: a['base-url'] } : {}),
    onProgress: (file, received, total) => {
      let bar = bars.get(file);
      if (!bar) bars.set(file, (bar = new Progress(file)));
      bar.update(total ? received / total : 0, `${(received / 1e6).toFixed(1)} MB`);
    },
  });
  for (const b of bars.values()) b.done();
  console.log(JSON.stringify({ fetched: files }));
} catch (err) {
  console.error(err instanceof FetchError ? `fetch failed (${err.code}): ${err.message}` : `fetch failed: ${(err as Error).message}`);
  process.exit(1);
}
