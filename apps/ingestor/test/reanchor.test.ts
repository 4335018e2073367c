/**
 * Re-anchoring through a slow and a failing REST API (exchange-sim's faults,
 * real WebSocket and HTTP, kinesalite): a gap found while a snapshot is in
 * flight is not "repaired" by that snapshot when it is older than the gap —
 * another is fetched; a snapshot that fails is retried.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readStream } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { DecodeStatus, hotpath } from '@hotpath/sbe';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { Ingestor, loadConfig } from '../src/index.ts';
import { checkRepairs } from './support/repairs.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ingestor re-anchoring under REST faults', () => {
  const emu = new KinesisEmulator();
  let sim: ExchangeSimulator;
  let ingestor: Ingestor;
  const envelopes: { kind: number; payload: Buffer }[] = [];

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 20, seed: 5, symbols: ['BTCUSDT'], apiKeys: ['k'], logLevel: 'silent' }));
    await sim.start();
    ingestor = new Ingestor(
      loadConfig({}, { streamUrl: sim.urls.ws, restUrl: sim.urls.rest, symbols: ['BTCUSDT'], apiKey: 'k', kinesisEndpoint: emu.endpoint, port: 0, host: '127.0.0.1', reconnectBaseMs: 20, logLevel: 'silent' }),
      { kinesisClient: emu.client() },
    );
    await ingestor.start();
    const snapshots = async (result: string): Promise<number> =>
      (await ingestor.registry.getMetricsAsJSON()).find((x) => x.name === 'ingestor_snapshots_total')!.values.find((v) => v.labels['result'] === result)?.value ?? 0;
    await vi.waitFor(async () => expect(await snapshots('ok')).toBe(1), { timeout: 10_000 }); // connected and anchored
    // A slow snapshot (computed on arrival, delivered 1.5 s later) and another gap while it is in flight.
    sim.inject({ type: 'restLatency', latencyMs: 1500, forMs: 400 });
    sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 1 });
    await sleep(500);
    sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 2 });
    await vi.waitFor(async () => expect(await snapshots('ok')).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    await sleep(2500); // a second snapshot, if the first was older than the second gap (the contract is checked below)
    // A snapshot that fails: the REST client's own 6 attempts (~6 s of backoff) all answered 503; then it is retried.
    const before = await snapshots('ok');
    sim.inject({ type: 'restFail', status: 503, count: 6 });
    sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 1 });
    await vi.waitFor(async () => expect(await snapshots('failed')).toBe(1), { timeout: 20_000 });
    await vi.waitFor(async () => expect(await snapshots('ok')).toBe(before + 1), { timeout: 10_000 });
    await ingestor.stop();
    await sim.stop();
    const dec = new hotpath.EnvelopeDecoder();
    const seen = new Set<string>();
    for (const r of await readStream(emu.client(), 'market-events')) {
      expect(dec.wrap(r.data)).toBe(DecodeStatus.Ok);
      const key = `${dec.connectionEpoch}:${dec.sequence}`;
      if (seen.has(key)) continue;
      seen.add(key);
      envelopes.push({ kind: dec.kind, payload: Buffer.from(dec.payload()) });
    }
  }, 90_000);
  afterAll(() => emu.stop());

  it('every gap ends repaired by a snapshot that reaches it; a stale one is followed by another, a failed one retried', async () => {
    const r = checkRepairs(envelopes);
    expect(r.unrepairedFrom).toBe(-1);
    expect(r.unreasonedSnapshots).toBe(0);
    const gaps = envelopes.filter((e) => e.kind === hotpath.EnvelopeKind.GapNotice).length;
    expect(gaps).toBeGreaterThanOrEqual(3);
    const m = (await ingestor.registry.getMetricsAsJSON()).find((x) => x.name === 'ingestor_snapshots_total')!;
    const count = (result: string) => m.values.find((v) => v.labels['result'] === result)?.value ?? 0;
    expect(count('failed')).toBe(1);
    expect(count('ok')).toBe(r.snapshots); // every snapshot fetched was published
    expect(r.snapshots).toBeGreaterThanOrEqual(3); // the first, one or two for the early gaps (one when it already reaches the second), the retry after the failure
  });
});
