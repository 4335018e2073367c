/**
 * Continuous training (`pnpm train:watch`): every `everyHours`, the last
 * `spanHours` of the ingestor's capture files → the live feature code →
 * walk-forward selection → evaluation on the most recent held-out slice
 * (train.ts: the last quarter, after a horizon-sized gap) → a candidate in
 * the model registry (libs/model ModelRegistry) with its lineage: data span,
 * samples, code version, parent (the champion when it was trained).
 * Inference picks the newest candidate up as its challenger (shadow).
 *
 * Refused, each with a message, counted by code in the registry's
 * `watch-status.json`, the log and `trainer_watch_refusals_total{code}`
 * (watch-job.ts): no capture in the span, a corrupt or
 * truncated capture, a gap in the captured stream longer than `maxGapS`,
 * too few samples, a candidate whose feature schema is not the live one.
 * A refused cycle writes nothing to the registry.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { type ModelRegistry, OnnxModel, type RegistryEntry } from '@hotpath/model';
import { captureEnvelope, CaptureFormatError, readCapture, type CapturedFrame } from '@hotpath/recordings';
import { FEATURE_NAMES } from '@hotpath/features';
import { buildDataset, type Dataset } from './dataset.ts';
import { exportModel } from './export.ts';
import { train } from './train.ts';

export const WATCH_ERROR_CODES = ['no_captures', 'capture_corrupt', 'capture_gap', 'too_few_samples', 'candidate_schema_mismatch'] as const;
export type WatchRefusal = (typeof WATCH_ERROR_CODES)[number];

/** A cycle refused: nothing is written to the registry. */
export class WatchError extends Error {
  override readonly name = 'WatchError';
  constructor(
    readonly code: WatchRefusal,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface CaptureSpan {
  frames: CapturedFrame[];
  files: string[];
  fromUs: number;
  toUs: number;
}

/** Capture files of the ingestor (`ingest-<time>.capture[.gz]`), those written to within [fromMs, toMs]; a file written in the last `settleMs` is still open and left for the next cycle. */
export function captureFiles(dir: string, fromMs: number, toMs: number, settleMs = 30_000): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /\.capture(\.gz)?$/.test(n))
    .sort()
    .map((n) => join(dir, n))
    .filter((f) => {
      const m = statSync(f).mtimeMs;
      return m >= fromMs && m <= toMs && m <= toMs - settleMs;
    });
}

/** Reads the files and keeps the frames received in [fromUs, toUs]; refuses a corrupt file or a gap over `maxGapUs` (all gaps counted in the message). */
export function readCaptureSpan(files: string[], fromUs: number, toUs: number, maxGapUs: number): CaptureSpan {
  if (files.length === 0) throw new WatchError('no_captures', 'no capture file in the training span: is capture on (INGESTOR_CAPTURE_DIR) and is the ingestor running?');
  const frames: CapturedFrame[] = [];
  for (const f of files) {
    try {
      for (const c of readCapture(f)) if (c.receiveTimeUs >= fromUs && c.receiveTimeUs <= toUs) frames.push(c);
    } catch (err) {
      if (err instanceof CaptureFormatError) throw new WatchError('capture_corrupt', `corrupt or truncated capture: ${err.message}`, { cause: err });
      throw err;
    }
  }
  const gaps: { atUs: number; seconds: number }[] = [];
  for (let i = 1; i < frames.length; i++) {
    const d = frames[i]!.receiveTimeUs - frames[i - 1]!.receiveTimeUs;
    if (d > maxGapUs) gaps.push({ atUs: frames[i - 1]!.receiveTimeUs, seconds: d / 1e6 });
  }
  if (gaps.length > 0) {
    const first = gaps[0]!;
    throw new WatchError(
      'capture_gap',
      `the captured stream has ${gaps.length} gap${gaps.length === 1 ? '' : 's'} over ${maxGapUs / 1e6} s (the first: ${first.seconds.toFixed(1)} s after ${new Date(first.atUs / 1000).toISOString()}): features across a gap are not what live saw`,
    );
  }
  return { frames, files, fromUs: frames[0]?.receiveTimeUs ?? fromUs, toUs: frames.at(-1)?.receiveTimeUs ?? toUs };
}

export function captureDataset(span: CaptureSpan, symbol: string): Dataset {
  function* envelopes(): Generator<Buffer> {
    for (const c of span.frames) if (c.symbol === symbol) yield captureEnvelope(c);
  }
  return buildDataset(envelopes(), { symbol, source: `ingestor captures (${span.files.length} file${span.files.length === 1 ? '' : 's'})` });
}

/** The commit the code runs from: $GIT_COMMIT (images), else git, else the package version. */
export function codeVersion(): string {
  if (process.env.GIT_COMMIT) return process.env.GIT_COMMIT.slice(0, 40);
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: new URL('.', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 })
      .toString()
      .trim();
  } catch {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return `trainer@${pkg.version}`;
  }
}

export interface CandidateOptions {
  registry: ModelRegistry;
  name: string;
  seed: number;
  minSamples: number;
  /** Recorded as lineage.dataSource. */
  dataSource: string;
  now?: Date;
  testFraction?: number;
}

