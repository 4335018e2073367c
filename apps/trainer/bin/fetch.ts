/**
 * pnpm train:fetch -- --symbol BTCUSDT --kind trades --from 2024-08-01 --to 2024-08-03 [--out data/archive]
 * Then: pnpm train -- --source archive --files data/archive/BTCUSDT-trades-2024-08-01.csv.gz,...
 */
import { z } from 'zod';
import { configOrExit, loadConfig, parseCli, type CliSpec } from '@hotpath/config';
import type { Progress as ProgressBar } from '../src/progress.ts';

const DEFAULTS = { symbol: 'BTCUSDT', kind: 'trades', out: 'data/archive' };
const CLI = {
  name: 'pnpm train:fetch',
  usage: `--from <YYYY-MM-DD> --to <YYYY-MM-DD> [options]

Downloads Binance's public daily trade archives (data.binance.vision) for a symbol and a range of days,
checks each against its published checksum, and keeps them under --out for \`pnpm train --source archive\`.
Progress on stderr; the last line on stdout is one JSON object listing the files. Reads no environment
variables.`,
  options: {
    symbol: { type: 'string', value: '<SYMBOL>', description: 'the symbol (default BTCUSDT)' },
    kind: { type: 'string', value: '<trades|aggTrades>', description: 'which archive (default trades)' },
    from: { type: 'string', value: '<YYYY-MM-DD>', description: 'the first day (required)' },
    to: { type: 'string', value: '<YYYY-MM-DD>', description: 'the last day (required)' },
    out: { type: 'string', value: '<dir>', description: 'where the files go (default data/archive)' },
    'base-url': { type: 'string', value: '<URL>', description: 'another archive server (a mirror, a test server)' },
  },
  examples: ['pnpm train:fetch -- --symbol BTCUSDT --kind trades --from 2024-08-01 --to 2024-08-03', 'pnpm train -- --source archive --files data/archive/BTCUSDT-trades-2024-08-01.csv.gz,…'],
} as const satisfies CliSpec;
const { values } = parseCli(CLI);
// (loaded after the arguments: --help answers without loading the fetcher)
const { fetchArchive, FetchError } = await import('../src/fetch.ts');
const { Progress } = await import('../src/progress.ts');
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
const a = configOrExit(() => loadConfig({ name: 'pnpm train:fetch', schema: Args, flags: Object.fromEntries(Object.keys(CLI.options).map((f) => [f, f])) }, { flags: values, defaults: DEFAULTS }));
const bars = new Map<string, ProgressBar>();
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
