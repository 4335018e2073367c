import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FIXTURE_SPOT_BTCUSDT, RecordingFormatError, readRecording, spotBtcusdtRecordings } from '../src/index.ts';

describe('recordings', () => {
  it('reads the committed fixture: one REST snapshot, then combined-stream events in recorder order', () => {
    const lines = readRecording(FIXTURE_SPOT_BTCUSDT);
    expect(lines).toHaveLength(15000);
    expect(lines.filter((l) => l.stream === 'snapshot')).toHaveLength(1);
    expect(lines[0]!.stream).toBe('btcusdt@depth@100ms');
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.localTime).toBeGreaterThanOrEqual(lines[i - 1]!.localTime);
    // the payload text is what Binance sent: it parses back to the same object
    expect(JSON.parse(lines[3]!.json)).toEqual(lines[3]!.data);
  });

  it('trade ids in the fixture are gap-free (the property the ingestor tests rely on)', () => {
    const ids = readRecording(FIXTURE_SPOT_BTCUSDT)
      .filter((l) => l.stream === 'btcusdt@trade')
      .map((l) => (l.data as { t: number }).t);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe(ids[i - 1]! + 1);
  });

  it('a malformed line is an error naming file and line, not a silent skip', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const path = join(dir, 'bad.gz');
    writeFileSync(path, gzipSync('1 {"stream":"x","data":{}}\n2 {not json\n'));
    expect(() => readRecording(path)).toThrow(RecordingFormatError);
    expect(() => readRecording(path)).toThrow(expect.objectContaining({ code: 'malformed_recording' }));
    expect(() => readRecording(path)).toThrow(/bad\.gz:2/);
  });

  it('falls back to the fixture when the shared data is absent', () => {
    const { files, source } = spotBtcusdtRecordings();
    expect(files.length).toBeGreaterThan(0);
    expect(['shared', 'fixture']).toContain(source);
  });
});
