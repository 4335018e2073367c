/**
 * Finding 1 of issue 14: a restarted ingestor must never be ignored. One
 * ingestor reconnects many times in a burst (faster than one per second),
 * stops, and a second process takes over; the whole stream is then replayed
 * through the aggregator's SymbolProcessor in log order. Only true copies
 * (a retried Kinesis record) may be refused as duplicates: the second
 * process's envelopes are applied.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readStream } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { SymbolProcessor } from '@hotpath/processor';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { Ingestor, ingestorConfigFromEnv } from '../src/index.ts';

const metric = async (ingestor: Ingestor, name: string, labels: Record<string, string> = {}): Promise<number> =>
  (await ingestor.registry.getMetricsAsJSON())
    .find((m) => m.name === name)
    ?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((a, v) => a + v.value, 0) ?? 0;

describe('envelope identity across ingestor restarts', () => {
  const emu = new KinesisEmulator();
  let sim: ExchangeSimulator;
  const records: Buffer[] = [];
  /** Records the first process wrote (the stream read after it stopped). */
  let firstCount = 0;

  const newIngestor = (): Ingestor =>
    new Ingestor(
      ingestorConfigFromEnv(
        {},
        {
          streamUrl: sim.urls.ws,
          restUrl: sim.urls.rest,
          symbols: ['BTCUSDT'],
          apiKey: 'k',
          kinesisEndpoint: emu.endpoint,
          port: 0,
          host: '127.0.0.1',
          reconnectBaseMs: 5,
          reconnectMaxMs: 20,
          resumeTimeoutMs: 60_000,
          stopTimeoutMs: 30_000,
          logLevel: (process.env['TEST_LOG'] ?? 'silent') as 'silent',
        },
      ),
      { kinesisClient: emu.client() },
    );

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 20, seed: 9, symbols: ['BTCUSDT'], apiKeys: ['k'], logLevel: 'silent' }));
    await sim.start();

    const first = newIngestor();
    await first.start();
    const frames = (i: Ingestor): Promise<number> => metric(i, 'ingestor_envelopes_total', { kind: 'stream_frame' });
    await vi.waitFor(async () => expect(await frames(first)).toBeGreaterThan(20), { timeout: 15_000 });
    // a reconnect burst: each close waits for the next connection to be live and delivering
    for (let i = 0; i < 12; i++) {
      const before = await metric(first, 'ingestor_sbe_reconnections_total');
      sim.inject({ type: 'closeConnections' });
      await vi.waitFor(
        async () => {
          expect(await metric(first, 'ingestor_sbe_reconnections_total')).toBeGreaterThan(before);
          expect(first.health().connected).toBe(true);
        },
        { timeout: 10_000 },
      );
    }
    await first.stop();
    firstCount = (await readStream(emu.client(), 'market-events')).length;
    // trades happen while no ingestor runs: the next one must find them missing and backfill them
    const simTrades = async (): Promise<number> =>
      (await sim.registry.getMetricsAsJSON())
        .find((m) => m.name === 'exchange_sim_frames_generated_total')
        ?.values.filter((v) => String(v.labels['stream']).includes('trade'))
        .reduce((a, v) => a + v.value, 0) ?? 0;
    const tradesAtStop = await simTrades();
    await vi.waitFor(async () => expect(await simTrades()).toBeGreaterThan(tradesAtStop + 5), { timeout: 15_000 });

    const second = newIngestor();
    await second.start();
    await vi.waitFor(async () => expect(await frames(second)).toBeGreaterThan(50), { timeout: 15_000 });
    // Every trade gap it saw — the one across the restart, its predecessor's unrepaired ones, its own — is
    // backfilled before it stops: a stop cuts a backfill in flight (its gap notice then waits for the next
    // process), and this test has no next one. (Time on a busy machine: what counts is what it finds.)
    const tradeGaps = async (): Promise<number> =>
      (await metric(second, 'ingestor_sbe_sequence_gaps_total', { kind: 'trade' })) + (await metric(second, 'ingestor_sbe_sequence_gaps_total', { kind: 'trade_unrepaired' }));
    await vi.waitFor(
      async () => {
        expect(await tradeGaps()).toBeGreaterThan(0); // at least the restart's
        expect(await metric(second, 'ingestor_backfills_total', { result: 'complete' })).toBe(await tradeGaps());
      },
      { timeout: 60_000 },
    );
    await second.stop();
    // everything either process published reached Kinesis (a stop deadline passed on a busy machine would lose some)
    expect(await metric(first, 'ingestor_kinesis_user_records_total', { result: 'lost_at_stop' })).toBe(0);
    expect(await metric(second, 'ingestor_kinesis_user_records_total', { result: 'lost_at_stop' })).toBe(0);
    await sim.stop();
    for (const r of await readStream(emu.client(), 'market-events')) records.push(Buffer.from(r.data));
  }, 120_000);

  afterAll(async () => emu.stop());

  it("the processor refuses only true copies, and applies the restarted process's envelopes", () => {
    const p = new SymbolProcessor('BTCUSDT');
    const seen = new Set<string>();
    const dec = new hotpath.EnvelopeDecoder();
    let copies = 0;
    let duplicates = 0;
    let appliedAfterRestart = 0;
    expect(firstCount).toBeGreaterThan(0);
    expect(records.length).toBeGreaterThan(firstCount);
    records.forEach((r, i) => {
      expect(dec.wrap(r)).toBe(DecodeStatus.Ok);
      const key = r.toString('base64');
      if (seen.has(key)) copies++;
      seen.add(key);
      const outcome = p.apply(r, `0:${i}`);
      if (outcome === 'duplicate') duplicates++;
      else if (i >= firstCount) appliedAfterRestart++;
    });
    expect(duplicates).toBe(copies);
    expect(appliedAfterRestart).toBeGreaterThan(50);
    expect(p.identityRegressed).toBe(false);
  });

  it('no trade is lost across the restart: stream trades and backfills cover every id once', () => {
    const dec = new hotpath.EnvelopeDecoder();
    const frame = new spot.SpotStreamDecoder();
    const backfill = new hotpath.TradeBackfillDecoder();
    const seen = new Set<string>();
    const ids: number[] = [];
    for (const r of records) {
      const key = r.toString('base64');
      if (seen.has(key)) continue; // a retried Kinesis record
      seen.add(key);
      expect(dec.wrap(r)).toBe(DecodeStatus.Ok);
      if (dec.kind === hotpath.EnvelopeKind.StreamFrame && frame.wrap(dec.payload()) === DecodeStatus.Ok && frame.templateId === spot.TradesStreamEventDecoder.TEMPLATE_ID) {
        const g = frame.tradesStreamEvent.trades();
        while (g.next()) ids.push(g.id);
      } else if (dec.kind === hotpath.EnvelopeKind.TradeBackfill) {
        expect(backfill.wrap(dec.payload())).toBe(DecodeStatus.Ok);
        expect(backfill.complete).toBe(hotpath.BoolEnum.True);
        const g = backfill.trades();
        while (g.next()) ids.push(g.id);
      }
    }
    const sorted = [...ids].sort((a, b) => a - b);
    expect(new Set(sorted).size).toBe(sorted.length); // none twice
    const holes: string[] = [];
    for (let i = 1; i < sorted.length; i++) if (sorted[i]! !== sorted[i - 1]! + 1) holes.push(`${sorted[i - 1]! + 1}..${sorted[i]! - 1}`);
    expect(holes).toEqual([]); // none missing
  });
});
