/**
 * Envelopes → samples, through the aggregator's own SymbolProcessor (the
 * code that runs live). A sample is taken at every multiple of the sample
 * interval of *event* time, before the first event at or after it is
 * applied, so no feature can read an event after its sample time. Its label
 * is the log return (bps) of the mid over the horizon (of the last trade
 * price when the source has no book), from the sample `horizon` later —
 * NaN when that sample is missing (a gap, or the end).
 */
import { FEATURE_COUNT, FEATURE_NAMES, VectorStatus } from '@hotpath/features';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';
import { SymbolProcessor } from '@hotpath/processor';

export interface Dataset {
  symbol: string;
  source: string;
  names: readonly string[];
  /** Sample times, event time µs. */
  times: number[];
  X: Float64Array[];
  /** Mid at the sample (NaN without a book) and last trade price. */
  mid: number[];
  last: number[];
  /** Label: horizon log return, bps (NaN when not observable). */
  y: number[];
  /** Naive momentum baseline: the return over the last horizon, bps. */
  momentum: number[];
  /** Simulator only: latent fair − mid, price units. */
  oracle: number[];
  sampleEveryUs: number;
  horizonUs: number;
}

const MOMENTUM_MID = FEATURE_NAMES.indexOf('ret_mid_bps_10s');
const MOMENTUM_TRADE = FEATURE_NAMES.indexOf('ret_trade_bps_10s');

/** Reads an envelope's event time (trades, depth diffs) and last trade price without applying it. */
class Peek {
  private readonly env = new hotpath.EnvelopeDecoder();
  private readonly frame = new spot.SpotStreamDecoder();
  lastPrice = Number.NaN;
  /** The last trade price before the envelope last peeked at. */
  priceBefore = Number.NaN;

  eventTimeUs(envelope: Uint8Array): number | undefined {
    this.priceBefore = this.lastPrice;
    if (this.env.wrap(envelope) !== DecodeStatus.Ok || this.env.kind !== hotpath.EnvelopeKind.StreamFrame) return undefined;
    if (this.frame.wrap(this.env.payload()) !== DecodeStatus.Ok) return undefined;
    if (this.frame.templateId === spot.TradesStreamEventDecoder.TEMPLATE_ID) {
      const e = this.frame.tradesStreamEvent;
      const trades = e.trades();
      while (trades.next()) this.lastPrice = trades.price;
      return e.eventTime;
    }
    if (this.frame.templateId === spot.DepthDiffStreamEventDecoder.TEMPLATE_ID) return this.frame.depthDiffStreamEvent.eventTime;
    return undefined;
  }
}

export interface SampleOptions {
  symbol: string;
  source: string;
  sampleEveryUs?: number;
  horizonUs?: number;
  /** Sample only while the book is live (default true; a trades-only source sets false). */
  requireBook?: boolean;
  oracle?: Map<number, number>;
  onProgress?: (eventTimeUs: number) => void;
}

export function buildDataset(envelopes: Iterable<Uint8Array>, o: SampleOptions): Dataset {
  const every = o.sampleEveryUs ?? 2_000_000;
  const horizon = o.horizonUs ?? 10_000_000;
  const requireBook = o.requireBook ?? true;
  const p = new SymbolProcessor(o.symbol);
  const peek = new Peek();
  const d: Dataset = { symbol: o.symbol, source: o.source, names: FEATURE_NAMES, times: [], X: [], mid: [], last: [], y: [], momentum: [], oracle: [], sampleEveryUs: every, horizonUs: horizon };
  let next = Number.NaN;
  let n = 0;
  for (const e of envelopes) {
    const t = peek.eventTimeUs(e);
    if (t !== undefined) {
      if (Number.isNaN(next)) next = Math.ceil(t / every) * every;
      while (next <= t) {
        sample(d, p, next, requireBook, o.oracle, peek.priceBefore);
        next += every;
      }
    }
    p.apply(e, `${n++}`);
    if (o.onProgress && (n & 0xffff) === 0) o.onProgress(p.engine.eventTimeUs);
  }
  label(d);
  return d;
}

function sample(d: Dataset, p: SymbolProcessor, t: number, requireBook: boolean, oracle: Map<number, number> | undefined, lastPrice: number): void {
  const book = p.engine.book;
  const live = p.status === VectorStatus.Live && book.isSane();
  if (requireBook && !live) return;
  const x = p.engine.compute(t, new Float64Array(FEATURE_COUNT));
  d.times.push(t);
  d.X.push(x);
  d.mid.push(live ? ((book.bestBid + book.bestAsk) / 2) * 1e-8 : Number.NaN);
  d.last.push(lastPrice);
  d.momentum.push(live ? x[MOMENTUM_MID]! : x[MOMENTUM_TRADE]!);
  d.oracle.push(oracle?.get(t) ?? Number.NaN);
}

function label(d: Dataset): void {
  const steps = Math.round(d.horizonUs / d.sampleEveryUs);
  for (let i = 0; i < d.times.length; i++) {
    const j = i + steps;
    if (j >= d.times.length || d.times[j]! - d.times[i]! !== d.horizonUs) {
      d.y.push(Number.NaN);
      continue;
    }
    const useMid = Number.isFinite(d.mid[i]!) && Number.isFinite(d.mid[j]!);
    d.y.push(Math.log(useMid ? d.mid[j]! / d.mid[i]! : d.last[j]! / d.last[i]!) * 1e4);
  }
}
