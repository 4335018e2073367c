/**
 * The ingestor's span tree for a sampled frame (issue 20), against a scripted
 * WebSocket exchange, kinesalite and an in-test OTLP/HTTP receiver, sampling
 * at 100 %: a published frame is `ingestor frame` with `decode`, `gap check`
 * and `kinesis put` under it, ended at Kinesis' acknowledgement; a frame that
 * goes no further (oversized, undecodable, a duplicate) ends its root
 * with a `dropped` event — every span started is ended and exported.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { BinanceJsonTranscoder } from '@hotpath/sbe';
import { OtlpReceiver, type ReceivedSpan } from '@hotpath/tracing/testing';
import { Ingestor, ingestorConfigFromEnv } from '../src/index.ts';
import { MAX_ENVELOPE_PAYLOAD_BYTES } from '../src/publisher.ts';

function depthFrame(updateId: number, levels: number): Buffer {
  const tr = new BinanceJsonTranscoder();
  const side = Array.from({ length: levels }, (_, i): [string, string] => [`${60000 + i * 0.01}`, '1.5']);
  const out = Buffer.alloc(64 + levels * 2 * 16 + 64);
  const n = tr.encodeDepthUpdate({ e: 'depthUpdate', E: Date.now(), s: 'BTCUSDT', U: updateId, u: updateId, b: side, a: side }, out);
  return Buffer.from(out.subarray(0, n));
}

describe('ingestor spans (sampling at 100 %)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup() {
    const receiver = await OtlpReceiver.start();
    cleanup.push(() => receiver.stop());
    const emu = new KinesisEmulator();
    await emu.start();
    await emu.createStream('market-events', 1);
    cleanup.push(() => emu.stop());
    const wss = new WebSocketServer({ port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const sockets: WebSocket[] = [];
    wss.on('connection', (ws) => sockets.push(ws));
    cleanup.push(async () => {
      for (const s of sockets) s.terminate();
      await new Promise((r) => wss.close(r));
    });
    const port = (wss.address() as { port: number }).port;
    const ingestor = new Ingestor(
      ingestorConfigFromEnv(
        {},
        { streamUrl: `ws://127.0.0.1:${port}`, restUrl: 'http://127.0.0.1:9', symbols: ['BTCUSDT'], apiKey: 'k', kinesisEndpoint: emu.endpoint, port: 0, host: '127.0.0.1', logLevel: 'silent' },
      ),
      { kinesisClient: emu.client(), tracingEnv: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '1', OTEL_BSP_SCHEDULE_DELAY: '20' } },
    );
    await ingestor.start();
    let stopped = false;
    cleanup.push(async () => (stopped ? undefined : ingestor.stop(2_000)));
    await vi.waitFor(() => expect(sockets.length).toBe(1), { timeout: 30_000 });
    const stop = async () => {
      stopped = true;
      return ingestor.stop(5_000);
    };
    return { receiver, ingestor, socket: sockets[0]!, stop };
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
    expect(receiver.spans.length).toBe(4 + 2 + 1 + 4 + 3);
    const metrics = await ingestor.registry.getMetricsAsJSON();
    const value = (name: string) => metrics.find((m) => m.name === name)!.values.reduce((a, v) => a + v.value, 0);
    expect(value('tracing_spans_dropped_total')).toBe(0);
    expect(value('tracing_spans_pending')).toBe(0);
    expect(value('tracing_spans_exported_total')).toBe(receiver.spans.length);
  });
});
