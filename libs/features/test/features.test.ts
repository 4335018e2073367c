/** The feature library on real recorded data and against naive recomputation. */
import fc from 'fast-check';
import { FIXTURE_SPOT_BTCUSDT, readRecording } from '@hotpath/recordings';
import {
  BinanceJsonTranscoder,
  DecodeStatus,
  classifyPayload,
  decimalStringToMantissa,
  hotpath,
  spot,
  type JsonBookTicker,
  type JsonDepthSnapshot,
  type JsonDepthUpdate,
  type JsonTrade,
} from '@hotpath/sbe';
import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SCHEMA_HASH, FeatureEngine, RollingSums } from '../src/index.ts';

/** Replays the fixture through SBE frames into an engine; calls `sample` every 2 s of event time. */
function replay(onBookTicker?: (engine: FeatureEngine, t: JsonBookTicker) => void, sample?: (engine: FeatureEngine, t: number) => void, afterDiff?: (engine: FeatureEngine) => void) {
  const engine = new FeatureEngine('BTCUSDT');
  const tr = new BinanceJsonTranscoder();
  const buf = Buffer.alloc(256 * 1024);
  const dec = new spot.SpotStreamDecoder();
  const snap = new hotpath.DepthSnapshotDecoder();
  const results: Record<string, number> = {};
  let nextSample = 0;
  for (const l of readRecording(FIXTURE_SPOT_BTCUSDT)) {
    const kind = classifyPayload(l.data);
    if (kind === 'depthSnapshot') {
      const n = tr.encodeDepthSnapshot('BTCUSDT', l.data as JsonDepthSnapshot, 0, 0, buf);
      expect(snap.wrap(buf, 0, n)).toBe(DecodeStatus.Ok);
      expect(engine.applySnapshot(snap, engine.eventTimeUs)).toBe('applied'); // joins the diffs buffered before it
      continue;
    }
    if (kind === 'bookTicker') {
      onBookTicker?.(engine, l.data as JsonBookTicker);
      continue;
    }
    const n = kind === 'trade' ? tr.encodeTrade(l.data as JsonTrade, buf) : tr.encodeDepthUpdate(l.data as JsonDepthUpdate, buf);
    expect(dec.wrap(buf, 0, n)).toBe(DecodeStatus.Ok);
    if (kind === 'trade') engine.applyTrades(dec.tradesStreamEvent);
    else {
      const r = engine.applyDiff(dec.depthDiffStreamEvent);
      results[r] = (results[r] ?? 0) + 1;
      afterDiff?.(engine);
    }
    if (sample !== undefined && engine.eventTimeUs >= nextSample) {
      if (nextSample > 0) sample(engine, nextSample);
      nextSample = (Math.floor(engine.eventTimeUs / 2_000_000) + 1) * 2_000_000;
    }
  }
  return { engine, results };
}

describe('LocalBook on real Binance data', () => {
  it('snapshot + diffs reproduce every best bid/ask Binance published at the same update id', () => {
    // bookTicker u is one update id; a diff ends at u when it closes the same 100 ms batch
    const tickers = new Map<number, JsonBookTicker>();
    let matched = 0;
    const { results } = replay(
      (_engine, t) => {
        tickers.set(t.u, t);
        if (tickers.size > 5000) tickers.delete(tickers.keys().next().value!);
      },
      undefined,
      (engine) => {
        const t = tickers.get(engine.book.lastUpdateId);
        if (t === undefined) return;
        matched++;
        expect([engine.book.bestBid, engine.book.bestBidQty, engine.book.bestAsk, engine.book.bestAskQty]).toEqual([
          decimalStringToMantissa(t.b, -8),
          decimalStringToMantissa(t.B, -8),
          decimalStringToMantissa(t.a, -8),
          decimalStringToMantissa(t.A, -8),
        ]);
      },
    );
    expect(matched).toBeGreaterThan(100);
    expect(results['gap'] ?? 0).toBe(0);
    expect(results['applied']).toBeGreaterThan(1300);
  });
});

