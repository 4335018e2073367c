/**
 * Every fault through the admin HTTP API, observed by a client and counted in
 * /metrics. The simulator runs on a ManualClock: the market moves only when a
 * test advances it, so each fault is asserted by what reaches the client and
 * in which order, against the frames the same seeded market makes unfaulted.
 */
import { MarketFeed, type Frame, type StreamKind } from '@hotpath/market';
import { DecodeStatus, spot } from '@hotpath/sbe';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { simConfigFromEnv, ExchangeSimulator, ManualClock } from '../src/index.ts';
import { START_US, startClockedSim, StreamProbe } from './support/clocked.ts';
import { metric, metricsText } from './support/prometheus.ts';

const SPEED = 20;
const SEED = 4;
const KEY = 'k';

/** Simulated time (µs) the market has reached once the clock has advanced `clockMs` past start. */
const simUsAt = (clockMs: number): number => START_US + clockMs * 1000 * SPEED;

/** The frames of one BTCUSDT stream the market makes in the first `clockMs`: what a subscriber from the start receives without faults. */
function unfaulted(kind: StreamKind, clockMs: number): Frame[] {
  const feed = new MarketFeed({ symbols: ['BTCUSDT'], seed: SEED, startTimeUs: START_US });
  const frames: Frame[] = [];
  feed.advanceTo(simUsAt(clockMs), (f) => void (f.kind === kind && frames.push(f)));
  return frames;
}

const hex = (frames: readonly Buffer[]): string[] => frames.map((b) => b.toString('hex'));

