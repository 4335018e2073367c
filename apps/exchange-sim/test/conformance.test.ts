/**
 * Conformance: a client following Binance's documented procedures runs
 * against the simulator over real WebSockets for minutes of simulated time
 * with zero book desyncs, and detects every injected gap. The simulators run
 * on a ManualClock: the market, keepalive and lifetimes move when the test
 * says, so nothing here depends on how fast the machine is.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { ExchangeSimulator, ManualClock } from '../src/index.ts';
import { BookClient } from './support/book-client.ts';
import { startClockedSim, StreamProbe } from './support/clocked.ts';

const KEY = 'conformance-key';
const WAIT = { timeout: 10_000 };

describe('a documented-procedure client against the simulator', () => {
  let sim: ExchangeSimulator;
  let clock: ManualClock;

  beforeAll(async () => {
    // A barrier after every step of the clock: far more control messages per clock second than Binance's 5.
    ({ sim, clock } = await startClockedSim({ speed: 100, seed: 7, apiKeys: [KEY], pingIntervalMs: 400, pongTimeoutMs: 2000, maxIncomingPerSecond: 1000 }));
  });
  afterAll(async () => sim.stop());

  it('keeps a local book in sync for 5+ simulated minutes and catches each injected gap', async () => {
    const client = new BookClient(sim.urls.ws, sim.urls.rest, KEY, 'BTCUSDT', { checkEvery: 2 });
    await client.connect();
    await vi.waitFor(() => expect(client.isSynced).toBe(true), WAIT);
    const simStart = sim.feed.simTimeUs;
    /** 50 ms of clock (5 simulated seconds) at a time, each handled by the client (its pongs with it) before the next. */
    const run = async (ms: number): Promise<void> => {
      for (let done = 0; done < ms; done += 50) {
        clock.advance(50);
        await client.barrier();
      }
    };
    for (let gap = 0; gap < 3; gap++) {
      await run(700);
      expect(client.gaps).toBe(gap);
      sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 2 });
      await run(50);
      expect(client.gaps).toBe(gap + 1); // the first diff after the two dropped shows the gap
      await vi.waitFor(() => expect(client.isSynced).toBe(true), WAIT);
    }
    await run(1000);
    const simulatedSeconds = (sim.feed.simTimeUs - simStart) / 1e6;
    client.close();

    expect(simulatedSeconds).toBeGreaterThan(300);
    expect(client.gaps).toBe(3);
    expect(client.desyncs).toBe(0);
    expect(client.checks).toBeGreaterThan(200);
    expect(client.diffsApplied).toBeGreaterThan(10_000);
    expect(client.snapshots).toBe(4);
    expect(client.decodeErrors).toBe(0);
    // the keepalive ran all along and the client's pongs kept the connection open
    expect(client.pingsAnswered).toBeGreaterThan(5);
    expect(client.closed).toBeUndefined();
    expect(sim.faults.injected.get('dropDepthDiffs')).toBe(6);
  });
});

