/**
 * Recorded Binance market data: where it lives (the committed fixture, the
 * shared real recordings), a reader per format (hftbacktest captures, ingestor
 * capture files, data.binance.vision trade CSVs), and the envelopes the
 * ingestor would have written for them.
 */
export { FIXTURE_COINM_BTCUSD_PERP, FIXTURE_SPOT_BTCUSDT, FIXTURE_USDM_BTCUSDT, sharedRealDataDir, spotBtcusdtRecordings } from './fixtures.ts';
export { localTimeUs, readRecording, RecordingFormatError, type RecordedLine } from './hftbacktest.ts';
export { COIN_M_CONTRACT_USD, contractsToBase, futuresFirstUpdateId } from './futures.ts';
export { presentRealWindows, REAL_WINDOWS, type RealMarket, type RealWindow } from './windows.ts';
export { CaptureWriter, CaptureFormatError, parseCapture, readCapture, type CapturedFrame } from './capture.ts';
export { ArchiveFormatError, readArchiveTrades, type ArchiveTrade } from './archive.ts';
export { EnvelopeWriter, emptyRecordingCounts, recordingEnvelopes, archiveTradeEnvelopes, captureEnvelope, type RecordingCounts } from './envelopes.ts';
export { RECORDINGS_ERROR_CODES, type RecordingsErrorCode } from './errors.ts';
