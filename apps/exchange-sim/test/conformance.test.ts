/**
 * Conformance: a client following Binance's documented procedures runs
 * against the simulator over real WebSockets for minutes of simulated time
 * (100x speed) with zero book desyncs, and detects every injected gap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ExchangeSimulator, SimConfigSchema } from '../src/index.ts';
import { BookClient } from './support/book-client.ts';

const KEY = 'conformance-key';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('a documented-procedure client against the simulator', () => {
  let sim: ExchangeSimulator;

  beforeAll(async () => {
    sim = new ExchangeSimulator(
      SimConfigSchema.parse({ port: 0, speed: 100, seed: 7, apiKeys: [KEY], pingIntervalMs: 400, pongTimeoutMs: 2000, logLevel: 'silent', startTimeUs: 1_750_000_000_000_000 }),
    );
    await sim.start();
  });
  afterAll(async () => sim.stop());

  it('keeps a local book in sync for 5+ simulated minutes and catches each injected gap', async () => {
    const client = new BookClient(sim.urls.ws, sim.urls.rest, KEY, 'BTCUSDT', { checkEvery: 2 });
    await client.connect();
    await until(() => client.isSynced, 5000);
    const simStart = sim.feed.simTimeUs;
    for (let gap = 0; gap < 3; gap++) {
      await sleep(700);
      sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 2 });
      await until(() => client.gaps === gap + 1, 3000).catch((e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify({ gap, gaps: client.gaps, synced: client.isSynced, applied: client.diffsApplied, closed: client.closed, snapshots: client.snapshots })}`);
      });
      await until(() => client.isSynced, 3000);
    }
    await sleep(1500);
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
  beforeAll(async () => {
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 10, apiKeys: [KEY], logLevel: 'silent', pingIntervalMs: 5000 }));
    await sim.start();
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
    const ws = open('/ws');
    const replies: unknown[] = [];
    ws.on('message', (d, bin) => !bin && replies.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@depth'], id: 1 }));
    ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 'a-2' }));
    ws.send(JSON.stringify({ method: 'UNSUBSCRIBE', params: ['btcusdt@depth'], id: 3 }));
    await sleep(1100); // stay under 5 incoming messages per second
    ws.send('{not json');
    ws.send(JSON.stringify({ method: 'FLY', id: 5 }));
    ws.send(JSON.stringify({ method: 'SET_PROPERTY', params: ['combined', true], id: 6 }));
    await sleep(1100);
    ws.send(JSON.stringify({ method: 'GET_PROPERTY', params: ['combined'], id: 7 }));
    ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['BTCUSDT@trade'], id: 8 }));
    await until(() => replies.length >= 8, 2000);
    ws.close();
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
    const ws = open('/ws/btcusdt@trade');
    const kinds = new Set<number>();
    ws.on('message', (d: Buffer, bin) => bin && kinds.add(d.readUInt16LE(2)));
    await sleep(600);
    ws.close();
    expect([...kinds]).toEqual([10000]);
  });

  it('closes a connection that sends more than 5 messages a second', async () => {
    const ws = open('/ws');
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    for (let i = 0; i < 8; i++) ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: i }));
    expect(await closed).toBe(1008);
  });

  it('drops a client that stops answering pings, and ends every connection at its maximum lifetime', async () => {
    const short = new ExchangeSimulator(
      SimConfigSchema.parse({ port: 0, apiKeys: [KEY], logLevel: 'silent', maxConnectionSeconds: 1.5, pingIntervalMs: 250, pongTimeoutMs: 400 }),
    );
    await short.start();
    const silent = open('/ws/btcusdt@trade', KEY, { autoPong: false }, short);
    const polite = open('/ws/btcusdt@trade', KEY, {}, short);
    const t0 = Date.now();
    const silentClosed = new Promise<number>((r) => silent.once('close', () => r(Date.now() - t0)));
    const politeClosed = new Promise<[number, string]>((r) => polite.once('close', (code, reason) => r([code, reason.toString()])));
    const silentAfter = await silentClosed;
    expect(silentAfter).toBeLessThan(1400); // pong timeout 400 ms (+ a ping interval), before the 1.5 s lifetime
    const [code, reason] = await politeClosed;
    expect(code).toBe(1000);
    expect(reason).toBe('connection lifetime exceeded');
    await short.stop();
  });

  it('announces serverShutdown as a JSON text frame, then disconnects', async () => {
    const ws = open('/ws/btcusdt@trade');
    const texts: { e?: string; E?: number }[] = [];
    ws.on('message', (d, bin) => !bin && texts.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    sim.inject({ type: 'serverShutdown', closeAfterMs: 100 });
    expect(await closed).toBe(1001);
    expect(texts[0]?.e).toBe('serverShutdown');
    expect(typeof texts[0]?.E).toBe('number');
  });
});
