/** The synthetic market: deterministic for a seed, internally consistent, and learnable. */
import { createHash } from 'node:crypto';
import { DecodeStatus, spot } from '@hotpath/sbe';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, evaluateSignal, MARKET_PROFILES, MarketFeed } from '../src/index.ts';

const START = 1_750_000_000_000_000;

function firstFrames(seed: number, n: number, symbols = ['BTCUSDT', 'ETHUSDT']): { hash: string; kinds: Record<string, number> } {
  const feed = new MarketFeed({ symbols, seed, startTimeUs: START });
  const hash = createHash('sha256');
  const kinds: Record<string, number> = {};
  let count = 0;
  for (let t = START; count < n; ) {
    t += 100_000;
    feed.advanceTo(t, (f) => {
      if (count >= n) return;
      count++;
      kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
      hash.update(f.bytes);
    });
  }
  return { hash: hash.digest('hex'), kinds };
}

describe('market feed', () => {
  it('same seed → the same first 100,000 frames, byte for byte; another seed → different', () => {
    const a = firstFrames(42, 100_000);
    const b = firstFrames(42, 100_000);
    const c = firstFrames(43, 100_000);
    expect(a.hash).toBe(b.hash);
    expect(c.hash).not.toBe(a.hash);
    for (const k of ['trade', 'bestBidAsk', 'depth', 'depth20']) expect(a.kinds[k] ?? 0).toBeGreaterThan(100);
  });

  it('a symbol market does not depend on which other symbols are simulated', () => {
    const hashOf = (symbols: string[]): string => {
      const feed = new MarketFeed({ symbols, seed: 5, startTimeUs: START });
      const h = createHash('sha256');
      feed.advanceTo(START + 20_000_000, (f) => f.symbol === 'BTCUSDT' && h.update(f.bytes));
      return h.digest('hex');
    };
    expect(hashOf(['BTCUSDT'])).toBe(hashOf(['ETHUSDT', 'BTCUSDT', 'DOGEUSDT']));
  });

  it('streams are self-consistent: contiguous diff and trade ids, uncrossed books, valid SBE, Binance cadences', () => {
    const feed = new MarketFeed({ symbols: ['BTCUSDT'], seed: 9, startTimeUs: START });
    const dec = new spot.SpotStreamDecoder();
    let lastU = -1;
    let lastTradeId = -1;
    let lastBboId = -1;
    const times: Record<string, number[]> = { depth: [], depth20: [] };
    let trades = 0;
    feed.advanceTo(START + 120_000_000, (f) => {
      expect(dec.wrap(f.bytes)).toBe(DecodeStatus.Ok);
      if (f.kind === 'depth') {
        const d = dec.depthDiffStreamEvent;
        if (lastU >= 0) expect(d.firstBookUpdateId).toBe(lastU + 1);
        expect(d.lastBookUpdateId).toBeGreaterThanOrEqual(d.firstBookUpdateId);
        lastU = d.lastBookUpdateId;
        times['depth']!.push(f.timeUs);
      } else if (f.kind === 'trade') {
        const g = dec.tradesStreamEvent.trades();
        while (g.next()) {
          if (lastTradeId >= 0) expect(g.id).toBe(lastTradeId + 1);
          lastTradeId = g.id;
          trades++;
        }
      } else if (f.kind === 'bestBidAsk') {
        const b = dec.bestBidAskStreamEvent;
        expect(b.bidPriceMantissa).toBeLessThan(b.askPriceMantissa);
        expect(b.bookUpdateId).toBeGreaterThan(lastBboId);
        lastBboId = b.bookUpdateId;
      } else {
        const s = dec.depthSnapshotStreamEvent;
        const bids = s.bids();
        const asks = s.asks();
        expect(bids.count).toBe(20);
        expect(asks.count).toBe(20);
        expect(bids.at(0).priceMantissa).toBeLessThan(asks.at(0).priceMantissa);
        times['depth20']!.push(f.timeUs);
      }
    });
    const gaps = (xs: number[]): Set<number> => new Set(xs.slice(1).map((x, i) => (x - xs[i]!) % 20_000));
    expect(gaps(times['depth']!)).toEqual(new Set([0])); // every 20 ms (or a multiple when nothing changed)
    expect(new Set(times['depth20']!.slice(1).map((x, i) => x - times['depth20']![i]!))).toEqual(new Set([50_000]));
    // live BTCUSDT prints roughly 5-50 trades a second
    expect(trades / 120).toBeGreaterThan(5);
    expect(trades / 120).toBeLessThan(200);
  });

  it('is learnable: a linear model on order flow beats "no change" (>55% on non-zero 10 s moves), below the oracle', () => {
    const r = evaluateSignal({ seed: 11, minutes: 40 });
    expect(r.testSamples).toBeGreaterThan(500);
    expect(r.linearAccuracy).toBeGreaterThan(0.55);
    expect(r.oracleAccuracy).toBeGreaterThan(r.linearAccuracy - 0.03);
    expect(r.oracleCorrelation).toBeGreaterThan(r.linearCorrelation);
  });
});

describe('market profiles', () => {
  /** Trades per second and the mean spread in ticks over `seconds` of one feed's BTCUSDT. */
  function look(options: Partial<ConstructorParameters<typeof MarketFeed>[0]>, seconds: number): { hash: string; tradesPerS: number; spreadTicks: number } {
    const feed = new MarketFeed({ symbols: ['BTCUSDT'], seed: 3, startTimeUs: START, ...options });
    const h = createHash('sha256');
    let trades = 0;
    let spread = 0;
    let n = 0;
    for (let t = START + 100_000; t <= START + seconds * 1_000_000; t += 100_000) {
      feed.advanceTo(t, (f) => {
        h.update(f.bytes);
        if (f.kind === 'trade') trades++;
      });
      const book = feed.model('BTCUSDT').book;
      spread += book.bestAsk - book.bestBid;
      n++;
    }
    return { hash: h.digest('hex'), tradesPerS: trades / seconds, spreadTicks: spread / n };
  }

  it('`default` is the market without a profile, byte for byte; explicit params and specs override a profile', () => {
    expect(look({ profile: 'default' }, 20).hash).toBe(look({}, 20).hash);
    expect(look({ profile: 'binance', params: DEFAULT_PARAMS, specs: { BTCUSDT: { takerRate: 4, dailyVol: 0.025 } } }, 20).hash).toBe(look({}, 20).hash);
  });

  it('`binance` (calibrated to the real recordings) quotes a tighter touch with fewer taker orders, same predictability parameters', () => {
    const d = look({}, 120);
    const b = look({ profile: 'binance' }, 120);
    expect(b.spreadTicks).toBeLessThan(d.spreadTicks / 2);
    expect(b.tradesPerS).toBeLessThan(d.tradesPerS);
    expect(MARKET_PROFILES.binance.params.quoteLagSeconds).toBe(DEFAULT_PARAMS.quoteLagSeconds);
    expect(MARKET_PROFILES.binance.params.informedness).toBe(DEFAULT_PARAMS.informedness);
  });
});
