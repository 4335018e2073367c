/**
 * The ingestor's span tree for a sampled frame (issue 20), against a scripted
 * WebSocket exchange, kinesalite and an in-test OTLP/HTTP receiver, sampling
 * at 100 %: a published frame is `ingestor frame` with `decode`, `gap check`
 * and `kinesis put` under it, ended at Kinesis' acknowledgement; a frame that
 * goes no further (oversized, undecodable, a duplicate) ends its root
 * with a `dropped` event — every span started is ended and exported. A
 * repair (re-anchor snapshot, trade backfill) is a trace of its own: its REST
 * calls and Kinesis puts under it, failures recorded on the call that failed.
 */
import { createServer } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OtlpReceiver, type ReceivedSpan } from '@hotpath/tracing/testing';
import { MAX_ENVELOPE_PAYLOAD_BYTES } from '../src/publisher.ts';
import { scriptedIngestor } from './support/scripted.ts';
import { depthFrame, tradeFrame } from './support/frames.ts';

describe('ingestor spans (sampling at 100 %)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** A REST side: a depth snapshot whose first answer is a 400, and historicalTrades pages of the ids asked for. */
  async function restSide(): Promise<{ url: string; traceparents: (string | undefined)[] }> {
    let depthCalls = 0;
    const traceparents: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      traceparents.push(req.headers.traceparent as string | undefined);
      const url = new URL(req.url ?? '/', 'http://x');
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (url.pathname === '/api/v3/depth') {
        // (a 400 is not retried inside the REST client: the tracker's own retry fetches again)
        if (depthCalls++ === 0) return json(400, { code: -1100, msg: 'illegal characters' });
        return json(200, { lastUpdateId: 5_000, bids: [['60000.00', '1.0']], asks: [['60000.01', '1.0']] });
      }
      if (url.pathname === '/api/v3/historicalTrades') {
        const from = Number(url.searchParams.get('fromId'));
        // ids past 3000: refused (a failed backfill); 1503..2000 only, then nothing (a partial one)
        if (from > 3_000) return json(400, { code: -1100, msg: 'refused' });
        const limit = from > 2_000 ? 0 : from > 1_502 ? Math.min(Number(url.searchParams.get('limit')), 2_001 - from) : Number(url.searchParams.get('limit'));
        return json(
          200,
          Array.from({ length: limit }, (_, i) => ({ id: from + i, price: '60000.01', qty: '0.001', time: 1_700_000_000_000 + from + i, isBuyerMaker: false, isBestMatch: true })),
        );
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, traceparents };
  }

  async function setup(restUrl?: string) {
    const receiver = await OtlpReceiver.start();
    cleanup.push(() => receiver.stop());
    const tracingEnv = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '1', OTEL_BSP_SCHEDULE_DELAY: '20' };
    const { ingestor, socket, stop } = await scriptedIngestor(cleanup, { tracingEnv, ...(restUrl === undefined ? {} : { restUrl }) });
    return { receiver, ingestor, socket, stop: () => stop(5_000) };
  }

  const childrenOf = (spans: ReceivedSpan[], root: ReceivedSpan): string[] =>
    spans
      .filter((s) => s.traceId === root.traceId && s.parentSpanId === root.spanId)
      .map((s) => s.name)
      .sort();

  it('a published frame: ingestor frame → decode, gap check, kinesis put (ended at the ack); dropped frames end with the reason', async () => {
    const { receiver, ingestor, socket, stop } = await setup();
    expect(ingestor.tracing.enabled).toBe(true);
    socket.send(depthFrame(100, 2), { binary: true });
    await vi.waitFor(() => expect(receiver.spans.filter((s) => s.name === 'kinesis put').length).toBe(1), { timeout: 30_000 });
    // not SBE at all: undecodable
    socket.send(Buffer.from('0123456789abcdef0123456789abcdef'), { binary: true });
    // a valid frame too large for one Kinesis record: dropped before decoding, and it leaves a depth gap …
    const big = depthFrame(101, 40_000);
    expect(big.length).toBeGreaterThan(MAX_ENVELOPE_PAYLOAD_BYTES);
    socket.send(big, { binary: true });
    // … which the next one reveals: it is published (the gap is announced and repaired beside it) …
    socket.send(depthFrame(102, 2), { binary: true });
    // … and a repeat of it is held back as a duplicate
    socket.send(depthFrame(102, 2), { binary: true });
    await vi.waitFor(() => expect(receiver.spans.filter((s) => s.name === 'ingestor frame').length).toBe(5), { timeout: 30_000 });

    const report = await stop();
    expect(report.failed).toEqual([]);
    const roots = receiver.spans.filter((s) => s.name === 'ingestor frame').sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    expect(roots.every((r) => r.service === 'ingestor' && r.parentSpanId === '' && r.endNs >= r.startNs)).toBe(true);
    const [published, undecodable, oversized, afterGap, duplicate] = roots;
    expect(childrenOf(receiver.spans, published!)).toEqual(['decode', 'gap check', 'kinesis put']);
    expect(published!.attributes).toMatchObject({ symbol: 'BTCUSDT', message_type: 'depth_diff' });
    expect(published!.events).toEqual([]);
    const put = receiver.spans.find((s) => s.name === 'kinesis put')!;
    expect(put.endNs).toBeLessThanOrEqual(published!.endNs);

    expect(undecodable!.events).toEqual(['dropped']);
    expect(childrenOf(receiver.spans, undecodable!)).toEqual(['decode']);
    expect(oversized!.events).toEqual(['dropped']);
    expect(childrenOf(receiver.spans, oversized!)).toEqual([]);
    expect(afterGap!.events).toEqual([]);
    expect(childrenOf(receiver.spans, afterGap!)).toEqual(['decode', 'gap check', 'kinesis put']);
    expect(duplicate!.events).toEqual(['dropped']);
    expect(childrenOf(receiver.spans, duplicate!)).toEqual(['decode', 'gap check']);
    // one clock for every span: no child outlives its parent
    const byId = new Map(receiver.spans.map((s) => [s.spanId, s]));
    for (const s of receiver.spans) {
      const parent = byId.get(s.parentSpanId);
      if (parent !== undefined) expect(s.endNs <= parent.endNs && s.startNs >= parent.startNs, `${s.name} within ${parent.name}`).toBe(true);
    }

    // nothing left open or lost: every span of the four trees was exported, none dropped, none pending
    const frameTraces = new Set(roots.map((r) => r.traceId));
    expect(receiver.spans.filter((s) => frameTraces.has(s.traceId)).length).toBe(4 + 2 + 1 + 4 + 3);
    // (the rest: the new connection's re-anchor, its snapshot calls failing against a REST side that is not there)
    expect(receiver.spans.filter((s) => !frameTraces.has(s.traceId)).every((s) => s.name === 're-anchor' || s.name === 'rest depth snapshot')).toBe(true);
    const metrics = await ingestor.registry.getMetricsAsJSON();
    const value = (name: string) => metrics.find((m) => m.name === name)!.values.reduce((a, v) => a + v.value, 0);
    expect(value('tracing_spans_dropped_total')).toBe(0);
    expect(value('tracing_spans_pending')).toBe(0);
    expect(value('tracing_spans_exported_total')).toBe(receiver.spans.length);
  });

  it('a repair is a trace of its own: re-anchor (a failed REST call recorded, then the snapshot put) and trade backfill (its pages, its puts)', async () => {
    const rest = await restSide();
    const { receiver, socket, stop } = await setup(rest.url);
    // a new connection re-anchors every book: the first snapshot call fails (400), the retry's snapshot is published
    await vi.waitFor(() => expect(receiver.spans.some((s) => s.name === 're-anchor')).toBe(true), { timeout: 30_000 });
    const trade = tradeFrame;
    socket.send(trade(1), { binary: true });
    socket.send(trade(1_502), { binary: true }); // 2..1501 missing: two REST pages
    await vi.waitFor(() => expect(receiver.spans.some((s) => s.name === 'trade backfill')).toBe(true), { timeout: 30_000 });
    socket.send(trade(3_000), { binary: true }); // 1503..2999 missing: the exchange has only 1503..2000
    socket.send(trade(5_000), { binary: true }); // 3001..4999 missing: the exchange refuses
    await vi.waitFor(() => expect(receiver.spans.filter((s) => s.name === 'trade backfill').length).toBe(3), { timeout: 30_000 });
    await stop();
    const backfills = receiver.spans.filter((s) => s.name === 'trade backfill');
    const partial = backfills.find((s) => s.attributes['from_id'] === 1_503)!;
    expect(partial.events).toEqual(['partial']);
    expect(partial.attributes['recovered']).toBe(498);
    const refused = backfills.find((s) => s.attributes['from_id'] === 3_001)!;
    expect(refused.events).toEqual(['exception']);
    expect(receiver.spans.filter((s) => s.parentSpanId === refused.spanId).map((s) => [s.name, s.events])).toEqual([['rest historical trades', ['exception']]]);

    const under = (root: ReceivedSpan) => receiver.spans.filter((s) => s.traceId === root.traceId && s.parentSpanId === root.spanId).sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    const reanchor = receiver.spans.find((s) => s.name === 're-anchor')!;
    expect(reanchor).toMatchObject({ service: 'ingestor', parentSpanId: '', attributes: { symbol: 'BTCUSDT' }, events: [] });
    const calls = under(reanchor);
    expect(calls.map((s) => s.name)).toEqual(['rest depth snapshot', 'rest depth snapshot', 'kinesis put']);
    expect(calls[0]!.events).toEqual(['exception']);
    expect(calls[1]!.attributes).toMatchObject({ last_update_id: 5_000 });

    const backfill = receiver.spans.find((s) => s.name === 'trade backfill' && s.attributes['from_id'] === 2)!;
    expect(backfill).toMatchObject({ parentSpanId: '', attributes: { symbol: 'BTCUSDT', from_id: 2, to_id: 1_501, recovered: 1_500 }, events: [] });
    expect(under(backfill).map((s) => s.name)).toEqual(['rest historical trades', 'rest historical trades', 'kinesis put']);
    for (const s of receiver.spans) expect(s.endNs >= s.startNs).toBe(true);
    // each REST call named its span to the exchange (W3C traceparent, sampled): the exchange's side can join the trace
    const restCalls = receiver.spans.filter((s) => s.name.startsWith('rest ')).sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    expect(rest.traceparents).toEqual(restCalls.map((s) => `00-${s.traceId}-${s.spanId}-01`));
    // the puts ended at Kinesis' acknowledgement, within their repair's span
    for (const root of [reanchor, backfill]) for (const s of under(root)) expect(s.startNs >= root.startNs && s.endNs <= root.endNs, `${s.name} within ${root.name}`).toBe(true);
  });
});
