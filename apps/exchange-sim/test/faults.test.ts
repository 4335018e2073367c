/** Every fault through the admin HTTP API, observed by a client and counted in /metrics. */
import { DecodeStatus, spot } from '@hotpath/sbe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ExchangeSimulator, SimConfigSchema } from '../src/index.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('fault injection', () => {
  let sim: ExchangeSimulator;
  beforeAll(async () => {
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 20, seed: 4, logLevel: 'silent', pingIntervalMs: 5000 }));
    await sim.start();
  });
  afterAll(async () => sim.stop());

  const admin = async (fault: object): Promise<number> =>
    (await fetch(`${sim.urls.rest}/admin/faults`, { method: 'POST', body: JSON.stringify(fault), headers: { 'content-type': 'application/json' } })).status;

  /** Collects binary frames of one stream for `ms`. */
  const collect = async (stream: string, ms: number, during?: () => Promise<void>): Promise<Buffer[]> => {
    const ws = new WebSocket(`${sim.urls.ws}/ws/${stream}`, { headers: { 'X-MBX-APIKEY': 'k' } });
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer, bin) => bin && frames.push(d));
    await new Promise((r) => ws.once('open', r));
    if (during) await during();
    await sleep(ms);
    ws.close();
    return frames;
  };

  it('rejects an unknown fault with 400', async () => {
    expect(await admin({ type: 'meteor' })).toBe(400);
  });

  it('dropTrades leaves a hole in the trade ids', async () => {
    const frames = await collect('btcusdt@trade', 600, async () => {
      await sleep(150);
      expect(await admin({ type: 'dropTrades', symbol: 'BTCUSDT', count: 3 })).toBe(200);
    });
    const dec = new spot.TradesStreamEventDecoder();
    const ids: number[] = [];
    for (const f of frames) {
      expect(dec.wrap(f)).toBe(DecodeStatus.Ok);
      const g = dec.trades();
      while (g.next()) ids.push(g.id);
    }
    const holes = ids.slice(1).filter((id, i) => id !== ids[i]! + 1).length;
    expect(holes).toBeGreaterThanOrEqual(1);
  });

  it('duplicate, malformed and truncated frames reach the client', async () => {
    const frames = await collect('btcusdt@bestBidAsk', 500, async () => {
      await sleep(100);
      await admin({ type: 'duplicate', count: 2 });
      await admin({ type: 'malformed', count: 2 });
      await admin({ type: 'truncated', count: 2 });
    });
    const dec = new spot.SpotStreamDecoder();
    const statuses = frames.map((f) => dec.wrap(f));
    expect(statuses.filter((s) => s !== DecodeStatus.Ok).length).toBeGreaterThanOrEqual(3); // garbage may, rarely, still parse
    const hex = frames.map((f) => f.toString('hex'));
    expect(hex.length - new Set(hex).size).toBeGreaterThanOrEqual(2);
  });

  it('oversized sends a real frame again, zero-padded past one Kinesis record', async () => {
    const ws = new WebSocket(`${sim.urls.ws}/ws/btcusdt@bestBidAsk`, { headers: { 'X-MBX-APIKEY': 'k' } });
    const sizes: number[] = [];
    ws.on('message', (d: Buffer, bin) => bin && sizes.push(d.length));
    await new Promise((r) => ws.once('open', r));
    expect(await admin({ type: 'oversized', count: 1, bytes: 1_500_000 })).toBe(200);
    await vi.waitFor(() => expect(sizes.filter((n) => n === 1_500_000)).toHaveLength(1), { timeout: 10_000 });
    expect(await admin({ type: 'oversized', count: 1, bytes: 64 * 1024 * 1024 })).toBe(400); // bounded
    ws.close();
  });

  it('stall silences the stream while the socket stays open; closeConnections ends it', async () => {
    const ws = new WebSocket(`${sim.urls.ws}/ws/btcusdt@bestBidAsk`, { headers: { 'X-MBX-APIKEY': 'k' } });
    const times: number[] = [];
    ws.on('message', () => times.push(Date.now()));
    await new Promise((r) => ws.once('open', r));
    await sleep(200);
    const t0 = Date.now();
    await admin({ type: 'stall', ms: 400 });
    await sleep(600);
    expect(times.filter((t) => t > t0 + 50 && t < t0 + 350)).toHaveLength(0);
    expect(times.filter((t) => t > t0 + 450).length).toBeGreaterThan(0);
    const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    await admin({ type: 'closeConnections' });
    expect(await closed).toBe(1001);
  });

  it('freeze stops the book; restLatency slows REST', async () => {
    await admin({ type: 'freeze', symbol: 'BTCUSDT', ms: 300 });
    const a = (await (await fetch(`${sim.urls.rest}/api/v3/depth?symbol=BTCUSDT&limit=5`)).json()) as { lastUpdateId: number };
    await sleep(150);
    const b = (await (await fetch(`${sim.urls.rest}/api/v3/depth?symbol=BTCUSDT&limit=5`)).json()) as { lastUpdateId: number };
    expect(b.lastUpdateId).toBe(a.lastUpdateId);
    await admin({ type: 'restLatency', latencyMs: 200, forMs: 1000 });
    const t0 = Date.now();
    await fetch(`${sim.urls.rest}/api/v3/ping`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('counts every fault in exchange_sim_faults_injected_total', async () => {
    const text = await (await fetch(`${sim.urls.rest}/metrics`)).text();
    for (const fault of ['dropTrades', 'duplicate', 'malformed', 'truncated', 'stall', 'closeConnections', 'freeze', 'restLatency']) {
      expect(text).toMatch(new RegExp(`exchange_sim_faults_injected_total\\{[^}]*fault="${fault}"[^}]*\\} [1-9]`));
    }
    const health = (await (await fetch(`${sim.urls.rest}/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });
});

describe('faults from config', () => {
  it('SIM_FAULTS schedules faults in simulated time', async () => {
    const { configFromEnv } = await import('../src/index.ts');
    const config = configFromEnv(
      { SIM_FAULTS: JSON.stringify([{ atSeconds: 2, fault: { type: 'restFail', status: 500, count: 1 } }, { atSeconds: 0, fault: { type: 'duplicate', count: 1 } }]) },
      { port: 0, speed: 20, logLevel: 'silent' },
    );
    expect(config.faults.map((f) => f.fault.type)).toEqual(['restFail', 'duplicate']);
    const sim = new ExchangeSimulator(config);
    await sim.start();
    expect((await fetch(`${sim.urls.rest}/api/v3/ping`)).status).toBe(200);
    await sleep(250); // 5 simulated seconds
    expect((await fetch(`${sim.urls.rest}/api/v3/ping`)).status).toBe(500);
    await sim.stop();
    expect(() => configFromEnv({ SIM_FAULTS: '[{"fault":{"type":"nope"}}]' })).toThrow();
  });
});
