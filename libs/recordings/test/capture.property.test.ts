/**
 * Files are untrusted input (issue 15, item 2): a capture, a recording or an
 * archive CSV someone hands the simulator or the trainer may be truncated,
 * corrupt or not what its name says. Whatever the bytes, the reader answers
 * with the frames or with its own typed error — never another exception (a
 * RangeError out of a Buffer read, a zlib error) and never an endless loop.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ArchiveFormatError,
  CaptureFormatError,
  CaptureWriter,
  parseCapture,
  readArchiveTrades,
  readCapture,
  readRecording,
  RecordingFormatError,
  RECORDINGS_ERROR_CODES,
  type CapturedFrame,
} from '../src/index.ts';
import { damaged } from '../../../test/support/property.ts';

const dir = mkdtempSync(join(tmpdir(), 'capture-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `read`; the value when it answers, the error when it is of `type`; anything else fails the property. */
function typedOutcome<T>(read: () => T, type: new (...args: never[]) => Error): { ok: true; value: T } | { ok: false; err: Error } {
  try {
    return { ok: true, value: read() };
  } catch (err) {
    expect(err, `${(err as Error)?.name}: ${(err as Error)?.message}`).toBeInstanceOf(type);
    expect(RECORDINGS_ERROR_CODES).toContain((err as { code?: unknown }).code);
    return { ok: false, err: err as Error };
  }
}

/** A refused .gz file: the reader's typed error starts with the file and says it is not gzip; zlib's error is kept as the cause. */
function refusedAsNotGzip(r: { ok: true } | { ok: false; err: Error }, path: string): void {
  expect(r.ok, 'read as if it were gzip').toBe(false);
  if (r.ok) return;
  expect(r.err.message.startsWith(`${path}: not a readable gzip file`), r.err.message).toBe(true);
  expect(r.err.cause).toBeInstanceOf(Error);
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const frameArb: fc.Arbitrary<CapturedFrame> = fc.record({
  receiveTimeUs: fc.integer({ min: 0, max: 2 ** 52 }),
  sequence: fc.integer({ min: 0, max: 2 ** 40 }),
  connectionEpoch: fc.integer({ min: 0, max: 2 ** 31 }),
  writerId: fc.integer({ min: 0, max: 2 ** 31 }),
  kind: fc.integer({ min: 1, max: 5 }), // the EnvelopeKind values (a damaged kind is the damage property's job)
  symbol: fc.stringMatching(/^[A-Z0-9]{2,20}$/),
  payload: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
});

/** A valid capture, then damaged: bytes overwritten, the tail cut, or garbage spliced in. */
const damagedCapture = fc.array(frameArb, { minLength: 1, maxLength: 5 }).chain((frames) => {
  const w = new CaptureWriter();
  for (const f of frames) w.add(f);
  return damaged(w.toBuffer(), { maxEdits: 8, maxSplice: 16 });
});

describe('capture files from anywhere', () => {
  it('parseCapture: any bytes are frames or a CaptureFormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_048 }), (bytes) => {
        const r = typedOutcome(() => parseCapture(Buffer.from(bytes)), CaptureFormatError);
        if (r.ok) expect(bytes.length === 0 || r.value.length > 0).toBe(true); // non-empty input is never read as "no frames"
      }),
      { numRuns: 2_000 },
    );
  });

  it('parseCapture: a valid capture damaged anywhere is frames or a CaptureFormatError, and an undamaged one reads back whole', () => {
    fc.assert(
      fc.property(damagedCapture, (bytes) => {
        const r = typedOutcome(() => parseCapture(bytes), CaptureFormatError);
        if (r.ok) for (const f of r.value) expect(Buffer.isBuffer(f.payload)).toBe(true);
      }),
      { numRuns: 1_000 },
    );
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 5 }), (frames) => {
        const w = new CaptureWriter();
        for (const f of frames) w.add(f);
        expect(parseCapture(w.toBuffer()).map((f) => [f.sequence, f.symbol, f.payload.toString('hex')])).toEqual(frames.map((f) => [f.sequence, f.symbol, f.payload.toString('hex')]));
      }),
      { numRuns: 200 },
    );
  });

  it('readCapture: a .capture file of any bytes is frames or a CaptureFormatError naming the file', () => {
    const path = join(dir, 'any.capture');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 1_024 }).map((b) => Buffer.from(b)),
          damagedCapture,
        ),
        (bytes) => {
          writeFileSync(path, bytes);
          const r = typedOutcome(() => readCapture(path), CaptureFormatError);
          if (!r.ok) expect(r.err.message.startsWith(`${path}: `), r.err.message).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('readCapture: a .capture.gz file holding any bytes, gzipped, is frames or a CaptureFormatError naming the file', () => {
    const path = join(dir, 'any.capture.gz');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
          damagedCapture,
        ),
        (bytes) => {
          writeFileSync(path, gzipSync(bytes));
          const r = typedOutcome(() => readCapture(path), CaptureFormatError);
          if (!r.ok) expect(r.err.message.startsWith(`${path}: `), r.err.message).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  // (found by this property: a .gz file that is not gzip — minimal: an empty file — or whose gzip stream is cut
  // escaped as zlib's own Error, "unexpected end of file" or "incorrect header check")
  it("readCapture: a .capture.gz file that is not gzip, or a cut gzip, is a CaptureFormatError naming the file, zlib's error its cause", () => {
    const path = join(dir, 'not-gzip.capture.gz');
    const notGzip = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
      fc.tuple(damagedCapture, fc.nat()).map(([b, n]) => {
        const z = gzipSync(b);
        return z.subarray(0, n % z.length);
      }),
    );
    fc.assert(
      fc.property(notGzip, (bytes) => {
        writeFileSync(path, bytes);
        refusedAsNotGzip(
          typedOutcome(() => readCapture(path), CaptureFormatError),
          path,
        );
      }),
      { numRuns: 300, examples: [[Buffer.alloc(0)]] },
    );
  });
});

