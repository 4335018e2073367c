/**
 * What a tick waits for: its claim + read, its model run, its write — not the grading its vector feeds. Grading
 * (the figures over the accuracy window, the economics, the lifecycle's pairs) runs once no tick is in flight: at 50
 * symbols, done inline, it sat between every tick's read and its model run. It still happens, for every tick.
 * Ticks are driven directly (the replica's own schedule is an hour), an hour ahead so its own boundary tick can
 * never be later than theirs. Conditions are waited for, never counted in a window.
 */
import { describe, expect, it, vi } from 'vitest';
import { Feeder, privateRedis, replica } from './harness.ts';

const db = privateRedis();
const WAIT = { timeout: 30_000, interval: 20 };
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'DOGEUSDT'];

describe('the tick path', () => {
  it('a tick of several symbols settles before its vectors are graded; every tick is graded after', async () => {
    await db.redis.flushall();
    const feeders = SYMBOLS.map((s) => new Feeder(db.redis, s).start());
    // a 4 s horizon on ticks 2 s apart: each prediction is graded two ticks later
    const r = replica(db.server.url, { symbols: SYMBOLS, intervalMs: 3_600_000, horizonS: 4 });
    await r.start();
    const service = r.service;
    // per tick, the symbols' ticks not yet settled when the grader is handed that tick
    const unsettled = new Map<number, number>();
    const gradedWhileInFlight: number[] = [];
    const observed: number[] = [];
    const observe = service.grader.observe.bind(service.grader);
    service.grader.observe = (symbol, tickMs, mid, fresh, spreadBps) => {
      if ((unsettled.get(tickMs) ?? 0) > 0) gradedWhileInFlight.push(tickMs);
      observed.push(tickMs);
      observe(symbol, tickMs, mid, fresh, spreadBps);
    };
    try {
      const base = Math.ceil(Date.now() / 2_000) * 2_000 + 3_600_000;
      const TICKS = 8;
      for (let i = 0; i < TICKS; i++) {
        const tickMs = base + i * 2_000;
        unsettled.set(tickMs, SYMBOLS.length);
        const results = await Promise.all(
          SYMBOLS.map((s) =>
            service.tickSymbol(s, tickMs, false).then((res) => {
              unsettled.set(tickMs, unsettled.get(tickMs)! - 1);
              return res;
            }),
          ),
        );
        for (const res of results) expect(res.outcome).toBe('predicted');
        // the write is back before the tick counts it; its timing is reported with the rest
        for (const res of results) expect(res.writeMs).toBeGreaterThan(0);
        // each prediction back over the push channel (the grader's input) before the next tick
        await vi.waitFor(() => {
          for (const s of SYMBOLS) expect(service.latestPrediction(s)?.tickMs).toBe(tickMs);
        }, WAIT);
      }
      // every tick's vector reached the grader, each symbol's once, none while its tick was in flight
      await vi.waitFor(() => expect(observed.length).toBe(TICKS * SYMBOLS.length), WAIT);
      expect(gradedWhileInFlight).toEqual([]);
      // and the grading is what it was: the predictions of all but the last two ticks graded against their target
      for (const s of SYMBOLS) expect(service.accuracy(s).model.n).toBe(TICKS - 2);
    } finally {
      await r.stop();
      for (const f of feeders) f.stop();
    }
  });
});
