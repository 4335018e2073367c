import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { ModelRegistry } from '@hotpath/model';
import { hotpath } from '@hotpath/sbe';
import { freePort } from '@hotpath/service';
import { OtlpReceiver } from '@hotpath/tracing/testing';
import { simSource } from '../src/sources.ts';
import { WatchConfigSchema } from '../src/watch-config.ts';
import { REFUSED_RUNS_UNHEALTHY, WatchJob } from '../src/watch-job.ts';
import { captureDataset, readCaptureSpan, trainCandidate, WatchError } from '../src/watch.ts';

/** The simulator's envelopes as an ingestor capture file (u32 length + envelope), optionally without those received in [dropFrom, dropTo). */
function simCapture(dir: string, minutes: number, drop?: [number, number]): { file: string; fromUs: number; toUs: number } {
  const dec = new hotpath.EnvelopeDecoder();
  const parts: Buffer[] = [];
  let fromUs = Number.POSITIVE_INFINITY;
  let toUs = 0;
  for (const e of simSource(11, minutes).envelopes) {
    dec.wrap(e, 0, e.length);
    const t = dec.receiveTimeUs;
    if (drop && t >= drop[0] && t < drop[1]) continue;
    fromUs = Math.min(fromUs, t);
    toUs = Math.max(toUs, t);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(e.length);
    parts.push(len, e);
  }
  const file = join(dir, `ingest-${minutes}.capture`);
  writeFileSync(file, Buffer.concat(parts));
  return { file, fromUs, toUs };
}

