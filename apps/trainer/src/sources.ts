/**
 * Where training events come from, each as the envelopes the ingestor would
 * have written (so the dataset replays through the aggregator's own
 * processor): the simulator run offline for a seed and a duration, ingestor
 * capture files, hftbacktest recordings (the real evaluation set), and
 * data.binance.vision trade archives.
 */
import { type FeedOptions, MarketFeed } from '@hotpath/market';
import { hotpath } from '@hotpath/sbe';
import {
  archiveTradeEnvelopes,
  captureEnvelope,
  emptyRecordingCounts,
  EnvelopeWriter,
  localTimeUs,
  readArchiveTrades,
  readCapture,
  readRecording,
  recordingEnvelopes,
  type RecordingCounts,
  type RealWindow,
} from '@hotpath/recordings';

export interface Source {
  /** What the report calls it, e.g. "sim seed 7, 120 min". */
  label: string;
  kind: 'sim' | 'capture' | 'recording' | 'archive';
  envelopes: Iterable<Buffer>;
  /** Simulator only: latent fair price − mid (price units) at each sample boundary, the ceiling's input. */
  oracle?: Map<number, number>;
  /** Event time span covered, µs (known up front for sim; otherwise undefined). */
  spanUs?: number;
  /** Recordings only: what the reader met, by kind (filled while the envelopes are consumed). */
  counts?: RecordingCounts;
}

export const SIM_START_US = 1_750_000_000_000_000;

/** The simulator's market for `seed` and `minutes`; `market` overrides its model parameters or instrument spec (calibration runs). */
export function simSource(seed: number, minutes: number, symbol = 'BTCUSDT', sampleEveryUs = 2_000_000, market: Pick<FeedOptions, 'profile' | 'params' | 'specs' | 'schedule'> = {}): Source {
  const oracle = new Map<number, number>();
  function* run(): Generator<Buffer> {
    const feed = new MarketFeed({ symbols: [symbol], seed, startTimeUs: SIM_START_US, ...market });
    const writer = new EnvelopeWriter(symbol);
    const { tickMantissa, lotMantissa } = feed.units(symbol);
    const model = feed.model(symbol);
    // warm the book up, then connect: connection event + REST snapshot, as the ingestor does
    feed.advanceTo(SIM_START_US + 1_000_000, () => undefined);
    yield writer.connected(feed.simTimeUs, 'trainer sim start');
    const snap = feed.depthSnapshot(symbol, 5000);
    yield writer.snapshot(
      feed.simTimeUs,
      snap.lastUpdateId,
      snap.bids.map((l) => [l.tick * tickMantissa, l.lots * lotMantissa] as const),
      snap.asks.map((l) => [l.tick * tickMantissa, l.lots * lotMantissa] as const),
    );
    const end = SIM_START_US + minutes * 60_000_000;
    const batch: Buffer[] = [];
    for (let b = Math.ceil(feed.simTimeUs / sampleEveryUs) * sampleEveryUs; b <= end; b += sampleEveryUs) {
      // frames strictly before the boundary, then the latent state at the boundary
      feed.advanceTo(b, (f) => {
        if (f.kind === 'trade' || f.kind === 'depth') batch.push(writer.envelope(hotpath.EnvelopeKind.StreamFrame, f.timeUs, f.bytes));
      });
      oracle.set(b, (model.fair - model.mid) * tickMantissa * 1e-8);
      yield* batch;
      batch.length = 0;
    }
  }
  const profile = market.profile && market.profile !== 'default' ? `, profile ${market.profile}` : '';
  return { label: `exchange-sim seed ${seed}, ${minutes} simulated minutes${profile}`, kind: 'sim', envelopes: run(), oracle, spanUs: minutes * 60_000_000 };
}

/**
 * hftbacktest files that continue one another (one recording window, one
 * connection): spot, USDⓈ-M or COIN-M — `symbol` is the recorded one
 * (BTCUSD_PERP for COIN-M: the reader converts its contracts to BTC).
 */
export function recordingSource(files: string[], symbol = 'BTCUSDT', label?: string): Source {
  const counts = emptyRecordingCounts();
  function* run(): Generator<Buffer> {
    const writer = new EnvelopeWriter(symbol);
    let connected = false;
    for (const f of files) {
      const lines = readRecording(f);
      const first = lines[0];
      if (!first) continue;
      if (!connected) yield writer.connected(localTimeUs(first.localTime), `recording ${f}`);
      connected = true;
      yield* recordingEnvelopes(lines, writer, counts, symbol);
    }
  }
  return { label: label ?? `hftbacktest recordings (${files.length} file${files.length === 1 ? '' : 's'})`, kind: 'recording', envelopes: run(), counts };
}

/** One real window of ../shared/data/real (libs/recordings REAL_WINDOWS) with its files' paths. */
export function realWindowSource(w: { window: RealWindow; paths: string[] }): Source {
  return recordingSource(w.paths, w.window.symbol, `real ${w.window.id} (${w.window.symbol}, ${w.window.span})`);
}

export function captureSource(files: string[]): Source {
  function* run(): Generator<Buffer> {
    for (const f of files) for (const c of readCapture(f)) yield captureEnvelope(c);
  }
  return { label: `ingestor captures (${files.length} file${files.length === 1 ? '' : 's'})`, kind: 'capture', envelopes: run() };
}

export function archiveSource(files: string[], symbol = 'BTCUSDT'): Source {
  function* run(): Generator<Buffer> {
    const writer = new EnvelopeWriter(symbol);
    for (const f of files) yield* archiveTradeEnvelopes(readArchiveTrades(f), writer);
  }
  return { label: `data.binance.vision trade archives (${files.length} file${files.length === 1 ? '' : 's'})`, kind: 'archive', envelopes: run() };
}
