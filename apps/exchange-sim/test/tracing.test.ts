/**
 * The simulator joins its REST callers' traces (issue 20): a request with a
 * sampled W3C `traceparent` gets one server span, a child of the caller's
 * span, ended when the answer is written (status recorded, an error answer
 * marked); an unsampled or absent header makes no span (it never starts a
 * trace of its own); a malformed one is ignored and counted, and the request
 * is answered as usual. An in-test OTLP/HTTP receiver, no mocks.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OtlpReceiver } from '@hotpath/tracing/testing';
import { ExchangeSimulator, ManualClock, SimConfigSchema } from '../src/index.ts';
import { START_US } from './support/clocked.ts';

describe('exchange-sim: server spans for traced REST callers', () => {
  let receiver: OtlpReceiver;
  let sim: ExchangeSimulator;
  const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    const clock = new ManualClock();
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, logLevel: 'silent', startTimeUs: START_US }), {
      clock,
      tracingEnv: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '20' },
    });
    await sim.start();
    clock.advance(300);
  });
  afterAll(async () => {
    await sim.stop();
    await receiver.stop();
  });

  const get = (path: string, traceparent?: string) => fetch(`${sim.urls.rest}${path}`, { headers: traceparent === undefined ? {} : { traceparent } });
  const invalid = async () => (await sim.registry.getSingleMetric('exchange_sim_trace_context_invalid_total')!.get()).values[0]?.value ?? 0;

  it('a sampled caller: one server span under its span, with the status; an error answer is marked', async () => {
    expect((await get('/api/v3/depth?symbol=BTCUSDT&limit=5', `00-${caller.traceId}-${caller.spanId}-01`)).status).toBe(200);
    expect((await get('/api/v3/depth?symbol=NOPE&limit=5', `00-${caller.traceId}-${caller.spanId}-01`)).status).toBe(400);
    await vi.waitFor(() => expect(receiver.spans.length).toBe(2), { timeout: 30_000 });
    for (const s of receiver.spans) expect(s).toMatchObject({ service: 'exchange-sim', name: 'GET /api/v3/depth', traceId: caller.traceId, parentSpanId: caller.spanId });
    expect(receiver.spans.map((s) => s.attributes['http.response.status_code'])).toEqual([200, 400]);
  });

  it('no span without a sampled caller; a malformed traceparent is counted and the request still answered', async () => {
    const before = receiver.spans.length;
    expect((await get('/api/v3/depth?symbol=BTCUSDT&limit=5')).status).toBe(200);
    expect((await get('/api/v3/depth?symbol=BTCUSDT&limit=5', `00-${caller.traceId}-${caller.spanId}-00`)).status).toBe(200);
    for (const bad of ['garbage', `00-${'0'.repeat(32)}-${caller.spanId}-01`, `01-${caller.traceId}-${caller.spanId}-01`, `00-${caller.traceId.toUpperCase()}-${caller.spanId}-01`]) {
      expect((await get('/api/v3/depth?symbol=BTCUSDT&limit=5', bad)).status).toBe(200);
    }
    expect(await invalid()).toBe(4);
    // a sampled request after them is exported: had the ones before made spans, they would be here first
    await get('/api/v3/depth?symbol=BTCUSDT&limit=5', `00-${caller.traceId}-${'1'.repeat(16)}-01`);
    await vi.waitFor(() => expect(receiver.spans.length).toBe(before + 1), { timeout: 30_000 });
    expect(receiver.spans.at(-1)!.parentSpanId).toBe('1'.repeat(16));
  });
});