describe('handshake and control protocol', () => {
  let sim: ExchangeSimulator;
  let clock: ManualClock;
  beforeAll(async () => {
    ({ sim, clock } = await startClockedSim({ speed: 10, apiKeys: [KEY], pingIntervalMs: 5000 }));
  });
  afterAll(async () => sim.stop());

  const open = (path: string, key: string | null = KEY, options: WebSocket.ClientOptions = {}, on = sim): WebSocket =>
    new WebSocket(`${on.urls.ws}${path}`, { ...options, headers: key === null ? {} : { 'X-MBX-APIKEY': key } });

  const handshakeStatus = (ws: WebSocket): Promise<number> =>
    new Promise((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });

  it('refuses a missing or unknown API key, an unknown stream and an unknown path', async () => {
    expect(await handshakeStatus(open('/ws/btcusdt@trade', null))).toBe(401);
    expect(await handshakeStatus(open('/ws/btcusdt@trade', 'wrong'))).toBe(401);
    expect(await handshakeStatus(open('/ws/btcusdt@kline_1m'))).toBe(400);
    expect(await handshakeStatus(open('/ws/xyzusdt@trade'))).toBe(400);
    expect(await handshakeStatus(open('/nope'))).toBe(404);
  });

  it('answers SUBSCRIBE / LIST_SUBSCRIPTIONS / UNSUBSCRIBE / properties and errors like Binance', async () => {
    const probe = await StreamProbe.open(`${sim.urls.ws}/ws`, KEY);
    const replies = probe.texts;
    // At most 5 messages per second of the clock: the next batch only once this one is answered and the clock has moved on.
    probe.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@depth'], id: 1 }));
    probe.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 'a-2' }));
    probe.ws.send(JSON.stringify({ method: 'UNSUBSCRIBE', params: ['btcusdt@depth'], id: 3 }));
    await vi.waitFor(() => expect(replies).toHaveLength(3), WAIT);
    clock.advance(1000);
    probe.ws.send('{not json');
    probe.ws.send(JSON.stringify({ method: 'FLY', id: 5 }));
    probe.ws.send(JSON.stringify({ method: 'SET_PROPERTY', params: ['combined', true], id: 6 }));
    await vi.waitFor(() => expect(replies).toHaveLength(6), WAIT);
    clock.advance(1000);
    probe.ws.send(JSON.stringify({ method: 'GET_PROPERTY', params: ['combined'], id: 7 }));
    probe.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['BTCUSDT@trade'], id: 8 }));
    await vi.waitFor(() => expect(replies).toHaveLength(8), WAIT);
    probe.close();
    expect(replies).toEqual([
      { result: null, id: 1 },
      { result: ['btcusdt@trade', 'btcusdt@depth'], id: 'a-2' },
      { result: null, id: 3 },
      { code: 3, msg: 'Invalid JSON: expected a JSON object', id: null },
      { code: 2, msg: 'Invalid request: unknown method "FLY"', id: 5 },
      { result: null, id: 6 },
      { result: true, id: 7 },
      expect.objectContaining({ code: 2, id: 8 }),
    ]);
  });

  it('sends binary SBE frames only for subscribed streams', async () => {
    const probe = await StreamProbe.open(`${sim.urls.ws}/ws/btcusdt@trade`, KEY);
    clock.advance(1000); // 10 simulated seconds of every stream
    await probe.barrier();
    probe.close();
    expect(probe.frames.length).toBeGreaterThan(0);
    expect([...new Set(probe.frames.map((f) => f.readUInt16LE(2)))]).toEqual([10000]);
  });

  it('closes a connection that sends more than 5 messages a second', async () => {
    const ws = open('/ws');
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    for (let i = 0; i < 8; i++) ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: i }));
    expect(await closed).toBe(1008);
  });

  it('drops a client that stops answering pings, and ends every connection at its maximum lifetime', async () => {
    // Pings every 250 ms, a pong due within 400 ms, a 1.5 s lifetime; a barrier after each ping (more than 5 messages a second).
    const { sim: short, clock: shortClock } = await startClockedSim({ apiKeys: [KEY], maxConnectionSeconds: 1.5, pingIntervalMs: 250, pongTimeoutMs: 400, maxIncomingPerSecond: 1000 });
    try {
      const silent = await StreamProbe.open(`${short.urls.ws}/ws/btcusdt@trade`, KEY, { autoPong: false });
      const polite = await StreamProbe.open(`${short.urls.ws}/ws/btcusdt@trade`, KEY);
      /** The clock moves to the next ping; the polite client's pong is in before the clock moves again. */
      const nextPing = async (pings: number): Promise<void> => {
        shortClock.advance(250);
        await vi.waitFor(() => expect(polite.pings).toBe(pings), WAIT);
        await polite.barrier();
      };
      await nextPing(1); // 250 ms: pinged, nothing overdue
      shortClock.advance(249);
      await silent.barrier(); // 499 ms: its last pong (none: the connect at 0) is 499 ms old, but nobody looked yet
      expect(silent.closed).toBeUndefined();
      await nextPing(2); // 499 → 749 ms: the 500 ms check found the silent one overdue
      await vi.waitFor(() => expect(silent.closed).toBeDefined(), WAIT);
      expect(silent.closed?.code).toBe(1006); // terminated, no close frame
      await nextPing(3);
      await nextPing(4);
      await nextPing(5); // 1499 ms
      expect(polite.closed).toBeUndefined();
      shortClock.advance(1); // 1500 ms: the lifetime
      await vi.waitFor(() => expect(polite.closed).toEqual({ code: 1000, reason: 'connection lifetime exceeded' }), WAIT);
    } finally {
      await short.stop();
    }
  });

  it('announces serverShutdown as a JSON text frame, then disconnects once the clock reaches closeAfterMs', async () => {
    const probe = await StreamProbe.open(`${sim.urls.ws}/ws/btcusdt@trade`, KEY);
    sim.inject({ type: 'serverShutdown', closeAfterMs: 100 });
    await vi.waitFor(() => expect(probe.texts).toHaveLength(1), WAIT);
    expect(probe.texts[0]).toEqual({ e: 'serverShutdown', E: clock.now() });
    clock.advance(99);
    await probe.barrier();
    expect(probe.closed).toBeUndefined();
    clock.advance(1);
    await vi.waitFor(() => expect(probe.closed?.code).toBe(1001), WAIT);
  });
});
