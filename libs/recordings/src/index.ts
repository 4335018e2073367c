/**
 * Recorded Binance market data: where it lives (the committed fixture, the
 * shared real recordings), a reader per format (hftbacktest captures, ingestor
 * capture files, data.binance.vision trade CSVs), and the envelopes the
 * ingestor would have written for them.
 */
export { FIXTURE_SPOT_BTCUSDT, sharedRealDataDir, spotBtcusdtRecordings } from './fixtures.ts';
export { readRecording, RecordingFormatError, type RecordedLine } from './hftbacktest.ts';
export { CaptureWriter, CaptureFormatError, parseCapture, readCapture, type CapturedFrame } from './capture.ts';
export { ArchiveFormatError, readArchiveTrades, type ArchiveTrade } from './archive.ts';
export { EnvelopeWriter, recordingEnvelopes, archiveTradeEnvelopes, captureEnvelope } from './envelopes.ts';
export { RECORDINGS_ERROR_CODES, type RecordingsErrorCode } from './errors.ts';
