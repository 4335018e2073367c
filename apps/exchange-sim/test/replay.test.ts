/**
 * Replay of real Binance data (the committed hftbacktest excerpt) through the
 * simulator: original ids on the wire, and a REST snapshot that joins the
 * replayed diff stream, so the documented local-book procedure holds on real data.
 * The served replays run on a ManualClock that starts moving only once the
 * client has subscribed and synced: it sees the recording from its first event.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplayFeed } from '@hotpath/market';
import { CaptureWriter, FIXTURE_SPOT_BTCUSDT, readRecording } from '@hotpath/recordings';
import { BinanceJsonTranscoder, DecodeStatus, classifyPayload, hotpath, spot, type JsonBookTicker, type JsonDepthSnapshot, type JsonDepthUpdate, type JsonTrade } from '@hotpath/sbe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ExchangeSimulator, ManualClock } from '../src/index.ts';
import { BookClient } from './support/book-client.ts';
import { startClockedSim } from './support/clocked.ts';

/** The excerpt's lines, read once for every test here (each read decompresses and parses it again). */
const FIXTURE_LINES = readRecording(FIXTURE_SPOT_BTCUSDT);

/** Replays at 60x: 100 ms of clock are 6 s of the recording. */
const SPEED = 60;

async function startReplay(file: string): Promise<{ sim: ExchangeSimulator; clock: ManualClock }> {
  // A barrier after every step of the clock: more control messages per clock second than Binance's 5.
  return startClockedSim({ speed: SPEED, replay: [file], apiKeys: ['k'], maxIncomingPerSecond: 1000 });
}

/** Runs a documented-procedure client over the whole replay: the clock starts once it is synced, and each step is handled before the next. */
async function followReplay(sim: ExchangeSimulator, clock: ManualClock): Promise<BookClient> {
  const client = new BookClient(sim.urls.ws, sim.urls.rest, 'k');
  await client.connect();
  await vi.waitFor(() => expect(client.isSynced).toBe(true), { timeout: 10_000 });
  const replay = sim.feed as ReplayFeed;
  expect(replay.simTimeUs).toBe(replay.firstTimeUs); // nothing replayed before the client was there
  while (!replay.finished) {
    clock.advance(100);
    await client.barrier();
  }
  client.close();
  return client;
}

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
    const lines = FIXTURE_LINES;
    const wantTrades = lines.filter((l) => l.stream.endsWith('@trade')).map((l) => (l.data as { t: number }).t);
    const wantDiffs = lines.filter((l) => l.stream.includes('@depth')).map((l) => [(l.data as { U: number }).U, (l.data as { u: number }).u]);
    expect(tradeIds).toEqual(wantTrades);
    expect(diffs).toEqual(wantDiffs);
    expect(replay.finished).toBe(true);
  });

  describe('served by the simulator', () => {
    let sim: ExchangeSimulator;
    let clock: ManualClock;
    beforeAll(async () => ({ sim, clock } = await startReplay(FIXTURE_SPOT_BTCUSDT)));
    afterAll(async () => sim.stop());

    it('a documented-procedure client stays in sync with the real book for the whole excerpt', async () => {
      const client = await followReplay(sim, clock);
      expect((sim.feed as ReplayFeed).finished).toBe(true);
      // Every recorded diff reached the client, from the first on.
      const diffs = FIXTURE_LINES.filter((l) => l.stream.includes('@depth')).length;
      expect(client.diffsReceived).toBe(diffs);
      expect(client.gaps).toBe(0);
      expect(client.desyncs).toBe(0);
      expect(client.checks).toBeGreaterThan(500);
      expect(client.diffsApplied).toBeGreaterThan(1000);
    });
  });
});

describe('replaying ingestor captures and archive CSVs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));

  /** A capture as the ingestor would write it: every real frame as received, plus the REST snapshot. */
  function captureFromFixture(): { path: string; payloads: Buffer[] } {
    const transcoder = new BinanceJsonTranscoder();
    const w = new CaptureWriter();
    const buf = Buffer.alloc(256 * 1024);
    const payloads: Buffer[] = [];
    let seq = 0;
    for (const l of FIXTURE_LINES) {
      const t = Math.floor(l.localTime / 1000);
      const kind = classifyPayload(l.data);
      let n = 0;
      let envelopeKind: number = hotpath.EnvelopeKind.StreamFrame;
      if (kind === 'trade') n = transcoder.encodeTrade(l.data as JsonTrade, buf);
      else if (kind === 'bookTicker') n = transcoder.encodeBookTicker(l.data as JsonBookTicker, t, buf);
      else if (kind === 'depthUpdate') n = transcoder.encodeDepthUpdate(l.data as JsonDepthUpdate, buf);
      else if (kind === 'depthSnapshot') {
        n = transcoder.encodeDepthSnapshot('BTCUSDT', l.data as JsonDepthSnapshot, t, t, buf);
        envelopeKind = hotpath.EnvelopeKind.DepthSnapshot;
      }
      const payload = Buffer.from(buf.subarray(0, n));
      if (envelopeKind === hotpath.EnvelopeKind.StreamFrame) payloads.push(payload);
      w.add({ receiveTimeUs: t, sequence: ++seq, connectionEpoch: 1, kind: envelopeKind, symbol: 'BTCUSDT', payload });
    }
    const path = join(dir, 'session.capture.gz');
    w.writeFile(path);
    return { path, payloads };
  }

  it('a capture replays its frames byte for byte, and a client keeps the book in sync', async () => {
    const { path, payloads } = captureFromFixture();
    const replay = new ReplayFeed([path]);
    const sent: Buffer[] = [];
    let diffs = 0;
    replay.advanceTo(replay.lastTimeUs + 1, (f) => {
      if (f.kind !== 'depth20') sent.push(f.bytes);
      if (f.kind === 'depth') diffs++;
    });
    expect(sent.length).toBe(payloads.length);
    expect(sent.every((b, i) => b.equals(payloads[i]!))).toBe(true);

    const { sim, clock } = await startReplay(path);
    const client = await followReplay(sim, clock).finally(() => sim.stop());
    expect(client.diffsReceived).toBe(diffs);
    expect(client.gaps).toBe(0);
    expect(client.desyncs).toBe(0);
    expect(client.checks).toBeGreaterThan(500);
  });

  it('an archive trades CSV becomes TradesStreamEvents with the original ids, prices and times', () => {
    const csv = join(dir, 'BTCUSDT-trades-2024-08-08.csv');
    writeFileSync(csv, '3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True\n3735683260,61837.64000000,0.04800000,2968.20672000,1723161255619,False,True\n');
    const replay = new ReplayFeed([csv]);
    const dec = new spot.TradesStreamEventDecoder();
    const got: unknown[] = [];
    replay.advanceTo(replay.lastTimeUs + 1, (f) => {
      expect(dec.wrap(f.bytes)).toBe(DecodeStatus.Ok);
      const g = dec.trades();
      g.next();
      got.push([g.id, g.priceDecimal(), g.qtyDecimal(), g.isBuyerMaker, dec.transactTime]);
    });
    expect(got).toEqual([
      [3735683259, '61837.63000000', '0.02000000', 1, 1723161255342000],
      [3735683260, '61837.64000000', '0.04800000', 0, 1723161255619000],
    ]);
  });
});