describe('fault injection', () => {
  let sim: ExchangeSimulator;
  let clock: ManualClock;
  // A fresh market per test: each compares against the unfaulted market from its start.
  beforeEach(async () => ({ sim, clock } = await startClockedSim({ speed: SPEED, seed: SEED, maxIncomingPerSecond: 1000 })));
  afterEach(async () => sim.stop());

  const admin = async (fault: object): Promise<number> =>
    (await fetch(`${sim.urls.rest}/admin/faults`, { method: 'POST', body: JSON.stringify(fault), headers: { 'content-type': 'application/json' } })).status;
  const injected = async (fault: string): Promise<number> => metric(await metricsText(sim.urls.rest), 'exchange_sim_faults_injected_total', { fault });
  const subscribe = (stream: string): Promise<StreamProbe> => StreamProbe.open(`${sim.urls.ws}/ws/${stream}`, KEY);
  /** A BTCUSDT subscriber from the start that, `ms` into the run, has received exactly the unfaulted market's frames. */
  const subscribedFor = async (kind: StreamKind, ms: number): Promise<StreamProbe> => {
    const probe = await subscribe(`btcusdt@${kind}`);
    clock.advance(ms);
    await probe.barrier();
    expect(hex(probe.frames)).toEqual(hex(unfaulted(kind, ms).map((f) => f.bytes)));
    return probe;
  };

  it('rejects an unknown fault with 400', async () => {
    expect(await admin({ type: 'meteor' })).toBe(400);
  });

  it('dropTrades leaves out exactly the next trade events; the ones after follow unchanged', async () => {
    const probe = await subscribedFor('trade', 500);
    const before = probe.frames.length;

    expect(await admin({ type: 'dropTrades', symbol: 'BTCUSDT', count: 3 })).toBe(200);
    clock.advance(500);
    await probe.barrier();
    const all = unfaulted('trade', 1000).map((f) => f.bytes);
    expect(all.length).toBeGreaterThan(before + 3);
    expect(hex(probe.frames)).toEqual(hex([...all.slice(0, before), ...all.slice(before + 3)]));
    // On the wire: one hole in the trade ids, as many ids wide as the three events held.
    const ids = tradeIds(probe.frames);
    const holes = ids.slice(1).filter((id, i) => id !== ids[i]! + 1);
    expect(holes).toEqual([tradeIds(all.slice(before + 3, before + 4))[0]]);
    expect(await injected('dropTrades')).toBe(3);
    probe.close();
  });

  it('duplicate, malformed and truncated frames follow the real frame they were armed for', async () => {
    const probe = await subscribedFor('bestBidAsk', 200);
    const before = probe.frames.length;

    await admin({ type: 'duplicate', count: 2 });
    await admin({ type: 'malformed', count: 2 });
    await admin({ type: 'truncated', count: 2 });
    clock.advance(200);
    await probe.barrier();
    const all = unfaulted('bestBidAsk', 400).map((f) => f.bytes);
    const got = probe.frames.slice(before);
    const dec = new spot.SpotStreamDecoder();
    for (let i = 0; i < 2; i++) {
      const real = all[before + i]!;
      const [first, again, garbage, truncated] = got.slice(i * 4, i * 4 + 4);
      expect(first?.equals(real), `frame ${i}: the real frame`).toBe(true);
      expect(again?.equals(real), `frame ${i}: its duplicate`).toBe(true);
      expect(garbage?.length, `frame ${i}: noise as long as it`).toBe(real.length);
      expect(garbage?.equals(real), `frame ${i}: noise, not the frame`).toBe(false);
      expect(truncated?.equals(real.subarray(0, real.length >> 1)), `frame ${i}: its first half`).toBe(true);
      expect(dec.wrap(truncated!)).not.toBe(DecodeStatus.Ok);
    }
    // Armed faults used up: the stream carries on with the next real frames, each once.
    expect(hex(got.slice(8))).toEqual(hex(all.slice(before + 2)));
    expect(await injected('duplicate')).toBe(2);
    expect(await injected('malformed')).toBe(2);
    expect(await injected('truncated')).toBe(2);
    probe.close();
  });

  it('oversized sends a real frame again, zero-padded past one Kinesis record', async () => {
    const probe = await subscribe('btcusdt@bestBidAsk');
    expect(await admin({ type: 'oversized', count: 1, bytes: 1_500_000 })).toBe(200);
    clock.advance(100);
    await probe.barrier();
    const at = probe.frames.findIndex((f) => f.length === 1_500_000);
    expect(at).toBeGreaterThan(0);
    const real = probe.frames[at - 1]!;
    expect(probe.frames[at]!.subarray(0, real.length).equals(real)).toBe(true);
    expect(probe.frames[at]!.subarray(real.length).every((b) => b === 0)).toBe(true);
    expect(probe.frames.filter((f) => f.length === 1_500_000)).toHaveLength(1);
    expect(await admin({ type: 'oversized', count: 1, bytes: 64 * 1024 * 1024 })).toBe(400); // bounded
    probe.close();
  });

  it('stall sends nothing until the clock passes it, then resumes with the frames that follow; closeConnections ends the stream', async () => {
    const probe = await subscribedFor('trade', 500);
    const before = probe.frames.length;

    expect(await admin({ type: 'stall', ms: 300 })).toBe(200); // armed at 500 ms: until 800 ms
    clock.advance(299);
    await probe.barrier();
    expect(probe.frames).toHaveLength(before); // the market ran; the socket stayed open and silent

    clock.advance(201);
    await probe.barrier();
    const all = unfaulted('trade', 1000);
    const resumed = probe.frames.slice(before);
    expect(resumed.length).toBeGreaterThan(0);
    // The frames after the stall are the market's last ones, unchanged and in order; what was lost lies inside the stall.
    expect(hex(resumed)).toEqual(hex(all.slice(all.length - resumed.length).map((f) => f.bytes)));
    const lost = all.slice(before, all.length - resumed.length);
    expect(lost.length).toBeGreaterThan(0);
    for (const f of lost) expect(f.timeUs >= simUsAt(500) && f.timeUs < simUsAt(800), `lost frame at ${f.timeUs}`).toBe(true);
    expect(await injected('stall')).toBe(1);

    expect(await admin({ type: 'closeConnections' })).toBe(200);
    await vi.waitFor(() => expect(probe.closed?.code).toBe(1001), { timeout: 10_000 });
    expect(await injected('closeConnections')).toBe(1);
  });

  it('freeze holds the book while the market clock runs, and releases it when the clock passes the freeze', async () => {
    const depthId = async (): Promise<number> => ((await (await fetch(`${sim.urls.rest}/api/v3/depth?symbol=BTCUSDT&limit=5`)).json()) as { lastUpdateId: number }).lastUpdateId;
    clock.advance(100);
    const frozenAt = await depthId();
    expect(await admin({ type: 'freeze', symbol: 'BTCUSDT', ms: 300 })).toBe(200); // until 400 ms
    const simBefore = sim.feed.simTimeUs;
    clock.advance(299);
    expect(sim.feed.simTimeUs).toBeGreaterThan(simBefore);
    expect(await depthId()).toBe(frozenAt);
    clock.advance(101);
    expect(await depthId()).toBeGreaterThan(frozenAt);
    expect(await injected('freeze')).toBe(1);
  });

  it('restLatency holds each REST answer until the clock has moved by the latency', async () => {
    expect(await admin({ type: 'restLatency', latencyMs: 200, forMs: 1000 })).toBe(200);
    let answeredAtMs: number | undefined;
    const origin = clock.now();
    const ping = fetch(`${sim.urls.rest}/api/v3/ping`).then((r) => {
      answeredAtMs = clock.now() - origin;
      return r.status;
    });
    // Once the ping is counted, an answer not held back would have been written before this scrape was even asked.
    await vi.waitFor(async () => expect(metric(await metricsText(sim.urls.rest), 'exchange_sim_rest_requests_total', { endpoint: '/api/v3/ping' })).toBe(1), { timeout: 10_000 });
    expect(answeredAtMs).toBeUndefined();
    clock.advance(199);
    await metricsText(sim.urls.rest);
    expect(answeredAtMs).toBeUndefined();
    clock.advance(1);
    expect(await ping).toBe(200);
    expect(answeredAtMs).toBe(200);
    expect(await injected('restLatency')).toBe(1);
    // Past forMs the latency is gone: answered with the clock standing still.
    clock.advance(1000);
    expect((await fetch(`${sim.urls.rest}/api/v3/ping`)).status).toBe(200);
  });
});