describe('RollingSums', () => {
  it('matches a naive recomputation at every query (random event times, values, query times), reads never mutating', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000_000 }), fc.double({ min: -5, max: 5, noNaN: true })), { maxLength: 300 }),
        fc.array(fc.integer({ min: 0, max: 4_000_000 }), { minLength: 1, maxLength: 20 }),
        (raw, queries) => {
          const windows = [100_000, 1_000_000, 2_500_000];
          const events = raw.map(([t, v]) => ({ t, v })).sort((a, b) => a.t - b.t);
          const all = [...events.map((e) => ({ at: e.t, e })), ...queries.sort((a, b) => a - b).map((q) => ({ at: q, e: undefined }))].sort((a, b) => a.at - b.at || (a.e === undefined ? 1 : -1));
          const rs = new RollingSums(windows, 1, 4); // tiny capacity: growth is exercised
          const seen: { t: number; v: number }[] = [];
          for (const step of all) {
            if (step.e !== undefined) {
              rs.push(step.e.t, [step.e.v]);
              seen.push(step.e);
              continue;
            }
            const q = new Float64Array(4);
            windows.forEach((w, i) => {
              rs.query(i, step.at, q);
              const inside = seen.filter((e) => e.t > step.at - w);
              const leftBefore = seen.filter((e) => e.t <= step.at - w);
              expect(q[0]).toBe(inside.length);
              expect(q[1]).toBeCloseTo(
                inside.reduce((a, e) => a + e.v, 0),
                6,
              );
              expect(q[3]).toBe(inside[0]?.v ?? Number.NaN);
              expect(q[2]).toBe(leftBefore[leftBefore.length - 1]?.v ?? Number.NaN);
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('FeatureEngine', () => {
  it('the feature set is named, counted and hashed', () => {
    // 9 per-window features x 5 windows, 8 book/trade-state features, OFI x 3, the discontinuity flag
    expect(FEATURE_COUNT).toBe(57);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_COUNT);
    expect(FEATURE_NAMES).toContain('ofi_10s');
    expect(FEATURE_NAMES).toContain('realized_vol_bps_60s');
    expect(FEATURE_SCHEMA_HASH).toMatch(/^[0-9a-f]{16}$/);
    expect(FEATURE_NAMES).toContain('ofi_5s');
    expect(FEATURE_NAMES).toContain('book_imbalance_10');
  });

  it('a replay is exact: the same events give the same vectors, bit for bit, with sane values', () => {
    const collect = (): Float64Array[] => {
      const out: Float64Array[] = [];
      replay(undefined, (engine, t) => out.push(engine.compute(t, new Float64Array(FEATURE_COUNT))));
      return out;
    };
    const a = collect();
    const b = collect();
    expect(a.length).toBeGreaterThan(50);
    expect(a.map((v) => Buffer.from(v.buffer).toString('hex'))).toEqual(b.map((v) => Buffer.from(v.buffer).toString('hex')));
    const at = (v: Float64Array, name: string): number => v[FEATURE_NAMES.indexOf(name)]!;
    const last = a[a.length - 1]!;
    expect(at(last, 'spread_bps')).toBeGreaterThanOrEqual(0);
    expect(at(last, 'spread_bps')).toBeLessThan(5);
    expect(Math.abs(at(last, 'book_imbalance_5'))).toBeLessThanOrEqual(1);
    expect(at(last, 'trade_count_60s')).toBeGreaterThan(10);
    expect(at(last, 'trade_count_60s')).toBeGreaterThanOrEqual(at(last, 'trade_count_10s'));
    expect(at(last, 'depth_10bps_bid')).toBeGreaterThan(0);
    expect(at(last, 'realized_vol_bps_60s')).toBeGreaterThan(0);
  });
});

describe('FeatureEngine state checkpoints', () => {
  it('restore(serialize(e)) mid-stream continues bit for bit like the uninterrupted engine', () => {
    const tr = new BinanceJsonTranscoder();
    const buf = Buffer.alloc(256 * 1024);
    const dec = new spot.SpotStreamDecoder();
    const snap = new hotpath.DepthSnapshotDecoder();
    const lines = readRecording(FIXTURE_SPOT_BTCUSDT);
    const a = new FeatureEngine('BTCUSDT');
    let b: FeatureEngine | undefined;
    const va: string[] = [];
    const vb: string[] = [];
    let nextSample = 0;
    lines.forEach((l, i) => {
      if (i === 7000) {
        const state = a.serialize();
        expect(state.length).toBeLessThan(2_000_000);
        b = FeatureEngine.restore('BTCUSDT', state);
        expect(b.serialize().equals(state)).toBe(true);
      }
      const kind = classifyPayload(l.data);
      const engines = b === undefined ? [a] : [a, b];
      if (kind === 'depthSnapshot') {
        const n = tr.encodeDepthSnapshot('BTCUSDT', l.data as JsonDepthSnapshot, 0, 0, buf);
        snap.wrap(buf, 0, n);
        for (const e of engines) e.applySnapshot(snap, e.eventTimeUs);
        return;
      }
      if (kind !== 'trade' && kind !== 'depthUpdate') return;
      const n = kind === 'trade' ? tr.encodeTrade(l.data as JsonTrade, buf) : tr.encodeDepthUpdate(l.data as JsonDepthUpdate, buf);
      dec.wrap(buf, 0, n);
      for (const e of engines) kind === 'trade' ? e.applyTrades(dec.tradesStreamEvent) : e.applyDiff(dec.depthDiffStreamEvent);
      if (a.eventTimeUs >= nextSample) {
        if (nextSample > 0 && b !== undefined) {
          va.push(Buffer.from(a.compute(nextSample, new Float64Array(FEATURE_COUNT)).buffer).toString('hex'));
          vb.push(Buffer.from(b.compute(nextSample, new Float64Array(FEATURE_COUNT)).buffer).toString('hex'));
        }
        nextSample = (Math.floor(a.eventTimeUs / 2_000_000) + 1) * 2_000_000;
      }
    });
    expect(va.length).toBeGreaterThan(20);
    expect(vb).toEqual(va);
    expect(b!.serialize().equals(a.serialize())).toBe(true);
    const restored = FeatureEngine.restore('BTCUSDT', a.serialize());
    expect(restored.serialize().equals(a.serialize())).toBe(true);
    expect(() => FeatureEngine.restore('BTCUSDT', a.serialize().subarray(0, 100))).toThrow(/truncated/);
    expect(() => FeatureEngine.restore('BTCUSDT', Buffer.from('nope nope nope'))).toThrow(/magic/);
  });
});
