/**
 * pnpm train -- --source sim --seed 7 --minutes 120 [--out models/btcusdt-10s]
 * pnpm train -- --source recording|capture|archive --files a.gz,b.gz
 * pnpm train -- --source sim --sim-profile binance   (the simulator calibrated to the real recordings)
 * pnpm train -- --source real [--sim-model models/btcusdt-10s/model.onnx]   → models/btcusdt-10s-real
 * Real-data evaluation: every real window in ../shared when present (held out
 * group by group, beside a model trained on real data and the baselines), else
 * the committed fixture (--real none to skip). Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { MARKET_PROFILE_NAMES, type MarketProfileName } from '@hotpath/market';
import { presentRealWindows, spotBtcusdtRecordings } from '@hotpath/recordings';
import { z } from 'zod';
import { runPipeline } from '../src/pipeline.ts';
import { runRealPipeline } from '../src/pipeline-real.ts';
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
  'sim-model': { type: 'string' },
  'sim-minutes': { type: 'string', default: '60' },
  'sim-profile': { type: 'string', default: 'default' },
} as const;
const { values } = parseArgs({ args: argv, options, allowPositionals: false });
const Args = z.object({
  source: z.enum(['sim', 'recording', 'capture', 'archive', 'real']),
  seed: z.coerce.number().int(),
  minutes: z.coerce
    .number()
    .positive()
    .max(24 * 60),
  files: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').filter(Boolean) : [])),
  out: z.string().optional(),
  name: z.string().regex(/^[a-z0-9-]+$/),
  version: z.string().optional(),
  real: z.enum(['auto', 'none']),
  'sim-model': z.string().default(fileURLToPath(new URL('../../../models/btcusdt-10s/model.onnx', import.meta.url))),
  'sim-minutes': z.coerce
    .number()
    .positive()
    .max(24 * 60),
  'sim-profile': z.enum(MARKET_PROFILE_NAMES as [MarketProfileName, ...MarketProfileName[]]),
});
// a wrong flag: named (--seed) on stderr, exit code 2
const a = configOrExit(() => loadConfig({ name: 'pnpm train', schema: Args, flags: Object.fromEntries(Object.keys(options).map((f) => [f, f])) }, { flags: values }));
const command = `pnpm train -- ${argv.join(' ')}`.trim();
const models = (dir: string): string => fileURLToPath(new URL(`../../../models/${dir}`, import.meta.url));
if (a.source === 'real') {
  const out = a.out ?? models('btcusdt-10s-real');
  const summary = await runRealPipeline({
    seed: a.seed,
    out,
    name: a.name === 'btcusdt-10s' ? 'btcusdt-10s-real' : a.name,
    version: a.version ?? `real-s${a.seed}`,
    simModel: a['sim-model'],
    simMinutes: a['sim-minutes'],
    command,
  });
  console.error(`model and report written to ${out}`);
  console.log(JSON.stringify(summary));
  process.exit(0);
}
if (a.source !== 'sim' && a.files.length === 0) {
  console.error(`--source ${a.source} needs --files`);
  process.exit(2);
}
const source =
  a.source === 'sim'
    ? simSource(a.seed, a.minutes, 'BTCUSDT', 2_000_000, { profile: a['sim-profile'] })
    : a.source === 'recording'
      ? recordingSource(a.files)
      : a.source === 'capture'
        ? captureSource(a.files)
        : archiveSource(a.files);
// every real window when the share is beside the repository; else the committed spot fixture alone
const windows = a.real === 'auto' && presentRealWindows().length > 0;
const real = a.real === 'none' ? { files: [], source: 'fixture' as const } : spotBtcusdtRecordings();
const out = a.out ?? models('btcusdt-10s');
const summary = await runPipeline({
  source,
  seed: a.seed,
  out,
  name: a.name,
  version: a.version ?? (a.source === 'sim' ? `sim-s${a.seed}-${a.minutes}m${a['sim-profile'] === 'default' ? '' : `-${a['sim-profile']}`}` : `${a.source}-s${a.seed}`),
  real: a.real === 'none' ? 'none' : windows ? 'windows' : 'files',
  realFiles: real.files,
  realSource: real.source === 'shared' ? 'real Binance spot BTCUSDT recordings (../shared/data/real/hftbacktest, MIT)' : 'the committed 2-minute real-data fixture (fixtures/binance/hftbacktest, MIT)',
  command,
});
console.error(`model and report written to ${out}`);
console.log(JSON.stringify(summary));
