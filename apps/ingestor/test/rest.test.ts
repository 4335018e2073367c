/** The REST client's refusals: typed, with a code and the HTTP status, retried only where retrying can help. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createRegistry } from '@hotpath/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
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
