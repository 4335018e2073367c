/**
 * Re-anchoring through a slow and a failing REST API (exchange-sim's faults,
 * real WebSocket and HTTP, kinesalite): a gap found while a snapshot is in
 * flight is not "repaired" by that snapshot when it is older than the gap —
 * another is fetched; a snapshot that fails is retried. Each fault is injected
 * once the previous one is repaired, and counted per phase.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readStream } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { DecodeStatus, hotpath } from '@hotpath/sbe';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { Ingestor, ingestorConfigFromEnv } from '../src/index.ts';
import { checkRepairs } from './support/repairs.ts';

describe('ingestor re-anchoring under REST faults', () => {
  const emu = new KinesisEmulator();
  let sim: ExchangeSimulator;
  let ingestor: Ingestor;
  const envelopes: { kind: number; payload: Buffer }[] = [];
  /** The counters after each phase, read once it settled. */
  const phases: { name: string; ok: number; failed: number; gaps: number; diffs: number }[] = [];

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 20, seed: 5, symbols: ['BTCUSDT'], apiKeys: ['k'], logLevel: 'silent' }));
    await sim.start();
    ingestor = new Ingestor(
      ingestorConfigFromEnv(
        {},
        { streamUrl: sim.urls.ws, restUrl: sim.urls.rest, symbols: ['BTCUSDT'], apiKey: 'k', kinesisEndpoint: emu.endpoint, port: 0, host: '127.0.0.1', reconnectBaseMs: 20, logLevel: 'silent' },
      ),
      { kinesisClient: emu.client() },
    );
    await ingestor.start();
    const counters = async () => {
      const m = await ingestor.registry.getMetricsAsJSON();
      const value = (name: string, labels: Record<string, string>): number =>
        m.find((x) => x.name === name)!.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
      return {
        ok: value('ingestor_snapshots_total', { result: 'ok' }),
        failed: value('ingestor_snapshots_total', { result: 'failed' }),
        gaps: value('ingestor_sbe_sequence_gaps_total', { kind: 'depth' }),
        diffs: value('ingestor_sbe_messages_total', { message_type: 'depth_diff' }),
      };
    };
    const depthRequests = async (): Promise<number> =>
      (await sim.registry.getMetricsAsJSON())
        .find((x) => x.name === 'exchange_sim_rest_requests_total')!
        .values.filter((v) => v.labels['endpoint'] === '/api/v3/depth')
        .reduce((n, v) => n + v.value, 0);
    /** Every re-anchor decided and done: a diff has arrived after the last snapshot (whose first diff may ask for another), and no REST work is in flight. */
    const settled = async (): Promise<void> => {
      const before = (await counters()).diffs;
      await vi.waitFor(
        async () => {
          expect((await counters()).diffs).toBeGreaterThan(before);
          expect(ingestor.tracker.pending.size).toBe(0);
        },
        { timeout: 30_000 },
      );
    };
    await vi.waitFor(async () => expect((await counters()).ok).toBeGreaterThanOrEqual(1), { timeout: 30_000 }); // connected and anchored
    await settled();
    phases.push({ name: 'start', ...(await counters()) });

    // A slow snapshot (computed on arrival, answered 3 s later) and another gap while it is in flight: it is older than
    // that gap (computed before the second drop was injected), so it cannot repair it and another is fetched.
    const requests = await depthRequests();
    sim.inject({ type: 'restLatency', latencyMs: 3_000, forMs: 60_000 });
    sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 1 });
    await vi.waitFor(async () => expect(await depthRequests()).toBe(requests + 1), { timeout: 30_000 }); // the snapshot is taken
    sim.inject({ type: 'restLatency', latencyMs: 1, forMs: 1 }); // (later requests answered at once again)
    sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 2 });
    await vi.waitFor(async () => expect((await counters()).gaps).toBe(phases[0]!.gaps + 2), { timeout: 30_000 });
    await vi.waitFor(async () => expect((await counters()).ok).toBe(phases[0]!.ok + 2), { timeout: 30_000 });
    await settled();
    phases.push({ name: 'a gap found while a snapshot older than it is in flight', ...(await counters()) });

    // A snapshot that fails: the REST client's own 6 attempts (~6 s of backoff) all answered 503; then it is retried.
    sim.inject({ type: 'restFail', status: 503, count: 6 });
    sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 1 });
    await vi.waitFor(async () => expect((await counters()).failed).toBe(phases[1]!.failed + 1), { timeout: 30_000 });
    await vi.waitFor(async () => expect((await counters()).ok).toBe(phases[1]!.ok + 1), { timeout: 30_000 });
    await settled();
    phases.push({ name: 'a failed snapshot', ...(await counters()) });
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

  it('each phase: its gaps and exactly the snapshots they needed; a failed one retried', () => {
    const [start, stale, failed] = phases;
    expect(start).toMatchObject({ gaps: 0, failed: 0 });
    expect(start!.ok).toBeGreaterThanOrEqual(1); // (a second when the first is older than the connection's first diff)
    expect({ gaps: stale!.gaps - start!.gaps, ok: stale!.ok - start!.ok, failed: stale!.failed - start!.failed }).toEqual({ gaps: 2, ok: 2, failed: 0 });
    expect({ gaps: failed!.gaps - stale!.gaps, ok: failed!.ok - stale!.ok, failed: failed!.failed - stale!.failed }).toEqual({ gaps: 1, ok: 1, failed: 1 });
  });

  it('every gap ends repaired by a snapshot that reaches it, and every snapshot fetched was published', () => {
    const r = checkRepairs(envelopes);
    expect(r.unrepairedFrom).toBe(-1);
    expect(r.unreasonedSnapshots).toBe(0);
    expect(envelopes.filter((e) => e.kind === hotpath.EnvelopeKind.GapNotice)).toHaveLength(3);
    expect(r.snapshots).toBe(phases.at(-1)!.ok);
  });
});
