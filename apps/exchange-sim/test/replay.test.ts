/**
 * Replay of real Binance data (the committed hftbacktest excerpt) through the
 * simulator: original ids on the wire, and a REST snapshot that joins the
 * replayed diff stream, so the documented local-book procedure holds on real data.
 */
import { FIXTURE_SPOT_BTCUSDT, readRecording } from '@hotpath/recordings';
import { DecodeStatus, spot } from '@hotpath/sbe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeSimulator, ReplayFeed, SimConfigSchema } from '../src/index.ts';
import { BookClient } from './support/book-client.ts';

describe('replaying real recordings', () => {
  it('emits every recorded trade and diff as SBE with the original ids, in order', () => {
    const replay = new ReplayFeed([FIXTURE_SPOT_BTCUSDT]);
    const dec = new spot.SpotStreamDecoder();
    const tradeIds: number[] = [];
    const diffs: [number, number][] = [];
    replay.advanceTo(replay.lastTimeUs + 1, (f) => {
      expect(dec.wrap(f.bytes)).toBe(DecodeStatus.Ok);
      if (f.kind === 'trade') {
        const g = dec.tradesStreamEvent.trades();
        while (g.next()) tradeIds.push(g.id);
      } else if (f.kind === 'depth') diffs.push([dec.depthDiffStreamEvent.firstBookUpdateId, dec.depthDiffStreamEvent.lastBookUpdateId]);
    });
    const lines = readRecording(FIXTURE_SPOT_BTCUSDT);
    const wantTrades = lines.filter((l) => l.stream.endsWith('@trade')).map((l) => (l.data as { t: number }).t);
    const wantDiffs = lines.filter((l) => l.stream.includes('@depth')).map((l) => [(l.data as { U: number }).U, (l.data as { u: number }).u]);
    expect(tradeIds).toEqual(wantTrades);
    expect(diffs).toEqual(wantDiffs);
    expect(replay.finished).toBe(true);
  });

  describe('served by the simulator', () => {
    let sim: ExchangeSimulator;
    beforeAll(async () => {
      sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 60, replay: [FIXTURE_SPOT_BTCUSDT], logLevel: 'silent', apiKeys: ['k'] }));
      await sim.start();
    });
    afterAll(async () => sim.stop());

    it('a documented-procedure client stays in sync with the real book for the whole excerpt', async () => {
      const client = new BookClient(sim.urls.ws, sim.urls.rest, 'k');
      await client.connect();
      const replay = sim.feed as ReplayFeed;
      const end = Date.now() + 10_000;
      while (!replay.finished && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      client.close();
      expect(replay.finished).toBe(true);
      expect(client.gaps).toBe(0);
      expect(client.desyncs).toBe(0);
      expect(client.checks).toBeGreaterThan(500);
      expect(client.diffsApplied).toBeGreaterThan(1000);
    });
  });
});
