/**
 * The features against an independent oracle: the committed real Binance
 * recording goes through the live path (envelopes → SymbolProcessor →
 * FeatureEngine) and, separately, as raw JSON through the slow reference in
 * support/reference.ts (Map book, trade array, windows by filtering). Every
 * feature and the whole book are compared at hundreds of sample times. Kept
 * here, where the live path starts: libs/features' own tests never import the
 * processor built on it.
 */
import { FEATURE_COUNT, FEATURE_NAMES, VectorStatus, decodeVector } from '@hotpath/features';
import { COIN_M_CONTRACT_USD, EnvelopeWriter, FIXTURE_COINM_BTCUSD_PERP, FIXTURE_SPOT_BTCUSDT, FIXTURE_USDM_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { classifyPayload } from '@hotpath/sbe';
import { describe, expect, it } from 'vitest';
import { SymbolProcessor } from '../src/index.ts';
import { ReferenceFeatures, mantissa } from './support/reference.ts';

const US = 1_000_000;
const RELATIVE = 1e-9;

/**
 * Absolute floor under the 1e-9 relative tolerance, per feature. The engine
 * scales mantissas to decimals before subtracting or dividing and keeps
 * window sums incrementally (add on entry, subtract on exit), so a value near
 * zero carries rounding residue relative to the magnitudes it was computed
 * from, not to itself; the reference forms the same quantities exactly from
 * integers. Each floor is 1e-9 relative of the underlying magnitude:
 * - bps of a price (returns, VWAP deviation, spread, microprice, volatility):
 *   a 1e-9 relative error on a price is 1e-5 bps — still 160× below the
 *   smallest real move (one 0.01 tick on ~61 800 is 1.6e-3 bps);
 * - quantities in BTC (volumes, sizes, depth, OFI): 1e-9 BTC, a tenth of the
 *   smallest quantity step (1e-8);
 * - imbalances in [−1, 1]: 1e-9;
 * - counts, the discontinuity flag and time since the last trade: exact.
 */
function absoluteFloor(name: string): number {
  if (/^(trade_count_|price_discontinuity|time_since_last_trade_s)/.test(name)) return 0;
  if (/_bps/.test(name)) return 1e-5;
  if (/imbalance/.test(name)) return 1e-9;
  return 1e-9; // volumes, mean size, depth, ofi: BTC
}

function close(name: string, engine: number, reference: number): boolean {
  if (Number.isNaN(engine) || Number.isNaN(reference)) return Number.isNaN(engine) && Number.isNaN(reference);
  return Math.abs(engine - reference) <= RELATIVE * Math.max(Math.abs(engine), Math.abs(reference)) + absoluteFloor(name);
}

/**
 * Read offsets after the newest event: 0 (the published vector), inside the
 * windows, and exactly on window lengths (an event at exactly t − W has left
 * the window: (t − W, t]).
 */
const OFFSETS_US = [0, 350_000, 1 * US, 4_200_000, 5 * US, 10 * US, 29_900_000, 60 * US + 1];
/** Every 37th recorded line (prime: no aliasing with the 100 ms diff cadence). */
const SAMPLE_EVERY_LINES = 37;

/**
 * The committed real excerpts: spot (spot sequencing), USDⓈ-M (futures
 * sequencing by `pu`, a µs recorder clock, markPrice lines) and COIN-M
 * (futures sequencing, quantities in contracts, 23 diffs buffered before the
 * snapshot). `samples` and `nonTrivial` are what each is long enough to show.
 */
const EXCERPTS = [
  { name: 'spot BTCUSDT', file: FIXTURE_SPOT_BTCUSDT, symbol: 'BTCUSDT', samples: 2_000, nonTrivial: 50 },
  { name: 'USDⓈ-M BTCUSDT (futures rules)', file: FIXTURE_USDM_BTCUSDT, symbol: 'BTCUSDT', samples: 500, nonTrivial: 20 },
  { name: 'COIN-M BTCUSD_PERP (futures rules, contracts → BTC)', file: FIXTURE_COINM_BTCUSD_PERP, symbol: 'BTCUSD_PERP', samples: 400, nonTrivial: 10 },
];

describe.each(EXCERPTS)('features against an independent reference (real $name recording)', ({ file, symbol, samples: minSamples, nonTrivial: minNonTrivial }) => {
  it('the book, every feature and every window agree at hundreds of sample times', () => {
    const lines = readRecording(file);
    const processor = new SymbolProcessor(symbol);
    const reference = new ReferenceFeatures(COIN_M_CONTRACT_USD[symbol]);
    const envelopes = recordingEnvelopes(lines, new EnvelopeWriter(symbol));
    const mismatches: string[] = [];
    const worst = new Map<string, number>();
    const out = new Float64Array(FEATURE_COUNT);
    let samples = 0;
    const outcomes = new Set<string>();
    const nonTrivial = new Map<string, number>();

    for (let i = 0; i < lines.length; i++) {
      const data = lines[i]!.data;
      if (classifyPayload(data) === undefined) continue;
      // recordingEnvelopes yields exactly one envelope per classified line, in order
      const env = envelopes.next();
      expect(env.done).toBe(false);
      outcomes.add(processor.apply(env.value as Buffer, `0:${i}`));
      reference.apply(data);
      if (i % SAMPLE_EVERY_LINES !== 0 || reference.trades.length === 0) continue;

      const engine = processor.engine;
      expect(engine.eventTimeUs).toBe(reference.clockUs);
      // the whole book, level by level (the first difference named; a deep toEqual per sample is slow)
      for (const bid of [true, false]) {
        const side = bid ? engine.book.bids : engine.book.asks;
        const levels = reference.levels(bid);
        expect(side.size).toBe(levels.length);
        const differs = levels.findIndex(([p, q], k) => side.prices[k] !== p || side.qtys[k] !== q);
        expect(differs === -1 ? 'same' : `${bid ? 'bid' : 'ask'} level ${differs}: engine ${side.prices[differs]} × ${side.qtys[differs]}, reference ${levels[differs]}`).toBe('same');
      }

      const published = decodeVector(processor.vectorBytes(0));
      if (reference.tops.length > 0) {
        expect(published.status).toBe(VectorStatus.Live);
        expect(published.bestBid).toBe(reference.best(true)!.price * 1e-8);
        expect(published.bestAsk).toBe(reference.best(false)!.price * 1e-8);
      }
      for (const offset of OFFSETS_US) {
        const t = engine.eventTimeUs + offset;
        const got = offset === 0 ? published.features : engine.compute(t, out);
        const want = reference.features(t);
        samples++;
        FEATURE_NAMES.forEach((name, k) => {
          const g = got[k]!;
          const w = want.get(name)!;
          if (!Number.isNaN(w) && w !== 0) nonTrivial.set(name, (nonTrivial.get(name) ?? 0) + 1);
          if (!Number.isNaN(g) && !Number.isNaN(w)) worst.set(name, Math.max(worst.get(name) ?? 0, Math.abs(g - w)));
          if (!close(name, g, w) && mismatches.length < 20) mismatches.push(`${name} at t=${t} (line ${i}, +${offset} µs): engine ${g}, reference ${w}`);
        });
      }
    }
    expect(envelopes.next().done).toBe(true);
    expect([...outcomes].sort()).toEqual(['applied', 'ignored', 'reanchored']); // trades and diffs, book tickers, the snapshot
    expect(mismatches).toEqual([]);

    // not vacuous: enough samples, and every feature took a non-trivial (non-zero, defined) value in many of them
    expect(samples).toBeGreaterThan(minSamples);
    const thin = FEATURE_NAMES.filter((n) => (nonTrivial.get(n) ?? 0) < minNonTrivial && n !== 'price_discontinuity');
    expect(thin).toEqual([]);
    expect(nonTrivial.get('price_discontinuity')).toBeGreaterThan(0); // the first 10 s after the snapshot
    expect(worst.size).toBe(FEATURE_NAMES.length);
  });
});

describe('the reference itself', () => {
  it('parses decimals exactly and refuses what it cannot represent', () => {
    expect(mantissa('61837.63000000')).toBe(6_183_763_000_000);
    expect(mantissa('0.00000001')).toBe(1);
    expect(mantissa('12')).toBe(1_200_000_000);
    expect(mantissa('0.1')).toBe(10_000_000);
    expect(() => mantissa('0.000000001')).toThrow();
    expect(() => mantissa('-1')).toThrow();
    expect(() => mantissa('1e5')).toThrow();
  });
});
