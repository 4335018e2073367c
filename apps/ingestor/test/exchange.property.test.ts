/**
 * The ingestor's untrusted boundaries, fuzzed (issue 15, item 2): what the
 * exchange sends (text frames of any content, binary frames of any bytes and
 * size) through a real Ingestor connected to a scripted WebSocket server —
 * every frame counted under a fixed label set, the connection kept, /health
 * answering; the stream it reads back at start (any records); its
 * environment; its ops server (any request target). Kinesalite, a real
 * `ws` server, no mocks.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { EnvelopeWriter } from '@hotpath/recordings';
import { BinanceJsonTranscoder, DecodeStatus, hotpath } from '@hotpath/sbe';
import { Ingestor, INGESTOR_ENV, ingestorConfigFromEnv } from '../src/index.ts';
import { textFrameType } from '../src/connection.ts';
import { MAX_ENVELOPE_PAYLOAD_BYTES } from '../src/publisher.ts';
import { resumePoints } from '../src/resume.ts';
import { expectOpsAnswer, requestTarget } from '../../exchange-sim/test/support/ops-targets.ts';
import { configRefusal } from '../../../test/support/config.ts';

const TEXT_LABELS = ['invalid', 'reply', 'other', 'serverShutdown'];
const DECODE_LABELS = [...Object.keys(DecodeStatus).filter((k) => Number.isNaN(Number(k))), 'unknown', 'oversized'];

const tr = new BinanceJsonTranscoder();
function tradeFrame(id: number, symbol = 'BTCUSDT'): Buffer {
  const out = Buffer.alloc(256);
  return Buffer.from(out.subarray(0, tr.encodeTrade({ e: 'trade', E: 1_700_000_000_000, s: symbol, t: id, p: '60000.01', q: '0.001', T: 1_700_000_000_000, m: false }, out)));
}
function depthFrame(updateId: number, levels: number): Buffer {
  const side = Array.from({ length: levels }, (_, i): [string, string] => [`${60000 + i * 0.01}`, '1.5']);
  const out = Buffer.alloc(64 + levels * 2 * 16 + 64);
  return Buffer.from(out.subarray(0, tr.encodeDepthUpdate({ e: 'depthUpdate', E: 1_700_000_000_000, s: 'BTCUSDT', U: updateId, u: updateId, b: side, a: side }, out)));
}

describe('text frames', () => {
  it('textFrameType: any bytes get one of the fixed labels, and objects are read by their "e"', () => {
    const text = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.string({ unit: 'binary', maxLength: 100 }).map((s) => Buffer.from(s)),
      fc.json({ maxDepth: 3 }).map((s) => Buffer.from(s)),
      fc.record({ e: fc.oneof(fc.constant('serverShutdown'), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify(o))),
    );
    fc.assert(
      fc.property(text, (data) => {
        const label = textFrameType(data);
        expect(TEXT_LABELS).toContain(label);
        // an independent reading of the same rule
        let v: unknown;
        try {
          v = JSON.parse(data.toString());
        } catch {
          return void expect(label).toBe('invalid');
        }
        const isObject = typeof v === 'object' && v !== null && !Array.isArray(v);
        const e = isObject ? (v as Record<string, unknown>)['e'] : undefined;
        expect(label).toBe(!isObject ? 'invalid' : e === undefined ? 'reply' : e === 'serverShutdown' ? 'serverShutdown' : 'other');
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('the stream read back at start', () => {
  const symbols = ['BTCUSDT', 'ETHUSDT'];
  const w = { BTCUSDT: new EnvelopeWriter('BTCUSDT', 1, 9), ETHUSDT: new EnvelopeWriter('ETHUSDT', 1, 9), XRPUSDT: new EnvelopeWriter('XRPUSDT', 1, 9) };
  type Sym = keyof typeof w;
  type Event = { kind: 'trade'; symbol: Sym; id: number } | { kind: 'gap'; symbol: Sym; expected: number; received: number } | { kind: 'backfill'; symbol: Sym; from: number; to: number };

  function envelopeOf(e: Event): Buffer {
    const writer = w[e.symbol];
    if (e.kind === 'trade') return writer.envelope(hotpath.EnvelopeKind.StreamFrame, 1, tradeFrame(e.id, e.symbol));
    const b = Buffer.alloc(256);
    if (e.kind === 'gap') {
      const g = new hotpath.GapNoticeEncoder().wrapAndApplyHeader(b).detectedAtUs(1).expectedId(e.expected).receivedId(e.received).kind(hotpath.GapKind.TradeId).symbol(e.symbol);
      return writer.envelope(hotpath.EnvelopeKind.GapNotice, 1, b.subarray(0, g.encodedLength));
    }
    const f = new hotpath.TradeBackfillEncoder().wrapAndApplyHeader(b).fromId(e.from).toId(e.to).receiveTimeUs(1).complete(hotpath.BoolEnum.True).priceExponent(-8).qtyExponent(-8);
    f.tradesCount(0);
    f.symbol(e.symbol);
    return writer.envelope(hotpath.EnvelopeKind.TradeBackfill, 1, b.subarray(0, f.encodedLength));
  }

  const id = fc.integer({ min: 0, max: 1_000_000 });
  const sym = fc.constantFrom<Sym>('BTCUSDT', 'ETHUSDT', 'XRPUSDT');
  const event: fc.Arbitrary<Event> = fc.oneof(
    fc.record({ kind: fc.constant('trade' as const), symbol: sym, id }),
    fc.record({ kind: fc.constant('gap' as const), symbol: sym, expected: id, received: id }),
    fc.record({ kind: fc.constant('backfill' as const), symbol: sym, from: id, to: id }),
  );

  it('resumePoints: any records (garbage, damaged envelopes) never throw and give a point per symbol', () => {
    const record = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(event, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.option(fc.nat())).map(([e, edits, cut]) => {
        let b = envelopeOf(e);
        for (const [at, v] of edits) b[at % b.length] = v;
        if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
        return new Uint8Array(b);
      }),
      event.map((e) => new Uint8Array(envelopeOf(e))),
    );
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (records) => {
        const points = resumePoints(records, symbols);
        expect([...points.keys()]).toEqual(symbols);
        for (const p of points.values()) {
          expect(p.lastTradeId).toBeGreaterThanOrEqual(-1);
          for (const g of p.unrepairedTradeGaps) expect(g.fromId).toBeLessThanOrEqual(g.toId);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('resumePoints: on well-formed records, the newest trade id and the unrepaired gaps are what a plain reading of the log says', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        const points = resumePoints(events.map(envelopeOf), symbols);
        for (const s of symbols) {
          const mine = events.filter((e) => e.symbol === s);
          const ids = mine.flatMap((e) => (e.kind === 'trade' ? [e.id] : e.kind === 'backfill' ? [e.to] : []));
          expect(points.get(s)!.lastTradeId).toBe(ids.length === 0 ? -1 : Math.max(...ids));
          // a gap is unrepaired when no later backfill reaches its end
          const open = mine.flatMap((e, i) =>
            e.kind === 'gap' && e.received > e.expected && !mine.slice(i + 1).some((x) => x.kind === 'backfill' && x.to >= e.received - 1) ? [{ fromId: e.expected, toId: e.received - 1 }] : [],
          );
          expect(points.get(s)!.unrepairedTradeGaps).toEqual(open);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('environment values', () => {
  const value = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replaceAll('\0', '')), // (an environment holds anything but NUL)
    fc.integer({ min: -10, max: 10_000_000 }).map(String),
    fc.constantFrom('ws://127.0.0.1:9443', 'http://127.0.0.1:9443', 'BTCUSDT', 'btcusdt,ethusdt', ' , ', 'key', '/run/secrets/key', 'info', '0', '1e3', 'NaN', '4096'),
  );
  const env = fc.dictionary(fc.constantFrom(...Object.keys(INGESTOR_ENV)), value, { maxKeys: 10 });

  it('ingestorConfigFromEnv: any values give a config, or a ConfigError whose every line blames a variable that was set, or a required one that was not', () => {
    fc.assert(
      fc.property(env, (e) => {
        const err = configRefusal(() => expect(ingestorConfigFromEnv(e).symbols.length).toBeGreaterThan(0));
        if (err === undefined) return;
        expect(err.issues.length).toBeGreaterThan(0);
        for (const { variable, message } of err.issues) {
          expect(Object.keys(INGESTOR_ENV), `${variable}: ${message}`).toContain(variable);
          // an unset variable is blamed only when it has no default (the API key: one of two variables gives it)
          if (!e[variable!])
            expect(['INGESTOR_STREAM_URL', 'INGESTOR_REST_URL', 'INGESTOR_SYMBOLS', 'INGESTOR_API_KEY'], `${variable}: ${message}: blames a variable that was not set`).toContain(variable);
          // the API key is in no message (where it was, "[redacted]" stands; a key may be part of that word)
          if (e['INGESTOR_API_KEY']) expect(message.replaceAll('[redacted]', '\0')).not.toContain(e['INGESTOR_API_KEY']);
        }
      }),
      { numRuns: 1_000, examples: [[{ LOG_LEVEL: '\n' }]] }, // (a value with a line break once split an issue over two lines)
    );
  });
});

describe('a real ingestor under a hostile exchange', () => {
  const emu = new KinesisEmulator();
  let wss: WebSocketServer;
  const sockets: WebSocket[] = [];
  let ingestor: Ingestor;

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    wss = new WebSocketServer({ port: 0 });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => sockets.push(ws));
    const port = (wss.address() as { port: number }).port;
    ingestor = new Ingestor(
      ingestorConfigFromEnv(
        {},
        {
          streamUrl: `ws://127.0.0.1:${port}`,
          restUrl: 'http://127.0.0.1:9',
          symbols: ['BTCUSDT'],
          apiKey: 'k',
          kinesisEndpoint: emu.endpoint,
          port: 0,
          host: '127.0.0.1',
          logLevel: 'silent',
          resumeLookbackSeconds: 0,
        },
      ),
      { kinesisClient: emu.client() },
    );
    await ingestor.start();
    await vi.waitFor(() => expect(sockets.length).toBe(1), { timeout: 10_000 });
  });
  afterAll(async () => {
    await ingestor.stop(1_000);
    for (const s of sockets) s.terminate();
    await new Promise((r) => wss.close(r));
    await emu.stop();
  });

  const sum = async (name: string): Promise<number> => (await ingestor.registry.getMetricsAsJSON()).find((m) => m.name === name)?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  const labels = async (name: string, label: string): Promise<string[]> => (await ingestor.registry.getMetricsAsJSON()).find((m) => m.name === name)?.values.map((v) => String(v.labels[label])) ?? [];

  /** A frame as the exchange might send it: text (any string, any JSON) or binary (any bytes, a damaged real frame, any size up to past one Kinesis record). */
  const frame = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .oneof(fc.json({ maxDepth: 3 }), fc.string({ unit: 'binary', maxLength: 200 }))
        // (a real shutdown notice rightly opens the next connection: connection.test.ts covers it)
        .filter((text) => textFrameType(Buffer.from(text)) !== 'serverShutdown')
        .map((text) => ({ text })),
    },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 2_048 }).map((b) => ({ binary: Buffer.from(b) })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(tradeFrame(1), depthFrame(10, 3)), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.option(fc.nat()))
        .map(([base, edits, cut]) => {
          let b = Buffer.from(base);
          for (const [at, v] of edits) b[at % b.length] = v;
          if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
          return { binary: b };
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: MAX_ENVELOPE_PAYLOAD_BYTES - 16, max: MAX_ENVELOPE_PAYLOAD_BYTES + 4_096 }), fc.integer({ min: 0, max: 255 }))
        .map(([n, fill]) => ({ binary: Buffer.alloc(n, fill) })),
    },
  );

  it('any frames are each counted (text frames by type, binary ones decoded or as a decode error), under fixed labels; the connection and /health stay up', async () => {
    const socket = sockets[0]!;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
        const before = { text: await sum('ingestor_sbe_text_frames_total'), errors: await sum('ingestor_sbe_decode_errors_total'), messages: await sum('ingestor_sbe_messages_total') };
        for (const f of frames) {
          if ('text' in f) socket.send(f.text);
          else socket.send(f.binary, { binary: true });
        }
        const texts = frames.filter((f) => 'text' in f).length;
        await vi.waitFor(
          async () => {
            expect(await sum('ingestor_sbe_text_frames_total')).toBe(before.text + texts);
            expect((await sum('ingestor_sbe_decode_errors_total')) - before.errors + (await sum('ingestor_sbe_messages_total')) - before.messages).toBe(frames.length - texts);
          },
          { timeout: 10_000, interval: 20 },
        );
        expect(sockets.length).toBe(1); // never reconnected
        expect(ingestor.health().connected).toBe(true);
      }),
      // (always among them: a frame past one Kinesis record, a real trade, a text frame that is not an object)
      { numRuns: 150, examples: [[[{ binary: Buffer.alloc(MAX_ENVELOPE_PAYLOAD_BYTES + 1, 7) }, { binary: tradeFrame(2) }, { text: 'null' }]]] },
    );
    expect(await labels('ingestor_sbe_decode_errors_total', 'reason')).toContain('oversized');
    expect(await sum('ingestor_sbe_messages_total')).toBeGreaterThan(0);
    for (const l of await labels('ingestor_sbe_text_frames_total', 'type')) expect(TEXT_LABELS).toContain(l);
    for (const l of await labels('ingestor_sbe_decode_errors_total', 'reason')) expect(DECODE_LABELS).toContain(l);
    const health = await fetch(`http://127.0.0.1:${ingestor.httpPort}/health`, { signal: AbortSignal.timeout(5_000) });
    expect(health.status).toBe(200);
  });

  it('ops server: any request target is answered below 500 (404 problem JSON for a path it does not serve)', async () => {
    const port = ingestor.httpPort;
    await fc.assert(
      fc.asyncProperty(requestTarget, async (target) => {
        await expectOpsAnswer(port, target);
      }),
      { numRuns: 300 },
    );
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
  });
});
