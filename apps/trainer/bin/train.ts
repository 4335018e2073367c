/**
 * pnpm train -- --source sim --seed 7 --minutes 120 [--out models/btcusdt-10s]
 * pnpm train -- --source recording|capture|archive --files a.gz,b.gz
 * pnpm train -- --source sim --sim-profile binance   (the simulator calibrated to the real recordings)
 * pnpm train -- --source real [--sim-model models/btcusdt-10s/model.onnx]   → models/btcusdt-10s-real
 * Real-data evaluation: every real window in ../shared when present (held out
 * group by group, beside a model trained on real data and the baselines), else
 * the committed fixture (--real none to skip). Last line: one JSON object.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configOrExit, loadConfig, parseCli, refuseCli, type CliSpec } from '@hotpath/config';
import type { MarketProfileName } from '@hotpath/market';

// (`pnpm train -- --x` passes the `--` through)
const argv = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'));
const DEFAULTS = { source: 'sim', seed: '7', minutes: '120', name: 'btcusdt-10s', real: 'auto', 'sim-minutes': '60', 'sim-profile': 'default' };
const CLI = {
  name: 'pnpm train',
  usage: `[options]

Trains the 10 s BTCUSDT model and writes it with its report (model.onnx, model.json, report.md) to --out.
The data: a seeded simulator run (--source sim), recordings, captures or Binance archives (--files), or
the real recordings (--source real, into models/btcusdt-10s-real). Evaluated on every real window in
../shared when present, else on the committed fixture (--real none skips it). Progress on stderr; the last
line on stdout is one JSON object. Reads no environment variables.`,
  options: {
    source: { type: 'string', value: '<source>', description: 'the training data: sim, recording, capture, archive or real (default sim)' },
    seed: { type: 'string', value: '<n>', description: 'the seed of the simulator and the split (default 7)' },
    minutes: { type: 'string', value: '<n>', description: 'simulated minutes with --source sim (default 120, at most 1440)' },
    files: { type: 'string', value: '<a.gz,b.gz>', description: 'the files, comma-separated (recording, capture, archive)' },
    out: { type: 'string', value: '<dir>', description: 'where the model goes (default models/btcusdt-10s, or models/btcusdt-10s-real)' },
    name: { type: 'string', value: '<name>', description: "the model's name (default btcusdt-10s)" },
    version: { type: 'string', value: '<v>', description: "the model's version (default from the source and seed)" },
    real: { type: 'string', value: '<auto|none>', description: 'evaluate on real data, or not (default auto)' },
    'sim-model': { type: 'string', value: '<path>', description: 'with --source real: the simulator-trained model to compare (default models/btcusdt-10s/model.onnx)' },
    'sim-minutes': { type: 'string', value: '<n>', description: 'with --source real: simulated minutes for the comparison (default 60)' },
    'sim-profile': { type: 'string', value: '<profile>', description: 'the simulator profile: default or binance (calibrated to the real recordings)' },
  },
  examples: ['pnpm train -- --source sim --seed 7 --minutes 120', 'pnpm train -- --source archive --files data/archive/BTCUSDT-trades-2024-08-01.csv.gz', 'pnpm train -- --source real'],
} as const satisfies CliSpec;
const { values } = parseCli(CLI, { argv });
// (loaded after the arguments: --help answers without loading the trainer)
const { MARKET_PROFILE_NAMES } = await import('@hotpath/market');
const { presentRealWindows, spotBtcusdtRecordings } = await import('@hotpath/recordings');
const { runPipeline } = await import('../src/pipeline.ts');
const { runRealPipeline } = await import('../src/pipeline-real.ts');
const { archiveSource, captureSource, recordingSource, simSource } = await import('../src/sources.ts');
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
const a = configOrExit(() => loadConfig({ name: 'pnpm train', schema: Args, flags: Object.fromEntries(Object.keys(CLI.options).map((f) => [f, f])) }, { flags: values, defaults: DEFAULTS }));
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
if (a.source !== 'sim' && a.files.length === 0) refuseCli(CLI, `--source ${a.source} needs --files`);
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
