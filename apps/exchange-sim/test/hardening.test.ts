/**
 * The simulator under hostile or careless clients: request targets that are
 * not URLs, garbage control messages, label floods, too many connections, a
 * client that stops reading, requests that never finish, admin requests
 * without the token or with out-of-range faults. Each ends in an answer and a
 * counter, and the simulator keeps serving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '@hotpath/service';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ExchangeSimulator, ManualClock, SimConfigSchema } from '../src/index.ts';
import { barrier } from './support/clocked.ts';
import { metric } from './support/prometheus.ts';
import { openRaw, rawRequest, readUntilClose } from './support/raw-http.ts';

const KEY = 'hardening-key';
const WAIT = { timeout: 15_000, interval: 25 };

const upgradeHeaders = (target: string, key = KEY): string =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-MBX-APIKEY: ${key}\r\n\r\n`;

describe('a request that is not a URL, as a separate process', () => {
  // A real process: an exception that escapes request handling ends it, which is what this proves does not happen.
  let child: ChildProcess;
  let port: number;
  let exited: number | null | undefined;
  beforeAll(async () => {
    port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../bin/start.ts', import.meta.url))], {
      env: { ...process.env, SIM_HOST: '127.0.0.1', SIM_PORT: String(port), SIM_API_KEYS: KEY, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('exit', (code) => (exited = code));
    await vi.waitFor(async () => {
      expect(exited, 'the simulator exited').toBeUndefined();
      expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);
    }, WAIT);
  });
  afterAll(async () => {
    if (exited === undefined) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  });

  it('answers 400 problem JSON over HTTP and on the upgrade path, and keeps serving', async () => {
    for (const target of ['//[::1/x', '//[::1/ws/btcusdt@trade', '//a:b:c/x', 'http://[x/']) {
      const http = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect(http.status, `GET ${target}`).toBe(400);
      expect(http.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(http.body)).toMatchObject({ status: 400, title: 'Bad request' });

      const upgrade = await rawRequest(port, upgradeHeaders(target));
      expect(upgrade.status, `upgrade ${target}`).toBe(400);
      expect(upgrade.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(upgrade.body)).toMatchObject({ status: 400 });
    }
    // A request line Node itself cannot parse.
    expect((await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n')).status).toBe(400);

    expect(exited).toBeUndefined();
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metric(metrics, 'exchange_sim_rejected_requests_total', { reason: 'bad_url' })).toBeGreaterThanOrEqual(4);
    expect(metric(metrics, 'exchange_sim_rejected_handshakes_total', { reason: 'bad_url' })).toBeGreaterThanOrEqual(4);
  });

  it('refuses a stream it does not serve at the handshake, as Binance does, counted by the error code', async () => {
    for (const target of ['/ws/btcusdt@nope', '/stream?streams=NOTASYMBOL@trade']) {
      const upgrade = await rawRequest(port, upgradeHeaders(target));
      expect(upgrade.status, `upgrade ${target}`).toBe(400);
      expect(JSON.parse(upgrade.body)).toMatchObject({ code: -1121 });
    }
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metric(metrics, 'exchange_sim_rejected_handshakes_total', { reason: 'bad_stream_name' })).toBe(2);
  });

  it('answers control messages that are JSON but not objects, and keeps serving', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { 'X-MBX-APIKEY': KEY } });
    const replies: unknown[] = [];
    ws.on('message', (d, binary) => !binary && replies.push(JSON.parse(d.toString())));
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    for (const text of ['null', '5', '[]', '"x"']) ws.send(text);
    await vi.waitFor(() => expect(replies.length).toBeGreaterThanOrEqual(4), WAIT);
    expect(replies).toEqual(Array(4).fill({ code: 3, msg: 'Invalid JSON: expected a JSON object', id: null }));
    ws.close();
    expect(exited).toBeUndefined();
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });
});

describe('hardening', () => {
  const sims: ExchangeSimulator[] = [];
  const sockets: WebSocket[] = [];
  const rawSockets: Socket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) {
      ws.on('error', () => undefined); // terminating one still connecting reports it
      ws.terminate();
    }
    for (const socket of rawSockets.splice(0)) socket.destroy();
    for (const sim of sims.splice(0)) await sim.stop();
  });
  const startSim = async (overrides: Record<string, unknown> = {}, clock?: ManualClock): Promise<ExchangeSimulator> => {
    const sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, seed: 5, apiKeys: [KEY], logLevel: 'silent', ...overrides }), { clock });
    sims.push(sim);
    await sim.start();
    return sim;
  };
  const portOf = (sim: ExchangeSimulator): number => Number(new URL(sim.urls.rest).port);
  const metricsOf = async (sim: ExchangeSimulator): Promise<string> => (await fetch(`${sim.urls.rest}/metrics`)).text();

  it('labels REST metrics by served endpoint, every other path as "other", and answers 404s as problem JSON', async () => {
    const sim = await startSim();
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${sim.urls.rest}/api/v3/flood-${i}`);
      expect(r.status).toBe(404);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(await r.json()).toMatchObject({ status: 404, title: 'Not found' });
    }
    expect((await fetch(`${sim.urls.rest}/api/v3/ping`)).status).toBe(200);
    const text = await metricsOf(sim);
    expect(text).not.toContain('flood-');
    expect(metric(text, 'exchange_sim_rest_requests_total', { endpoint: 'other', status: '404' })).toBe(20);
    expect(metric(text, 'exchange_sim_rest_requests_total', { endpoint: '/api/v3/ping', status: '200' })).toBe(1);

    const other = await fetch(`${sim.urls.rest}/nope`);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
    const ws = await rawRequest(portOf(sim), upgradeHeaders('/nope'));
    expect(ws.status).toBe(404);
    expect(ws.headers['content-type']).toBe('application/problem+json');
  });

  it('refuses stream connections past SIM_MAX_CONNECTIONS with 503, counted, and admits again once one closes', async () => {
    const sim = await startSim({ maxConnections: 2 });
    const open = (): WebSocket => {
      const ws = new WebSocket(`${sim.urls.ws}/ws/btcusdt@bestBidAsk`, { headers: { 'X-MBX-APIKEY': KEY } });
      sockets.push(ws);
      return ws;
    };
    const outcome = (ws: WebSocket): Promise<number> =>
      new Promise((resolve) => {
        ws.once('open', () => resolve(101));
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      });
    const [a, b] = [open(), open()];
    expect(await Promise.all([outcome(a), outcome(b)])).toEqual([101, 101]);
    expect(await outcome(open())).toBe(503);
    expect(metric(await metricsOf(sim), 'exchange_sim_rejected_handshakes_total', { reason: 'capacity' })).toBe(1);
    a.close();
    await vi.waitFor(async () => expect(await connectionsOf(sim)).toBe(1), WAIT); // the closed connection is released
    expect(await outcome(open())).toBe(101);
  });

  it('cuts a client that stops reading once its send buffer passes SIM_MAX_BUFFERED_BYTES, counted, and serves the others', async () => {
    // One symbol at 50x on a ManualClock: each 100 ms step of the clock sends 5 simulated seconds of frames, however
    // slow the machine; a barrier per step is more than 5 control messages a clock second.
    const clock = new ManualClock();
    const sim = await startSim({ speed: 50, maxBufferedBytes: 256 * 1024, maxIncomingPerSecond: 1000 }, clock);
    // A raw socket that stops reading right after the handshake: a client that read for a while first would have
    // grown its kernel receive window (up to tcp_rmem's max, MBs) and the test would wait for that to fill too.
    const slow = await openRaw(portOf(sim), upgradeHeaders('/stream?streams=btcusdt@depth/btcusdt@depth20/btcusdt@trade/btcusdt@bestBidAsk'));
    rawSockets.push(slow);
    const handshake = await new Promise<string>((r) => slow.once('data', (d: Buffer) => r(d.toString('latin1'))));
    slow.pause();
    expect(handshake).toMatch(/^HTTP\/1.1 101 /);
    const healthy = new WebSocket(`${sim.urls.ws}/ws/btcusdt@bestBidAsk`, { headers: { 'X-MBX-APIKEY': KEY } });
    sockets.push(healthy);
    await new Promise((r) => healthy.once('open', r));

    let received = 0;
    healthy.on('message', (_data, isBinary) => isBinary && received++);
    // Until the kernel's socket buffers are full nothing queues in the server; the clock moves on until the cut.
    await vi.waitFor(
      async () => {
        clock.advance(100);
        await barrier(healthy); // the healthy client reads along
        expect(await connectionsOf(sim)).toBe(1);
      },
      { timeout: 60_000, interval: 10 },
    );
    expect(metric(await metricsOf(sim), 'exchange_sim_disconnects_total', { reason: 'slow_consumer' })).toBe(1);
    const before = received;
    clock.advance(100);
    await barrier(healthy);
    expect(received - before).toBeGreaterThan(5); // and keeps receiving after the cut
  });

  it('closes requests whose headers or body never finish (headersTimeout / requestTimeout)', async () => {
    const sim = await startSim({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const port = portOf(sim);
    const halfHeaders = await openRaw(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const noBody = await openRaw(port, 'POST /admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":');
    const [a, b] = await Promise.all([readUntilClose(halfHeaders), readUntilClose(noBody)]);
    expect(a.status).toBe(408);
    expect(b.status).toBe(408);
    expect(metric(await metricsOf(sim), 'exchange_sim_rejected_requests_total', { reason: 'client_error' })).toBe(2);
  });

  describe('/admin/faults', () => {
    const TOKEN = 'a-token-of-sixteen-or-more';
    const post = (sim: ExchangeSimulator, body: string, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }): Promise<Response> =>
      fetch(`${sim.urls.rest}/admin/faults`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });

    it('checks the token before reading the body', async () => {
      const sim = await startSim({ adminToken: TOKEN });
      // Headers announcing a body that never comes: only a server that refuses first can answer.
      const r = await rawRequest(portOf(sim), 'POST /admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n');
      expect(r.status).toBe(401);
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect((await post(sim, '{"type":"closeConnections"}', { Authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
      expect((await fetch(`${sim.urls.rest}/admin/faults`)).status).toBe(401);
      expect((await post(sim, '{"type":"closeConnections"}')).status).toBe(200);
      const put = await fetch(`${sim.urls.rest}/admin/faults`, { method: 'PUT', body: '{}', headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET, POST');
      expect(await (await fetch(`${sim.urls.rest}/admin/faults`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()).toEqual({ closeConnections: 1 });
      expect(metric(await metricsOf(sim), 'exchange_sim_rejected_requests_total', { reason: 'unauthorized' })).toBe(3);
    });

    it('refuses a body over the cap with 413, declared or streamed', async () => {
      const sim = await startSim({ adminToken: TOKEN });
      const big = JSON.stringify({ type: 'stall', ms: 100, pad: 'x'.repeat(64 * 1024) });
      const declared = await post(sim, big);
      expect(declared.status).toBe(413);
      expect(declared.headers.get('content-type')).toBe('application/problem+json');
      // Chunked: no length up front, so the cap has to hold while reading.
      const chunks = [big.slice(0, 8000), big.slice(8000)];
      const streamed = await fetch(`${sim.urls.rest}/admin/faults`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: new ReadableStream({ pull: (c) => void (chunks.length > 0 ? c.enqueue(new TextEncoder().encode(chunks.shift()!)) : c.close()) }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(metric(await metricsOf(sim), 'exchange_sim_rejected_requests_total', { reason: 'body_too_large' })).toBe(2);
    });

    it('answers 400 problem JSON naming the field for bad input, never 500, and bounds every value', async () => {
      const sim = await startSim();
      const refused = async (body: string): Promise<{ field: string; message: string }[]> => {
        const r = await post(sim, body, {});
        expect(r.status, body).toBe(400);
        expect(r.headers.get('content-type')).toBe('application/problem+json');
        const p = (await r.json()) as { status: number; detail: string; errors?: { field: string; message: string }[] };
        expect(p.status).toBe(400);
        return p.errors ?? [];
      };
      expect(await refused('{"type":')).toEqual([]);
      expect((await refused('{"type":"meteor"}')).map((e) => e.field)).toEqual(['type']);
      expect((await refused('null'))[0]!.field).toBe('(body)');
      expect((await refused(JSON.stringify({ type: 'stall', ms: 3_600_000 }))).map((e) => e.field)).toEqual(['ms']);
      expect((await refused(JSON.stringify({ type: 'serverShutdown', closeAfterMs: 86_400_000 }))).map((e) => e.field)).toEqual(['closeAfterMs']);
      expect((await refused(JSON.stringify({ type: 'restLatency', latencyMs: 100, forMs: 1e12 }))).map((e) => e.field)).toEqual(['forMs']);
      expect((await refused(JSON.stringify({ type: 'dropTrades', count: 1e9 }))).map((e) => e.field)).toEqual(['count']);
      expect((await refused(JSON.stringify({ type: 'duplicate', count: -1 }))).map((e) => e.field)).toEqual(['count']);
      expect((await refused(JSON.stringify({ type: 'freeze', symbol: 'NOPEUSDT', ms: 100 }))).map((e) => e.field)).toEqual(['symbol']);
      expect((await refused(JSON.stringify({ type: 'stall', ms: 100, durationMs: 5 }))).map((e) => e.field)).toEqual(['durationMs']);
      // In range, on a simulated symbol: armed.
      expect((await post(sim, JSON.stringify({ type: 'freeze', symbol: 'btcusdt', ms: 600_000 }), {})).status).toBe(200);
      const text = await metricsOf(sim);
      expect(metric(text, 'exchange_sim_rejected_requests_total', { reason: 'bad_json' })).toBe(1);
      expect(metric(text, 'exchange_sim_rejected_requests_total', { reason: 'invalid_fault' })).toBe(9);
      expect(metric(text, 'exchange_sim_rejected_requests_total', { reason: 'internal' })).toBe(0);
    });
  });

  it('refuses at start a scheduled fault on a symbol it does not simulate', () => {
    const config = SimConfigSchema.parse({ port: 0, logLevel: 'silent', faults: [{ atSeconds: 1, fault: { type: 'freeze', symbol: 'NOPEUSDT', ms: 100 } }] });
    expect(() => new ExchangeSimulator(config)).toThrow(/SIM_FAULTS: freeze names "NOPEUSDT"/);
  });

  it('binds loopback unless told otherwise, and refuses a headers deadline past the request deadline', () => {
    expect(SimConfigSchema.parse({}).host).toBe('127.0.0.1');
    const r = SimConfigSchema.safeParse({ headersTimeoutMs: 5000, requestTimeoutMs: 1000 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['headersTimeoutMs']);
  });
});

async function connectionsOf(sim: ExchangeSimulator): Promise<number> {
  return ((await (await fetch(`${sim.urls.rest}/health`)).json()) as { connections: number }).connections;
}
