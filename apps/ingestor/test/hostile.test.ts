/**
 * What the network sends is untrusted (issue 14, findings 4 and 9): text
 * frames that are not objects, frame types nobody knows, and a valid SBE frame
 * too large for one Kinesis record are counted and dropped — the ingestor
 * keeps running and delivering — and a stop while Kinesis is down ends by its
 * deadline with what was not flushed counted. A scripted WebSocket exchange,
 * kinesalite, no mocks.
 */
import { createServer } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readStream } from '@hotpath/kinesis';
import { DecodeStatus, hotpath } from '@hotpath/sbe';
import type { Ingestor } from '../src/index.ts';
import { MAX_ENVELOPE_PAYLOAD_BYTES } from '../src/publisher.ts';
import { scriptedIngestor } from './support/scripted.ts';
import { depthFrame, tradeFrame } from './support/frames.ts';

const metric = async (ingestor: Ingestor, name: string, labels: Record<string, string> = {}): Promise<number> =>
  (await ingestor.registry.getMetricsAsJSON())
    .find((m) => m.name === name)
    ?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((a, v) => a + v.value, 0) ?? 0;

describe('ingestor against a hostile exchange', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** A REST side that serves historicalTrades pages (ids as asked, up to `limit`), and counts calls. */
  async function tradesRest(): Promise<{ url: string; calls: () => number }> {
    let calls = 0;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/api/v3/historicalTrades') return void res.writeHead(404).end();
      calls++;
      const from = Number(url.searchParams.get('fromId'));
      const limit = Number(url.searchParams.get('limit'));
      const page = Array.from({ length: limit }, (_, i) => ({ id: from + i, price: '60000.01', qty: '0.001', time: 1_700_000_000_000 + from + i, isBuyerMaker: i % 2 === 0, isBestMatch: true }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls: () => calls };
  }

  const setup = (restUrl?: string) => scriptedIngestor(cleanup, restUrl === undefined ? {} : { restUrl });

  it('counts text frames that are not objects or of unknown type under fixed labels, and keeps delivering', async () => {
    const { ingestor, socket } = await setup();
    for (const text of ['null', '[]', '"x"', '42', '{"e":null}', '{"e":"a-new-type-1"}', '{"e":"a-new-type-2"}', 'not json', '{"result":null,"id":1}']) socket.send(text);
    socket.send(depthFrame(100, 2), { binary: true });
    await vi.waitFor(async () => expect(await metric(ingestor, 'ingestor_sbe_messages_total', { message_type: 'depth_diff' })).toBe(1), { timeout: 30_000 });
    expect(await metric(ingestor, 'ingestor_sbe_text_frames_total', { type: 'invalid' })).toBe(5);
    expect(await metric(ingestor, 'ingestor_sbe_text_frames_total', { type: 'other' })).toBe(3);
    expect(await metric(ingestor, 'ingestor_sbe_text_frames_total', { type: 'reply' })).toBe(1);
    const types = (await ingestor.registry.getMetricsAsJSON()).find((m) => m.name === 'ingestor_sbe_text_frames_total')!.values.map((v) => v.labels['type']);
    expect(types).not.toContain('a-new-type-1');
  });

  it('a valid SBE frame too large for one Kinesis record is counted and dropped; the stream goes on', async () => {
    const { ingestor, socket } = await setup();
    const big = depthFrame(200, 40_000);
    expect(big.length).toBeGreaterThan(MAX_ENVELOPE_PAYLOAD_BYTES);
    socket.send(depthFrame(199, 2), { binary: true });
    socket.send(big, { binary: true });
    socket.send(depthFrame(201, 2), { binary: true });
    await vi.waitFor(async () => expect(await metric(ingestor, 'ingestor_sbe_decode_errors_total', { reason: 'oversized' })).toBe(1), { timeout: 30_000 });
    // the dropped frame reads as a depth gap, which the ingestor repairs (here the REST side is down: it keeps trying)
    await vi.waitFor(async () => expect(await metric(ingestor, 'ingestor_sbe_sequence_gaps_total', { kind: 'depth' })).toBe(1), { timeout: 30_000 });
    expect(ingestor.health().connected).toBe(true);
  });

  it('stops by its deadline while Kinesis is down, counting what it could not flush', async () => {
    const { kinesisDown, ingestor, socket, stop } = await setup();
    socket.send(depthFrame(300, 2), { binary: true });
    await vi.waitFor(async () => expect(await metric(ingestor, 'ingestor_kinesis_user_records_total', { result: 'acked' })).toBeGreaterThanOrEqual(1), { timeout: 30_000 });
    await kinesisDown();
    for (let i = 301; i < 320; i++) socket.send(depthFrame(i, 2), { binary: true });
    await vi.waitFor(async () => expect(await metric(ingestor, 'ingestor_kinesis_retries_total')).toBeGreaterThan(0), { timeout: 30_000 });
    // a stop that waited for Kinesis would never end: it must end (however slowly the machine gets there)
    let outcome = 'stopping';
    void stop(1_000).then(() => (outcome = 'stopped'));
    await vi.waitFor(() => expect(outcome).toBe('stopped'), { timeout: 30_000 });
    expect(await metric(ingestor, 'ingestor_kinesis_user_records_total', { result: 'lost_at_stop' })).toBeGreaterThan(0);
  });

  it('a trade gap larger than one record is backfilled in several envelopes that cover it in order', async () => {
    const rest = await tradesRest();
    const { emu, ingestor, socket } = await setup(rest.url);
    const trade = tradeFrame;
    socket.send(trade(1), { binary: true });
    socket.send(trade(40_002), { binary: true }); // ids 2..40001 missing: 40,000 trades, 1.4 MB as one envelope
    await vi.waitFor(async () => expect(await metric(ingestor, 'ingestor_backfills_total', { result: 'complete' })).toBe(1), { timeout: 30_000 });
    await vi.waitFor(async () => expect(await metric(ingestor, 'ingestor_kinesis_buffered_bytes')).toBe(0), { timeout: 30_000 });
    const env = new hotpath.EnvelopeDecoder();
    const b = new hotpath.TradeBackfillDecoder();
    const parts: { from: number; to: number; complete: boolean; ids: number[] }[] = [];
    for (const r of await readStream(emu.client(), 'market-events')) {
      expect(env.wrap(r.data)).toBe(DecodeStatus.Ok);
      if (env.kind !== hotpath.EnvelopeKind.TradeBackfill) continue;
      expect(b.wrap(env.payload())).toBe(DecodeStatus.Ok);
      const ids: number[] = [];
      const g = b.trades();
      while (g.next()) ids.push(g.id);
      parts.push({ from: b.fromId, to: b.toId, complete: b.complete === hotpath.BoolEnum.True, ids });
    }
    expect(parts.length).toBe(4);
    expect(parts[0]!.from).toBe(2);
    expect(parts[parts.length - 1]!.to).toBe(40_001);
    for (let i = 1; i < parts.length; i++) expect(parts[i]!.from).toBe(parts[i - 1]!.to + 1);
    expect(parts.every((p) => p.complete && p.ids.length === p.to - p.from + 1)).toBe(true);
    expect(parts.flatMap((p) => p.ids)).toEqual(Array.from({ length: 40_000 }, (_, i) => i + 2));
  });
});