describe('recordings and archive CSVs from anywhere', () => {
  const recordingText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    // lines that look like the format: "<number> <json>"
    fc.array(fc.tuple(fc.oneof(fc.integer().map(String), fc.string({ maxLength: 6 })), fc.json({ maxDepth: 3 })), { maxLength: 6 }).map((ls) => ls.map(([t, j]) => `${t} ${j}`).join('\n')),
  );

  it('readRecording: gzip of any text is lines or a RecordingFormatError naming the file', () => {
    const path = join(dir, 'any.gz');
    fc.assert(
      fc.property(recordingText, (text) => {
        writeFileSync(path, gzipSync(text));
        const r = typedOutcome(() => readRecording(path), RecordingFormatError);
        if (r.ok) for (const l of r.value) expect(typeof l.wire).toBe('string');
        else expect(r.err.message.startsWith(`${path}:`), r.err.message).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  // (found by the property above: a line whose JSON is `null` — "1 null" — threw a TypeError reading `stream` of null)
  it('readRecording: a line whose payload is JSON null, an array or a bare value is a RecordingFormatError naming the file, the line and what it holds', () => {
    const path = join(dir, 'not-object-line.gz');
    const notObject = fc.oneof(fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.integer(), fc.string({ maxLength: 8 }), fc.boolean());
    fc.assert(
      fc.property(fc.array(fc.constantFrom('1 {"stream":"btcusdt@trade","data":{}}', '2 {"lastUpdateId":1,"bids":[],"asks":[]}'), { maxLength: 3 }), notObject, (before, value) => {
        writeFileSync(path, gzipSync([...before, `9 ${JSON.stringify(value)}`].join('\n')));
        const r = typedOutcome(() => readRecording(path), RecordingFormatError);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.err.message).toMatch(new RegExp(`^${escapeRegExp(path)}:${before.length + 1}: payload is (null|an array|a number|a string|a boolean), not a JSON object$`));
      }),
      { numRuns: 100, examples: [[[], null]] },
    );
  });

  // (found by this property: a file that is not gzip — minimal: an empty file — escaped as zlib's Error)
  it("readRecording and readArchiveTrades (.gz): bytes that are not gzip, or a cut gzip, are their typed error naming the file, zlib's error its cause", () => {
    const recording = join(dir, 'not-gzip.gz');
    const archive = join(dir, 'BTCUSDT-trades-not-gzip.csv.gz');
    const notGzip = fc.oneof(
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.string({ minLength: 1, maxLength: 200 }), fc.nat()).map(([text, n]) => {
        const z = gzipSync(text);
        return z.subarray(0, n % z.length);
      }),
    );
    fc.assert(
      fc.property(notGzip, (bytes) => {
        writeFileSync(recording, bytes);
        refusedAsNotGzip(
          typedOutcome(() => readRecording(recording), RecordingFormatError),
          recording,
        );
        writeFileSync(archive, bytes);
        refusedAsNotGzip(
          typedOutcome(() => readArchiveTrades(archive), ArchiveFormatError),
          archive,
        );
      }),
      { numRuns: 200, examples: [[Buffer.alloc(0)]] },
    );
  });

  it('readArchiveTrades: any CSV text (plain or gzip) is trades or an ArchiveFormatError', () => {
    const row = fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.constantFrom('True', 'false', '')), { maxLength: 9 }).map((c) => c.join(','));
    const csv = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.array(row, { maxLength: 6 }).map((r) => r.join('\n')),
    );
    fc.assert(
      fc.property(csv, fc.boolean(), fc.boolean(), (text, agg, gz) => {
        const path = join(dir, `BTCUSDT-${agg ? 'aggTrades' : 'trades'}-any.csv${gz ? '.gz' : ''}`);
        writeFileSync(path, gz ? gzipSync(text) : text);
        const r = typedOutcome(() => readArchiveTrades(path), ArchiveFormatError);
        if (r.ok) for (const t of r.value) expect(Number.isSafeInteger(t.id) && Number.isFinite(t.timeUs)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
