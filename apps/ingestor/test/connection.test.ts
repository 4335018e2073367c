/**
 * The exchange connection's switch-over state machine against a scripted
 * WebSocket server (real sockets; the server decides when a handshake
 * completes, when frames flow and when a connection dies): a make-before-break
 * switch is gapless only if the old connection delivered until the new one was
 * subscribed; anything else is a lost connection and a re-anchor.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { createLogger, createRegistry } from '@hotpath/telemetry';
import { ExchangeConnection } from '../src/connection.ts';

type Event = { type: 'live'; epoch: number; previous: number; switchover: boolean } | { type: 'lost'; epoch: number };

/** Handshakes wait for `admit(i)` when `hold` says so; `reject` turns them away. */
async function scriptedServer(plan: { hold?: (i: number) => boolean; reject?: (i: number) => boolean } = {}) {
  const sockets: WebSocket[] = [];
  const gates = new Map<number, () => void>();
  let attempts = 0;
  const wss = new WebSocketServer({
    port: 0,
    verifyClient: (_info, done) => {
      const i = attempts++;
      if (plan.reject?.(i)) return done(false, 503);
      if (plan.hold?.(i)) gates.set(i, () => done(true));
      else done(true);
    },
  });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => sockets.push(ws));
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    sockets,
    attempts: () => attempts,
    admit: (i: number) => gates.get(i)?.(),
    frame: (i: number) => sockets[i]!.send(Buffer.from([1, 2, 3]), { binary: true }),
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

describe('ExchangeConnection switch-over', () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function connect(server: Awaited<ReturnType<typeof scriptedServer>>, watchdogMs = 60_000, rotateAfterSeconds = 3600) {
    const events: Event[] = [];
    const registry = createRegistry('test');
    const conn = new ExchangeConnection(
      { url: server.url, apiKey: 'k', watchdogMs, rotateAfterSeconds, reconnectBaseMs: 20, reconnectMaxMs: 100, maxFrameBytes: 1 << 20 },
      {
        frame: () => undefined,
        live: (epoch, previous, switchover) => events.push({ type: 'live', epoch, previous, switchover }),
        lost: (epoch) => events.push({ type: 'lost', epoch }),
      },
      registry,
      createLogger({ service: 'test', level: 'silent' }),
    );
    cleanup.push(async () => {
      conn.stop();
      await server.close();
    });
    conn.start();
    await vi.waitFor(() => expect(events).toHaveLength(1), { timeout: 30_000 });
    return { conn, events, registry };
  }

  it('the old connection dies while the new one is still connecting: a lost connection, then a new one that re-anchors', async () => {
    const server = await scriptedServer({ hold: (i) => i === 1 });
    const { conn, events } = await connect(server);
    const first = events[0]!.epoch;
    conn.switchOver('test');
    await vi.waitFor(() => expect(server.attempts()).toBe(2));
    server.sockets[0]!.close(1001, 'going away');
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'lost', epoch: first }));
    server.admit(1);
    await vi.waitFor(() => expect(events).toHaveLength(3));
    expect(events[2]).toMatchObject({ type: 'live', epoch: first + 1, switchover: false });
  });

  it('the old connection dies after the new one is subscribed: the new one takes over without a re-anchor', async () => {
    const server = await scriptedServer();
    const { conn, events } = await connect(server);
    const first = events[0]!.epoch;
    conn.switchOver('test');
    await vi.waitFor(() => expect(server.sockets).toHaveLength(2));
    server.sockets[0]!.close(1001, 'going away');
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toEqual({ type: 'live', epoch: first + 1, previous: first, switchover: true });
    expect(events.some((e) => e.type === 'lost')).toBe(false);
  });

  it('reconnects that are refused before they open are retried until one is admitted', async () => {
    // after the first connection, the next three handshakes are turned away (an exchange restarting)
    const server = await scriptedServer({ reject: (i) => i >= 1 && i <= 3 });
    const { events } = await connect(server);
    const first = events[0]!.epoch;
    server.sockets[0]!.close(1001, 'going away');
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'lost', epoch: first }), { timeout: 30_000 });
    // three refused attempts, then the fifth handshake is admitted and goes live
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'live')).toHaveLength(2), { timeout: 30_000 });
    expect(server.attempts()).toBe(5);
    expect(events.at(-1)).toMatchObject({ type: 'live', switchover: false });
  });

  it('a switch-over whose connection is refused is retried while the old one keeps delivering', async () => {
    const server = await scriptedServer({ reject: (i) => i === 1 });
    const { conn, events } = await connect(server);
    const first = events[0]!.epoch;
    conn.switchOver('test');
    await vi.waitFor(() => expect(server.sockets).toHaveLength(2)); // the third attempt, accepted
    server.frame(1);
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toEqual({ type: 'live', epoch: first + 2, previous: first, switchover: true });
    expect(conn.connected).toBe(true);
  });

  it('a switch-over connection that never delivers is dropped and the switch retried', async () => {
    const server = await scriptedServer();
    // (a watchdog many keep-alive intervals long: a busy machine's late timers must not read as a silent old connection)
    const { conn, events } = await connect(server, 1_000);
    const first = events[0]!.epoch;
    const keepAlive = setInterval(() => server.frame(0), 50); // the old connection keeps delivering
    cleanup.push(async () => clearInterval(keepAlive));
    conn.switchOver('test');
    // the first switch connection stays silent: dropped by the watchdog, and the next one delivers
    await vi.waitFor(() => expect(server.sockets).toHaveLength(3), { timeout: 30_000 });
    server.frame(2);
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toEqual({ type: 'live', epoch: first + 2, previous: first, switchover: true });
  });

  it('a stalled old connection replaced by a subscribed one: taken over with a re-anchor (events were missed while it was silent)', async () => {
    const server = await scriptedServer();
    const { conn, events } = await connect(server, 1_000);
    const first = events[0]!.epoch;
    conn.switchOver('test');
    await vi.waitFor(() => expect(server.sockets).toHaveLength(2));
    // the new one answers (text frames keep it from its own watchdog) but sends no data yet; the old one is silent
    const chatter = setInterval(() => server.sockets[1]!.send('{"result":null,"id":1}'), 50);
    cleanup.push(async () => clearInterval(chatter));
    await vi.waitFor(() => expect(events).toHaveLength(2), { timeout: 30_000 });
    expect(events[1]).toMatchObject({ type: 'live', epoch: first + 1, switchover: false });
  });

  it('a connection reaching its lifetime is switched over by itself, and the timer starts again for its successor', async () => {
    const server = await scriptedServer();
    const { events, registry } = await connect(server, 60_000, 0.2);
    const first = events[0]!.epoch;
    await vi.waitFor(() => expect(server.sockets).toHaveLength(2), { timeout: 30_000 }); // nobody called switchOver
    server.frame(1);
    await vi.waitFor(() => expect(events).toHaveLength(2), { timeout: 30_000 });
    expect(events[1]).toEqual({ type: 'live', epoch: first + 1, previous: first, switchover: true });
    await vi.waitFor(() => expect(server.sockets).toHaveLength(3), { timeout: 30_000 }); // the successor's own lifetime
    const opened = (await registry.getMetricsAsJSON()).find((m) => m.name === 'ingestor_sbe_reconnections_total')!.values;
    expect(Object.fromEntries(opened.map((v) => [v.labels['reason'], v.value]))).toEqual({ initial: 1, rotation: 2 });
  });
});
