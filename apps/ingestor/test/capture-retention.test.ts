/** Capture files rotate by age and are deleted past the retention (what `pnpm train:watch` reads: closed files of the last hours). */
import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KinesisProducer } from '@hotpath/kinesis';
import { readCapture } from '@hotpath/recordings';
import { hotpath } from '@hotpath/sbe';
import { createRegistry } from '@hotpath/telemetry';
import { Publisher } from '../src/publisher.ts';

// the capture path never touches Kinesis: a producer that accepts every record stands in for it
const accepting = { put: () => true } as unknown as KinesisProducer;

describe('capture rotation and retention', () => {
  it('a new file after rotateSeconds; files past the retention deleted at rotation (counted), newer and foreign files kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'captures-'));
    const old = join(dir, 'ingest-2020-01-01T00-00-00-000Z.capture');
    const recent = join(dir, 'ingest-2020-01-02T00-00-00-000Z.capture.gz');
    const foreign = join(dir, 'notes.txt');
    for (const f of [old, recent, foreign]) writeFileSync(f, '');
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    utimesSync(old, hoursAgo(49), hoursAgo(49));
    utimesSync(recent, hoursAgo(47), hoursAgo(47));
    utimesSync(foreign, hoursAgo(100), hoursAgo(100));
    const registry = createRegistry('ingestor');
    const p = new Publisher(accepting, registry, dir, 1 << 30, 7, { rotateSeconds: 3_600, retentionHours: 48 });
    expect(p.publish(hotpath.EnvelopeKind.StreamFrame, 'BTCUSDT', 1, 1_000, Buffer.from('frame-1'))).toBe(true);
    expect(p.publish(hotpath.EnvelopeKind.StreamFrame, 'BTCUSDT', 1, 2_000, Buffer.from('frame-2'))).toBe(true);
    await p.close();
    const names = readdirSync(dir).sort();
    expect(names).not.toContain('ingest-2020-01-01T00-00-00-000Z.capture');
    expect(names).toEqual(expect.arrayContaining(['ingest-2020-01-02T00-00-00-000Z.capture.gz', 'notes.txt']));
    const written = names.filter((n) => !n.startsWith('ingest-2020') && n.endsWith('.capture'));
    // one file for both records: an hour has not passed
    expect(written).toHaveLength(1);
    expect(readCapture(join(dir, written[0]!)).map((c) => c.payload.toString())).toEqual(['frame-1', 'frame-2']);
    expect(await registry.metrics()).toMatch(/ingestor_captures_pruned_total\{[^}]*\} 1|ingestor_captures_pruned_total 1/);
  });
});
