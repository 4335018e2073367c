/**
 * REST over the simulated market: shapes, weights, limits, bans and injected
 * failures. On a ManualClock: every request here falls in one rate-limit
 * minute, so the weight, 429 and ban sequence is exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeSimulator, ManualClock } from '../src/index.ts';
import { startClockedSim } from './support/clocked.ts';

describe('REST', () => {
  let sim: ExchangeSimulator;
  let clock: ManualClock;
  let base: string;
  beforeAll(async () => {
    ({ sim, clock } = await startClockedSim({ speed: 50, seed: 3, restWeightPerMinute: 400, banSeconds: 30 }));
    base = sim.urls.rest;
    clock.advance(300); // 15 simulated seconds: some trades to serve
  });
  afterAll(async () => sim.stop());

  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> => {
    const res = await fetch(`${base}${path}`, { headers });
    return { status: res.status, body: await res.json(), headers: res.headers };
  };

  it('exchangeInfo lists the simulated symbols with Binance filters and the rate limits', async () => {
    const r = await get('/api/v3/exchangeInfo');
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('x-mbx-used-weight-1m'))).toBeGreaterThanOrEqual(20); // weight 20 (more if earlier calls share the minute)
    const btc = r.body.symbols.find((s: { symbol: string }) => s.symbol === 'BTCUSDT');
    expect(btc.filters).toContainEqual(expect.objectContaining({ filterType: 'PRICE_FILTER', tickSize: '0.01' }));
    expect(btc.filters).toContainEqual(expect.objectContaining({ filterType: 'LOT_SIZE', stepSize: '0.00001' }));
    expect(r.body.rateLimits[0]).toEqual({ rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 400 });
  });

  it('depth: sorted levels as decimal strings on the tick grid, weight by limit', async () => {
    const r = await get('/api/v3/depth?symbol=BTCUSDT&limit=50');
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('x-mbx-used-weight-1m'))).toBeGreaterThanOrEqual(5); // weight 5 for limit ≤ 100
    expect(r.body.bids).toHaveLength(50);
    const prices = r.body.bids.map(([p]: [string]) => Number(p));
    expect([...prices].sort((a, b) => b - a)).toEqual(prices);
    expect(Number(r.body.bids[0][0])).toBeLessThan(Number(r.body.asks[0][0]));
    for (const [p, q] of [...r.body.bids, ...r.body.asks]) {
      expect(p).toMatch(/^\d+\.\d{8}$/);
      expect(Number(q)).toBeGreaterThan(0);
      expect(Math.round(Number(p) * 100) / 100).toBe(Number(p)); // on the 0.01 tick
    }
    expect(typeof r.body.lastUpdateId).toBe('number');
  });

  it('trades, historicalTrades (fromId) and aggTrades (µs with X-MBX-TIME-UNIT)', async () => {
    const t = await get('/api/v3/trades?symbol=BTCUSDT&limit=5');
    expect(t.body).toHaveLength(5);
    const ids = t.body.map((x: { id: number }) => x.id);
    expect(ids).toEqual([ids[0], ids[0] + 1, ids[0] + 2, ids[0] + 3, ids[0] + 4]);
    expect(t.body[0]).toEqual(expect.objectContaining({ isBestMatch: true, price: expect.stringMatching(/^\d+\.\d{8}$/) }));
    const h = await get(`/api/v3/historicalTrades?symbol=BTCUSDT&limit=3&fromId=${ids[1]}`);
    expect(h.body.map((x: { id: number }) => x.id)).toEqual([ids[1], ids[1] + 1, ids[1] + 2]);
    const a = await get('/api/v3/aggTrades?symbol=BTCUSDT&limit=2', { 'X-MBX-TIME-UNIT': 'MICROSECOND' });
    expect(a.body[0].T).toBeGreaterThan(1e15);
    expect(a.body[0].l).toBeGreaterThanOrEqual(a.body[0].f);
  });

  it('rejects unknown symbols and missing parameters with Binance error codes', async () => {
    expect((await get('/api/v3/depth?symbol=NOPE')).body.code).toBe(-1121);
    expect((await get('/api/v3/depth')).body.code).toBe(-1102);
  });

  it('injected REST failures: 503 then normal service', async () => {
    sim.inject({ type: 'restFail', status: 503, count: 1 });
    expect((await get('/api/v3/ping')).status).toBe(503);
    expect((await get('/api/v3/ping')).status).toBe(200);
    expect(sim.faults.injected.get('restFail')).toBe(1);
  });

  it('past the weight limit: 429 with Retry-After; keep going: 418 ban', async () => {
    let status = 200;
    let retryAfter: string | null = null;
    for (let i = 0; i < 40 && status === 200; i++) {
      const r = await get('/api/v3/depth?symbol=BTCUSDT&limit=500'); // weight 25
      status = r.status;
      retryAfter = r.headers.get('retry-after');
    }
    expect(status).toBe(429);
    // The clock started on a minute and moved 300 ms: the window resets in 59.7 s.
    expect(retryAfter).toBe(String(Math.ceil((60_000 - (clock.now() % 60_000)) / 1000)));
    expect(retryAfter).toBe('60');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await get('/api/v3/depth?symbol=BTCUSDT&limit=500')).status);
    expect(statuses).toEqual([429, 429, 418]); // the fourth request while limited is banned
    const banned = await get('/api/v3/ping');
    expect(banned.status).toBe(418);
    expect(banned.headers.get('retry-after')).toBe('30');
  });
});
