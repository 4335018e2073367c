/**
 * The hftbacktest capture format (`<local ts> <json>` per line, gzip): Binance
 * combined-stream messages and raw REST depth snapshots as recorded, each with
 * the recorder's receive time.
 */
import { readFileSync } from 'node:fs';
import type { RecordingsErrorCode } from './errors.ts';
import { gunzipFile } from './gzip.ts';

export interface RecordedLine {
  /** Recorder clock, ns (2024 files) or µs (2023 .dat files) as written; `localTimeUs` converts. */
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

/**
 * The recorder's clock in µs: the 2024 files write nanoseconds (19 digits),
 * the 2023 `.dat` files microseconds (16 digits). Anything from 1e17 up is
 * nanoseconds (1e17 µs would be the year 5138).
 */
export function localTimeUs(localTime: number): number {
  return localTime >= 1e17 ? Math.floor(localTime / 1000) : localTime;
}

/** An hftbacktest recording that is not gzip, or a line without a timestamp or JSON object. */
export class RecordingFormatError extends Error {
  override readonly name = 'RecordingFormatError';
  readonly code: RecordingsErrorCode = 'malformed_recording';
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
      // JSON.parse's text (position, a few characters of the line) in the message: CLIs print only the message
      throw new RecordingFormatError(`${path}:${lineNo}: ${(err as Error).message}`, { cause: err });
    }
    // a stream message and a REST snapshot are both objects; `null`, an array or a bare value is neither
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new RecordingFormatError(`${path}:${lineNo}: payload is ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}, not a JSON object`);
    const o = parsed as { stream?: unknown; data?: unknown };
    if (typeof o.stream === 'string' && o.data !== undefined) {
      out.push({ localTime, stream: o.stream, data: o.data, json: JSON.stringify(o.data), wire });
    } else {
      out.push({ localTime, stream: 'snapshot', data: parsed, json: wire, wire });
    }
  }
  return out;
}
