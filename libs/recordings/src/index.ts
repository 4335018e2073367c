/**
 * Recorded Binance market data: the committed fixture excerpt and, when the
 * development share is mounted, the full real recordings. One reader for the
 * hftbacktest capture format (`<local ts> <json>` per line, gzip).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipFile } from './gzip.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The committed real-data excerpt: ~2 min of spot BTCUSDT with its initial REST snapshot. */
export const FIXTURE_SPOT_BTCUSDT = join(repoRoot, 'fixtures/binance/hftbacktest/btcusdt_20240808_first15000.gz');

/** The real recordings shipped beside the repository on development machines, if present. */
export function sharedRealDataDir(): string | undefined {
  const dir = resolve(repoRoot, '../shared/data/real');
  return existsSync(dir) ? dir : undefined;
}

/** Spot BTCUSDT recordings in chronological order (the full window when available, else the fixture). */
export function spotBtcusdtRecordings(): { files: string[]; source: 'shared' | 'fixture' } {
  const dir = sharedRealDataDir();
  if (dir !== undefined) {
    const files = ['btcusdt_20240808.gz', 'btcusdt_20240809.gz'].map((f) => join(dir, 'hftbacktest/spot', f));
    if (files.every((f) => existsSync(f))) return { files, source: 'shared' };
  }
  return { files: [FIXTURE_SPOT_BTCUSDT], source: 'fixture' };
}

export interface RecordedLine {
  /** Recorder clock, ns (2024 files) or µs (2023 .dat files) as written. */
  localTime: number;
  /** Combined-stream name (`btcusdt@trade`), or `snapshot` for a raw REST depth snapshot. */
  stream: string;
  /** The Binance JSON payload. */
  data: unknown;
  /** The payload's JSON text (what a single-stream `/ws/<stream>` connection receives). */
  json: string;
  /** The whole recorded message text, exactly as received on the combined-stream connection. */
  wire: string;
}

export class RecordingFormatError extends Error {
  override readonly name = 'RecordingFormatError';
}

/** Parses one capture file; a file that is not gzip, or a malformed line, is a RecordingFormatError naming the file (and the line), not skipped. */
export function readRecording(path: string): RecordedLine[] {
  const text = gunzipFile(readFileSync(path), path, RecordingFormatError).toString('utf8');
  const out: RecordedLine[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '') continue;
    const space = line.indexOf(' ');
    if (space <= 0) throw new RecordingFormatError(`${path}:${lineNo}: no timestamp`);
    const localTime = Number(line.slice(0, space));
    const wire = line.slice(space + 1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(wire);
    } catch (err) {
      throw new RecordingFormatError(`${path}:${lineNo}: ${(err as Error).message}`, { cause: err });
    }
    // a stream message and a REST snapshot are both objects; `null`, an array or a bare value is neither
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RecordingFormatError(`${path}:${lineNo}: payload is ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}, not a JSON object`);
    const o = parsed as { stream?: unknown; data?: unknown };
    if (typeof o.stream === 'string' && o.data !== undefined) {
      out.push({ localTime, stream: o.stream, data: o.data, json: JSON.stringify(o.data), wire });
    } else {
      out.push({ localTime, stream: 'snapshot', data: parsed, json: wire, wire });
    }
  }
  return out;
}

export { CaptureWriter, CaptureFormatError, parseCapture, readCapture, type CapturedFrame } from './capture.ts';
export { ArchiveFormatError, readArchiveTrades, type ArchiveTrade } from './archive.ts';
export { EnvelopeWriter, recordingEnvelopes, archiveTradeEnvelopes, captureEnvelope } from './envelopes.ts';
