/**
 * Where training events come from, each as the envelopes the ingestor would
 * have written (so the dataset replays through the aggregator's own
 * processor): the simulator run offline for a seed and a duration, ingestor
 * capture files, hftbacktest recordings (the real evaluation set), and
 * data.binance.vision trade archives.
 */
import { MarketFeed } from '@hotpath/market';
import { hotpath } from '@hotpath/sbe';
import { archiveTradeEnvelopes, captureEnvelope, EnvelopeWriter, readArchiveTrades, readCapture, readRecording, recordingEnvelopes } from '@hotpath/recordings';

export interface Source {
  /** What the report calls it, e.g. "sim seed 7, 120 min". */
  label: string;
  kind: 'sim' | 'capture' | 'recording' | 'archive';
  envelopes: Iterable<Buffer>;
  /** Simulator only: latent fair price − mid (price units) at each sample boundary, the ceiling's input. */
  oracle?: Map<number, number>;
  /** Event time span covered, µs (known up front for sim; otherwise undefined). */
  spanUs?: number;
}

export const SIM_START_US = 1_750_000_000_000_000;

export function simSource(seed: number, minutes: number, symbol = 'BTCUSDT', sampleEveryUs = 2_000_000): Source {
  const oracle = new Map<number, number>();
  function* run(): Generator<Buffer> {
    const feed = new MarketFeed({ symbols: [symbol], seed, startTimeUs: SIM_START_US });
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
  return { label: `exchange-sim seed ${seed}, ${minutes} simulated minutes`, kind: 'sim', envelopes: run(), oracle, spanUs: minutes * 60_000_000 };
}

/** hftbacktest files that continue one another (one recording window, one connection). */
export function recordingSource(files: string[], symbol = 'BTCUSDT'): Source {
  function* run(): Generator<Buffer> {
    const writer = new EnvelopeWriter(symbol);
    let connected = false;
    for (const f of files) {
      const lines = readRecording(f);
      const first = lines[0];
      if (!first) continue;
      if (!connected) yield writer.connected(first.localTime >= 1e18 ? Math.floor(first.localTime / 1000) : first.localTime, `recording ${f}`);
      connected = true;
      yield* recordingEnvelopes(lines, writer);
    }
  }
  return { label: `hftbacktest recordings (${files.length} file${files.length === 1 ? '' : 's'})`, kind: 'recording', envelopes: run() };
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