describe('faults from config', () => {
  it('SIM_FAULTS schedules faults in simulated time', async () => {
    const config = simConfigFromEnv(
      {
        SIM_FAULTS: JSON.stringify([
          { atSeconds: 2, fault: { type: 'restFail', status: 500, count: 1 } },
          { atSeconds: 0, fault: { type: 'duplicate', count: 1 } },
        ]),
      },
      { port: 0, speed: 20, logLevel: 'silent' },
    );
    expect(config.faults.map((f) => f.fault.type)).toEqual(['restFail', 'duplicate']);
    const clock = new ManualClock();
    const sim = new ExchangeSimulator(config, { clock });
    await sim.start();
    try {
      expect((await fetch(`${sim.urls.rest}/api/v3/ping`)).status).toBe(200);
      clock.advance(90); // 1.8 simulated seconds: only the fault at 0 s has fired
      expect(sim.faults.duplicate).toBe(1);
      expect((await fetch(`${sim.urls.rest}/api/v3/ping`)).status).toBe(200);
      clock.advance(20); // 2.2 simulated seconds
      expect((await fetch(`${sim.urls.rest}/api/v3/ping`)).status).toBe(500);
      expect((await fetch(`${sim.urls.rest}/api/v3/ping`)).status).toBe(200);
    } finally {
      await sim.stop();
    }
    expect(() => simConfigFromEnv({ SIM_FAULTS: '[{"fault":{"type":"nope"}}]' })).toThrow(/\n {2}SIM_FAULTS\[0\]\.fault\.type: Invalid discriminator value/);
    expect(() => simConfigFromEnv({ SIM_FAULTS: 'nope' }, {}, { port: 'x' })).toThrow(/:\n {2}--port: Expected number, received nan \(got "x"\)\n {2}SIM_FAULTS: not valid JSON \(got "nope"\)$/);
  });
});

function tradeIds(frames: readonly Buffer[]): number[] {
  const dec = new spot.TradesStreamEventDecoder();
  const ids: number[] = [];
  for (const f of frames) {
    if (dec.wrap(f) !== DecodeStatus.Ok) throw new Error(`not a TradesStreamEvent: ${f.toString('hex')}`);
    const g = dec.trades();
    while (g.next()) ids.push(g.id);
  }
  return ids;
}
