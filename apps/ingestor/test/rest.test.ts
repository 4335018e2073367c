/** The REST client's refusals: typed, with a code and the HTTP status, retried only where retrying can help. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createRegistry } from '@hotpath/telemetry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BinanceRest } from '../src/rest.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A REST side answering every call with `status`; counts the calls. */
async function answering(status: number): Promise<{ url: string; calls: () => number }> {
  let calls = 0;
  server = createServer((_req, res) => {
    calls++;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: -1, msg: 'refused' }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls };
}

const rest = (url: string): BinanceRest => new BinanceRest(url, 6_000, createRegistry('test'), createLogger({ service: 'test', level: 'silent' }));

describe('BinanceRest refusals', () => {
  it('a 4xx is rest_refused at once, with its status and the answer quoted', async () => {
    const side = await answering(400);
    const err = await rest(side.url)
      .depth('BTCUSDT', 100)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RestError', code: 'rest_refused', status: 400 });
    expect((err as Error).message).toContain('refused');
    expect(side.calls()).toBe(1);
  });

  it('a 5xx is retried, then rest_gave_up with the last status and the retry as its cause', async () => {
    const side = await answering(503);
    const err = await rest(side.url)
      .depth('BTCUSDT', 100)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RestError', code: 'rest_gave_up', status: 503 });
    expect((err as Error).cause).toMatchObject({ name: 'RetryExhaustedError', code: 'retry_attempts_exhausted' });
    expect(side.calls()).toBe(6);
  });
});

describe('BinanceRest concurrency', () => {
  it('holds at most `concurrency` calls in flight; the others wait their turn, and a stop ends the waiting ones', async () => {
    // an exchange that answers only when told: what is in flight at once is what it holds
    const held: (() => void)[] = [];
    let peak = 0;
    server = createServer((_req, res) => {
      held.push(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ lastUpdateId: 1, bids: [], asks: [] })));
      peak = Math.max(peak, held.length);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const registry = createRegistry('test');
    const stop = new AbortController();
    const client = new BinanceRest(url, 6_000, registry, createLogger({ service: 'test', level: 'silent' }), stop.signal, 3);
    const waiting = async () => (await registry.getSingleMetric('ingestor_rest_calls_waiting')!.get()).values[0]!.value;
    const calls = Array.from({ length: 10 }, () => client.depth('BTCUSDT', 100));
    await vi.waitFor(() => expect(held).toHaveLength(3));
    expect(await waiting()).toBe(7);
    // answered one at a time: each answer lets exactly one waiting call in
    for (let answered = 0; answered < 7; answered++) {
      held.shift()!();
      await vi.waitFor(() => expect(held).toHaveLength(3));
    }
    expect(peak).toBe(3);
    expect(await waiting()).toBe(0);
    // 3 in flight: 2 more wait, then the stop ends every call, the waiting ones without ever being sent
    const more = [client.depth('BTCUSDT', 100), client.depth('BTCUSDT', 100)];
    await vi.waitFor(async () => expect(await waiting()).toBe(2));
    stop.abort(new Error('stopping'));
    const outcomes = await Promise.allSettled([...calls.slice(7), ...more]);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(await waiting()).toBe(0);
    expect(held).toHaveLength(3); // the two waiting calls never reached the exchange
    for (const answer of held.splice(0)) answer();
    expect((await Promise.allSettled(calls.slice(0, 7))).every((o) => o.status === 'fulfilled')).toBe(true);
  });
});
