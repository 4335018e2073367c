/**
 * pnpm train -- --source sim --seed 7 --minutes 120 [--out models/btcusdt-10s]
 * pnpm train -- --source recording|capture|archive --files a.gz,b.gz
 * Real-data evaluation: the hftbacktest recordings in ../shared when present,
 * else the committed fixture (--real none to skip). Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { spotBtcusdtRecordings } from '@hotpath/recordings';
import { z } from 'zod';
import { runPipeline } from '../src/pipeline.ts';
import { archiveSource, captureSource, recordingSource, simSource } from '../src/sources.ts';
import { configOrExit, loadConfig } from '@hotpath/config';

// (`pnpm train -- --x` passes the `--` through)
const argv = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'));
const options = {
  source: { type: 'string', default: 'sim' },
  seed: { type: 'string', default: '7' },
  minutes: { type: 'string', default: '120' },
  files: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string', default: 'btcusdt-10s' },
  version: { type: 'string' },
  real: { type: 'string', default: 'auto' },
} as const;
const { values } = parseArgs({ args: argv, options, allowPositionals: false });
const Args = z.object({
  source: z.enum(['sim', 'recording', 'capture', 'archive']),
  seed: z.coerce.number().int(),
  minutes: z.coerce
    .number()
    .positive()
    .max(24 * 60),
  files: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').filter(Boolean) : [])),
  out: z.string().default(fileURLToPath(new URL('../../../models/btcusdt-10s', import.meta.url))),
  name: z.string().regex(/^[a-z0-9-]+$/),
  version: z.string().optional(),
  real: z.enum(['auto', 'none']),
});
// a wrong flag: named (--seed) on stderr, exit code 2
const a = configOrExit(() => loadConfig({ name: 'pnpm train', schema: Args, flags: Object.fromEntries(Object.keys(options).map((f) => [f, f])) }, { flags: values }));
if (a.source !== 'sim' && a.files.length === 0) {
  console.error(`--source ${a.source} needs --files`);
  process.exit(2);
}
const source = a.source === 'sim' ? simSource(a.seed, a.minutes) : a.source === 'recording' ? recordingSource(a.files) : a.source === 'capture' ? captureSource(a.files) : archiveSource(a.files);
const real = a.real === 'none' ? { files: [], source: 'fixture' as const } : spotBtcusdtRecordings();
const command = `pnpm train -- ${argv.join(' ')}`.trim();
const summary = await runPipeline({
  source,
  seed: a.seed,
  out: a.out,
  name: a.name,
  version: a.version ?? (a.source === 'sim' ? `sim-s${a.seed}-${a.minutes}m` : `${a.source}-s${a.seed}`),
  realFiles: real.files,
  realSource: real.source === 'shared' ? 'real Binance spot BTCUSDT recordings (../shared/data/real/hftbacktest, MIT)' : 'the committed 2-minute real-data fixture (fixtures/binance/hftbacktest, MIT)',
  command,
});
console.error(`model and report written to ${a.out}`);
console.log(JSON.stringify(summary));