/** Trains on `d`, exports, checks the file, writes a candidate (and a `candidate_added` decision). Refuses too few samples and a schema other than the live one. */
export async function trainCandidate(d: Dataset, o: CandidateOptions): Promise<RegistryEntry> {
  const labelled = d.y.filter(Number.isFinite).length;
  if (labelled < o.minSamples) throw new WatchError('too_few_samples', `${labelled} labelled samples in the span, at least ${o.minSamples} needed (WATCH_MIN_SAMPLES)`);
  let trained: ReturnType<typeof train>;
  try {
    trained = train(d, { seed: o.seed, testFraction: o.testFraction ?? 0.25 });
  } catch (err) {
    if (err instanceof RangeError) throw new WatchError('too_few_samples', err.message, { cause: err });
    throw err;
  }
  const iso = (us: number) => new Date(us / 1000).toISOString();
  const t = trained.test;
  const evaluation = {
    test_samples: trained.testSamples,
    test_dir_acc: t.model.directionalAccuracy.value ?? Number.NaN,
    test_mae_bps: t.model.maeBps ?? Number.NaN,
    momentum_dir_acc: t.momentum.directionalAccuracy.value ?? Number.NaN,
  };
  const version = `w${(o.now ?? new Date()).toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
  const out = mkdtempSync(join(tmpdir(), 'watch-'));
  try {
    const exported = await exportModel(
      out,
      {
        name: o.name,
        version,
        horizonS: d.horizonUs / 1e6,
        trainedFrom: iso(d.times[0]!),
        trainedTo: iso(d.times[trained.testIndex[0]! - 1]!),
        dataSource: o.dataSource,
        evaluation: { ...evaluation },
        standardizer: trained.standardizer,
        returnHead: trained.returnHead,
        upHead: trained.upHead,
        platt: trained.platt,
      },
      trained.testIndex.slice(0, 50).map((i) => d.X[i]!),
    );
    // the file as inference will load it: its metadata must name the live feature set
    const check = await OnnxModel.fromBytes(exported.bytes, { featureSchemaHash: FEATURE_SCHEMA_HASH, featureNames: FEATURE_NAMES, warmupRuns: 0 }).catch((err: unknown) => {
      throw new WatchError('candidate_schema_mismatch', `the candidate does not load against the live feature set: ${(err as Error).message}`, { cause: err });
    });
    await check.release();
    const parent = await o.registry.champion();
    const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)} %`);
    const report = [
      `# Candidate ${o.name}@${version}`,
      '',
      `Trained on ${d.source}, ${iso(d.times[0]!)} → ${iso(d.times.at(-1)!)} (${d.times.length} samples, chosen ${trained.chosen}).`,
      `Held out: the most recent ${trained.testSamples} samples.`,
      '',
      '| predictor | directional accuracy | MAE bps |',
      '|---|---|---|',
      `| model | ${pct(t.model.directionalAccuracy.value)} [${pct(t.model.directionalAccuracy.lo)}, ${pct(t.model.directionalAccuracy.hi)}] | ${t.model.maeBps?.toFixed(2) ?? 'n/a'} |`,
      `| momentum | ${pct(t.momentum.directionalAccuracy.value)} | ${t.momentum.maeBps?.toFixed(2) ?? 'n/a'} |`,
      `| no change | – | ${t.noChange.maeBps?.toFixed(2) ?? 'n/a'} |`,
      '',
      `Parent (champion when trained): ${parent ?? 'none'}. Export parity: max |Δreturn| ${exported.parity.maxAbsReturnBps.toExponential(1)} bps.`,
      '',
    ].join('\n');
    const entry = await o.registry.add({
      name: o.name,
      version,
      featureSchemaHash: FEATURE_SCHEMA_HASH,
      model: exported.bytes,
      report,
      evaluation,
      lineage: { dataFrom: iso(d.times[0]!), dataTo: iso(d.times.at(-1)!), samples: d.times.length, dataSource: o.dataSource, codeVersion: codeVersion(), parent },
      ...(o.now ? { createdAt: o.now } : {}),
    });
    await o.registry.recordDecision({
      decision: 'candidate_added',
      champion: parent,
      challenger: entry.id,
      reason: `trained on ${d.times.length} samples; held-out accuracy ${pct(t.model.directionalAccuracy.value)}`,
      figures: evaluation,
    });
    return entry;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export interface WatchStatus {
  cycles: number;
  candidates: number;
  /** By WatchRefusal (or RegistryError) code, and `failed` for anything unexpected. */
  refused: Partial<Record<string, number>>;
  lastCycleAt: string | null;
  lastOutcome: string | null;
}

/** `watch-status.json` in the registry: the job's counters (what a scrape of a batch job would give), written atomically. */
export async function writeStatus(root: string, s: WatchStatus): Promise<void> {
  await mkdir(root, { recursive: true });
  const tmp = join(root, `.watch-status.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(s, null, 2)}\n`);
  await rename(tmp, join(root, 'watch-status.json'));
}
