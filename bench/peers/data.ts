/**
 * bench:peers input: the real spot BTCUSDT recordings split per message kind,
 * in every form a contender consumes (recorded JSON text, the SBE frame
 * Binance sends for it), prepared once, untimed.
 */
import { FIXTURE_SPOT_BTCUSDT, readRecording, spotBtcusdtRecordings } from '@hotpath/recordings';
import { BinanceJsonTranscoder, type JsonBookTicker, type JsonDepthSnapshot, type JsonDepthUpdate, type JsonTrade } from '@hotpath/sbe';

export interface DepthMessage {
  /** The recorded combined-stream message text. */
  wire: string;
  /** The SBE frame for the same event. */
  frame: Buffer;
  data: JsonDepthUpdate;
}

export interface PeersData {
  source: 'shared' | 'fixture';
  symbol: string;
  stream: string;
  snapshot: JsonDepthSnapshot;
  snapshotFrame: Buffer;
  /** Recorder clock of the first line (ms): the one Date tardis-dev is handed. */
  firstLocalMs: number;
  /** Depth diffs recorded before the snapshot (buffered by every contender; one of them bridges the snapshot). */
  pre: DepthMessage[];
  /** Depth diffs after the snapshot, in file order. */
  post: DepthMessage[];
  bookTicker: { wire: string[]; frame: Buffer[] };
  trade: { wire: string[]; frame: Buffer[] };
}

const transcoder = new BinanceJsonTranscoder();
const scratch = Buffer.alloc(256 * 1024);

/** One Buffer per message, as a WebSocket client hands frames over. */
export function depthFrame(d: JsonDepthUpdate): Buffer {
  return Buffer.from(scratch.subarray(0, transcoder.encodeDepthUpdate(d, scratch)));
}

/**
 * Loads the shared real window when present (the committed fixture otherwise, or
 * when `forceFixture`). bookTicker and trade lists are capped at `maxPerKind`
 * messages (their cost per message does not depend on history).
 */
export function loadPeersData(forceFixture: boolean, maxPerKind: number): PeersData {
  const found = spotBtcusdtRecordings();
  const { files, source } = forceFixture ? { files: [FIXTURE_SPOT_BTCUSDT], source: 'fixture' as const } : found;
  const lines = files.flatMap((f) => readRecording(f));
  const snapAt = lines.findIndex((l) => l.stream === 'snapshot');
  if (snapAt < 0) throw new Error('bench:peers: the recording has no REST snapshot');
  const snapshot = lines[snapAt]!.data as JsonDepthSnapshot;
  const firstDepth = lines.find((l) => l.stream.includes('@depth'));
  if (firstDepth === undefined) throw new Error('bench:peers: the recording has no depth diffs');
  const symbol = (firstDepth.data as JsonDepthUpdate).s;
  const data: PeersData = {
    source,
    symbol,
    stream: firstDepth.stream,
    snapshot,
    snapshotFrame: Buffer.from(scratch.subarray(0, transcoder.encodeDepthSnapshot(symbol, snapshot, 0, 0, scratch))),
    firstLocalMs: Math.floor(lines[0]!.localTime / 1e6),
    pre: [],
    post: [],
    bookTicker: { wire: [], frame: [] },
    trade: { wire: [], frame: [] },
  };
  lines.forEach((line, i) => {
    if (line.stream.includes('@depth')) {
      const d = line.data as JsonDepthUpdate;
      (i < snapAt ? data.pre : data.post).push({ wire: line.wire, frame: depthFrame(d), data: d });
    } else if (line.stream.endsWith('@bookTicker') && data.bookTicker.wire.length < maxPerKind) {
      data.bookTicker.wire.push(line.wire);
      data.bookTicker.frame.push(Buffer.from(scratch.subarray(0, transcoder.encodeBookTicker(line.data as JsonBookTicker, 0, scratch))));
    } else if (line.stream.endsWith('@trade') && data.trade.wire.length < maxPerKind) {
      data.trade.wire.push(line.wire);
      data.trade.frame.push(Buffer.from(scratch.subarray(0, transcoder.encodeTrade(line.data as JsonTrade, scratch))));
    }
  });
  return data;
}