describe('train:watch cycle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'watch-'));
  const cap = simCapture(dir, 14);

  it('captures of the span → a verified candidate in the registry with its lineage and a candidate_added decision', async () => {
    const registry = new ModelRegistry(join(dir, 'registry'));
    const span = readCaptureSpan([cap.file], cap.fromUs, cap.toUs, 30e6);
    const d = captureDataset(span, 'BTCUSDT');
    expect(d.times.length).toBeGreaterThan(350);
    const entry = await trainCandidate(d, { registry, name: 'watch-test', seed: 3, minSamples: 300, dataSource: d.source });
    const { entry: read, model } = await registry.read(entry.id, FEATURE_SCHEMA_HASH);
    expect(read.lineage).toMatchObject({ samples: d.times.length, parent: null, dataSource: 'ingestor captures (1 file)' });
    expect(read.lineage.codeVersion).toMatch(/^([0-9a-f]{40}|trainer@)/);
    expect(model.length).toBe(read.modelBytes);
    expect(read.evaluation.test_dir_acc).toBeGreaterThan(0.4);
    expect(await registry.report(entry.id)).toContain('Held out: the most recent');
    expect((await registry.decisions()).map((x) => x.decision)).toEqual(['candidate_added']);
    // the next candidate names the champion as its parent
    await registry.setChampion(entry.id);
    const second = await trainCandidate(d, { registry, name: 'watch-test', seed: 4, minSamples: 300, dataSource: d.source, now: new Date(Date.now() + 1000) });
    expect(second.lineage.parent).toBe(entry.id);
  }, 90_000);

  it('refuses a truncated capture, a gap (counted), too few samples, and writes nothing', async () => {
    const registry = new ModelRegistry(join(dir, 'refused'));
    const bytes = readFileSync(cap.file);
    const cut = join(dir, 'cut.capture');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
    expect(() => readCaptureSpan([cut], cap.fromUs, cap.toUs, 30e6)).toThrow(expect.objectContaining({ code: 'capture_corrupt', message: expect.stringContaining('cut.capture') }));
    const gapDir = mkdtempSync(join(tmpdir(), 'watch-gap-'));
    const gapped = simCapture(gapDir, 6, [cap.fromUs + 120e6, cap.fromUs + 180e6]);
    expect(() => readCaptureSpan([gapped.file], gapped.fromUs, gapped.toUs, 30e6)).toThrow(
      expect.objectContaining({ code: 'capture_gap', message: expect.stringMatching(/has 1 gap over 30 s \(the first: 60\.\d s/) }),
    );
    expect(() => readCaptureSpan([], 0, 1, 30e6)).toThrow(expect.objectContaining({ code: 'no_captures' }));
    const small = captureDataset(readCaptureSpan([gapped.file], gapped.fromUs, gapped.fromUs + 100e6, 30e6), 'BTCUSDT');
    const refusal = await trainCandidate(small, { registry, name: 'w', seed: 1, minSamples: 300, dataSource: 'x' }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(WatchError);
    expect(refusal).toMatchObject({ code: 'too_few_samples', message: expect.stringMatching(/^\d+ labelled samples in the span, at least 300 needed/) });
    expect(await registry.list()).toEqual([]);
    expect(readdirSync(dir)).not.toContain('refused');
  });
});

/** Polls `check` until it returns a value (not undefined), or fails after `ms`. */
async function waitFor<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('train:watch job: metrics and /health', () => {
  const base = mkdtempSync(join(tmpdir(), 'watch-job-'));
  const cap = simCapture(base, 14);
  // the capture as the ingestor leaves it: last written at its last frame; the job's clock a minute later (past the settle time)
  const atMs = cap.toUs / 1000 + 60_000;
  const jobIn = async (name: string, files: { from: string; as: string }[], tracingEnv: NodeJS.ProcessEnv = {}) => {
    const dir = join(base, name);
    const captureDir = join(dir, 'captures');
    mkdirSync(captureDir, { recursive: true });
    for (const f of files) {
      copyFileSync(f.from, join(captureDir, f.as));
      utimesSync(join(captureDir, f.as), cap.toUs / 1e6, cap.toUs / 1e6);
    }
    const port = await freePort();
    const config = WatchConfigSchema.parse({ captureDir, registryDir: join(dir, 'registry'), minSamples: 300, seed: 3, name: 'watch-job', port });
    return { job: new WatchJob(config, { now: () => atMs, tracingEnv }), url: `http://127.0.0.1:${port}` };
  };
  const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text();
  const value = (text: string, series: RegExp): number | undefined => {
    const m = new RegExp(`^${series.source}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };

  it('a good run writes a candidate and sets the success timestamp and the accuracy it measured (and traces its steps)', async () => {
    const receiver = await OtlpReceiver.start();
    const { job, url } = await jobIn('good', [{ from: cap.file, as: 'ingest-1.capture' }], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url });
    await job.start();
    try {
      const text = await waitFor(
        async () => {
          const t = await metrics(url);
          return /trainer_watch_runs_total\{[^}]*outcome="candidate_written"[^}]*\} 1$/m.test(t) ? t : undefined;
        },
        120_000,
        'a candidate',
      );
      expect(value(text, /trainer_watch_last_success_timestamp_seconds/)).toBe(atMs / 1000);
      const acc = value(text, /trainer_watch_candidate_directional_accuracy/)!;
      expect(acc).toBeGreaterThan(0.4);
      expect(acc).toBeLessThanOrEqual(1);
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true, consecutiveRefusals: 0, lastSuccessAgeSeconds: 0 });
      expect((await fetch(`${url}/ready`)).status).toBe(200);
      // the stop flushes the cycle's spans: one trace, its three steps under the root, the candidate named
      await job.stop();
      const root = receiver.spans.find((s) => s.name === 'training cycle');
      expect(root).toMatchObject({ service: 'train-watch', parentSpanId: '', events: [], attributes: { samples: expect.any(Number), candidate: expect.any(String) } });
      const steps = receiver.spans.filter((s) => s.parentSpanId === root!.spanId);
      expect(steps.map((s) => s.name)).toEqual(['read captures', 'dataset', 'train and register']);
      for (const s of steps) expect(s.traceId === root!.traceId && s.startNs >= root!.startNs && s.endNs <= root!.endNs).toBe(true);
    } finally {
      await job.stop();
      await receiver.stop();
    }
  }, 150_000);

  it('a corrupt capture is refused with its code on /metrics; /health turns 503 after repeated refusals', async () => {
    const bytes = readFileSync(cap.file);
    const cut = join(base, 'cut.capture');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
    const receiver = await OtlpReceiver.start();
    const { job, url } = await jobIn('corrupt', [{ from: cut, as: 'ingest-1.capture' }], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url });
    await job.start();
    try {
      const text = await waitFor(
        async () => {
          const t = await metrics(url);
          return value(t, /trainer_watch_refusals_total\{[^}]*code="capture_corrupt"[^}]*\}/) === 1 ? t : undefined;
        },
        10_000,
        'the first refusal',
      );
      expect(value(text, /trainer_watch_refusals_total\{[^}]*code="capture_gap"[^}]*\}/)).toBe(0);
      expect(/trainer_watch_runs_total\{[^}]*outcome="refused"[^}]*\} 1$/m.test(text)).toBe(true);
      expect(value(text, /trainer_watch_last_success_timestamp_seconds/)).toBe(0);
      expect(value(text, /trainer_watch_candidate_directional_accuracy/)).toBeNaN();
      // one refused span is not yet a job that does not work
      expect((await fetch(`${url}/health`)).status).toBe(200);
      for (let i = 1; i < REFUSED_RUNS_UNHEALTHY; i++) expect(await job.cycle()).toEqual({ ok: false, code: 'capture_corrupt' });
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ ok: false, consecutiveRefusals: REFUSED_RUNS_UNHEALTHY, lastSuccessAt: null, lastOutcome: expect.stringContaining('capture_corrupt') });
      expect(value(await metrics(url), /trainer_watch_refusals_total\{[^}]*code="capture_corrupt"[^}]*\}/)).toBe(REFUSED_RUNS_UNHEALTHY);
      expect(JSON.parse(readFileSync(join(base, 'corrupt', 'registry', 'watch-status.json'), 'utf8'))).toMatchObject({
        cycles: REFUSED_RUNS_UNHEALTHY,
        refused: { capture_corrupt: REFUSED_RUNS_UNHEALTHY },
      });
      // each refused cycle is a trace ending in a `refused` event, after the step that failed
      await job.stop();
      const roots = receiver.spans.filter((s) => s.name === 'training cycle');
      expect(roots.map((r) => r.events)).toEqual(Array.from({ length: REFUSED_RUNS_UNHEALTHY }, () => ['refused']));
      for (const r of roots) expect(receiver.spans.filter((s) => s.parentSpanId === r.spanId).map((s) => s.name)).toEqual(['read captures']);
    } finally {
      await job.stop();
      await receiver.stop();
    }
  });

  it('/health is 503 when no candidate was written for two periods, even without refusals', () => {
    let now = 1_000_000;
    const config = WatchConfigSchema.parse({ captureDir: join(base, 'none'), registryDir: join(base, 'none-registry'), everyHours: 1, port: 0 });
    const job = new WatchJob(config, { now: () => now });
    expect(job.http).toBeUndefined();
    expect(job.health()).toMatchObject({ ok: true, consecutiveRefusals: 0 });
    now += 2 * 3_600_000 - 1_000;
    expect(job.health().ok).toBe(true);
    now += 2_000;
    expect(job.health()).toMatchObject({ ok: false, lastSuccessAgeSeconds: 7201, consecutiveRefusals: 0 });
  });
});
