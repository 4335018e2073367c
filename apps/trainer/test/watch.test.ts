import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { ModelRegistry } from '@hotpath/model';
import { hotpath } from '@hotpath/sbe';
import { simSource } from '../src/sources.ts';
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
