/** Bad input, configuration, secrets, health and capture files. */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { KinesisEmulator, KinesisFaultProxy } from '@hotpath/kinesis/testing';
import { ReplayFeed } from '@hotpath/market';
import { createLogger } from '@hotpath/telemetry';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { DecodeStatus, spot } from '@hotpath/sbe';
import { ConfigError } from '@hotpath/config';
import { Ingestor, ingestorConfigFromEnv } from '../src/index.ts';

describe('configuration and secrets', () => {
  it('names every bad value by its variable', () => {
    const attempt = (env: Record<string, string>): ConfigError | undefined => {
      try {
        ingestorConfigFromEnv(env);
        return undefined;
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return err as ConfigError;
      }
    };
    const err = attempt({ INGESTOR_STREAM_URL: 'not a url', INGESTOR_REST_URL: 'http://x', INGESTOR_SYMBOLS: 'btc usdt', INGESTOR_PORT: '99999' });
    expect(err?.variables).toEqual(['INGESTOR_STREAM_URL', 'INGESTOR_SYMBOLS', 'INGESTOR_PORT', 'INGESTOR_API_KEY']);
    expect(err?.message).toMatch(/^invalid ingestor configuration:\n {2}INGESTOR_STREAM_URL: Invalid url \(got "not a url"\)\n/);
    expect(err?.message).toContain('\n  INGESTOR_API_KEY: set INGESTOR_API_KEY or INGESTOR_API_KEY_FILE');
    expect(attempt({ INGESTOR_STREAM_URL: 'ws://h', INGESTOR_REST_URL: 'http://h', INGESTOR_SYMBOLS: 'BTCUSDT', INGESTOR_API_KEY: 'k' })).toBeUndefined();
  });

  it('reads the key from a secret file and never writes it to the logs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-'));
    const secret = 'ed25519-SECRET-key-value';
    writeFileSync(join(dir, 'key'), `${secret}\n`);
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ service: 'ingestor', destination: sink });
    const config = ingestorConfigFromEnv({}, { streamUrl: 'ws://127.0.0.1:1', restUrl: 'http://127.0.0.1:1', symbols: ['BTCUSDT'], apiKeyFile: join(dir, 'key'), logLevel: 'info' });
    log.info({ config, headers: { 'x-mbx-apikey': secret }, apiKey: secret }, 'starting');
    const out = chunks.join('');
    expect(out).toContain('[redacted]');
    expect(out).not.toContain(secret);
  });
});

describe('bad input never crashes the ingestor', () => {
  const emu = new KinesisEmulator();
  let sim: ExchangeSimulator;
  let fake: WebSocketServer;
  let attempts = 0;

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, logLevel: 'silent' }));
    await sim.start();
    // the first connection floods and then stalls; every later one is refused, so once the watchdog has given up on
    // the stall the ingestor stays disconnected (whether and how often it retries, nothing connects again)
    fake = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: (_info, done) => done(++attempts === 1, 503) });
    await new Promise((r) => fake.once('listening', r));
    fake.on('connection', (ws) => {
      const unknown = Buffer.alloc(16);
      unknown.writeUInt16LE(8, 0);
      unknown.writeUInt16LE(12345, 2); // unknown template
      unknown.writeUInt16LE(1, 4);
      for (let i = 0; i < 200; i++) ws.send(Buffer.from([i, 1, 2, 3, 4, 5, 6]), { binary: true }); // truncated / garbage
      for (let i = 0; i < 200; i++) ws.send(unknown, { binary: true });
      for (let i = 0; i < 20_000; i++) ws.send(`{"flood":${i}}`); // a flood of text frames
      // ...then it stalls: nothing more on this socket
    });
  });
  afterAll(async () => {
    fake.close();
    await sim.stop();
    await emu.stop();
  });

  it('counts malformed and unknown frames, keeps running, and gives up on a stalled stream', async () => {
    const port = (fake.address() as { port: number }).port;
    // (the watchdog also bounds the WebSocket handshake: long enough for a busy machine's, short enough to wait for)
    const ingestor = new Ingestor(
      ingestorConfigFromEnv(
        {},
        {
          streamUrl: `ws://127.0.0.1:${port}`,
          restUrl: sim.urls.rest,
          symbols: ['BTCUSDT'],
          apiKey: 'k',
          kinesisEndpoint: emu.endpoint,
          port: 0,
          host: '127.0.0.1',
          watchdogMs: 3_000,
          reconnectBaseMs: 10,
          logLevel: 'silent',
        },
      ),
    );
    await ingestor.start();
    const total = async (name: string, labels: Record<string, string> = {}): Promise<number> =>
      (await ingestor.registry.getMetricsAsJSON())
        .find((m) => m.name === name)!
        .values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
        .reduce((a, v) => a + v.value, 0);
    // every frame counted, however long the flood takes to go by
    await vi.waitFor(async () => expect(await total('ingestor_sbe_text_frames_total')).toBe(20_000), { timeout: 30_000 });
    expect(await total('ingestor_sbe_decode_errors_total', { reason: 'UnknownTemplate' })).toBe(200);
    expect(await total('ingestor_sbe_decode_errors_total')).toBe(400);
    // the silent stream is dropped by the watchdog, which tries to connect again
    await vi.waitFor(async () => expect(await total('ingestor_sbe_reconnections_total', { reason: 'watchdog' })).toBe(1), { timeout: 30_000 });
    await vi.waitFor(() => expect(attempts).toBeGreaterThanOrEqual(2), { timeout: 30_000 });
    // still answering, and saying what is wrong: no stream (the live connection was dropped, nothing has connected since)
    const res = await fetch(`http://127.0.0.1:${ingestor.httpPort}/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ok: false, connected: false, kinesis: 'ok' });
    await ingestor.stop();
  });
});

describe('health and capture files', () => {
  const emu = new KinesisEmulator();
  // in front of the emulator: Kinesis answers every put with a 500 for as long as the test says
  let failing = false;
  let proxy: KinesisFaultProxy;
  let sim: ExchangeSimulator;
  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    proxy = new KinesisFaultProxy(emu.endpoint, (call) =>
      failing && call.operation === 'PutRecords' ? { type: 'InternalFailureException', status: 500, message: 'Internal service failure' } : undefined,
    );
    await proxy.start();
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 10, apiKeys: ['k'], logLevel: 'silent' }));
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
    await proxy.stop();
    await emu.stop();
  });

  it('/health is 200 while healthy, 503 while Kinesis fails, 200 again after; the capture replays', async () => {
    const captureDir = mkdtempSync(join(tmpdir(), 'capture-'));
    const ingestor = new Ingestor(
      ingestorConfigFromEnv(
        {},
        { streamUrl: sim.urls.ws, restUrl: sim.urls.rest, symbols: ['BTCUSDT'], apiKey: 'k', kinesisEndpoint: proxy.endpoint, port: 0, host: '127.0.0.1', captureDir, logLevel: 'silent' },
      ),
    );
    await ingestor.start();
    const health = async (): Promise<{ status: number; body: { ok: boolean; kinesis: string } }> => {
      const res = await fetch(`http://127.0.0.1:${ingestor.httpPort}/health`);
      return { status: res.status, body: (await res.json()) as { ok: boolean; kinesis: string } };
    };
    const trades = async (): Promise<number> =>
      (await ingestor.registry.getMetricsAsJSON()).find((m) => m.name === 'ingestor_sbe_messages_total')!.values.find((v) => v.labels['message_type'] === 'trade')?.value ?? 0;
    await vi.waitFor(async () => expect(await health()).toMatchObject({ status: 200, body: { ok: true, kinesis: 'ok' } }), { timeout: 30_000 });
    failing = true;
    await vi.waitFor(async () => expect(await health()).toMatchObject({ status: 503, body: { ok: false, kinesis: 'InternalFailureException' } }), { timeout: 30_000 });
    failing = false;
    // back to 200 once a retry (backoff up to 5 s) gets through
    await vi.waitFor(async () => expect(await health()).toMatchObject({ status: 200, body: { ok: true, kinesis: 'ok' } }), { timeout: 30_000 });
    const metricsText = await (await fetch(`http://127.0.0.1:${ingestor.httpPort}/metrics`)).text();
    expect(metricsText).toContain('ingestor_sbe_messages_total');
    expect(metricsText).toContain('ingestor_kinesis_put_duration_seconds');
    await vi.waitFor(async () => expect(await trades()).toBeGreaterThanOrEqual(10), { timeout: 30_000 });
    await ingestor.stop();

    // every trade the ingestor received is in the capture (none was a duplicate: one connection throughout)
    const files = readdirSync(captureDir).map((f) => join(captureDir, f));
    expect(files.length).toBeGreaterThan(0);
    const replay = new ReplayFeed(files);
    const dec = new spot.SpotStreamDecoder();
    let replayed = 0;
    replay.advanceTo(replay.lastTimeUs + 1, (f) => {
      expect(dec.wrap(f.bytes)).toBe(DecodeStatus.Ok);
      if (f.kind === 'trade') replayed++;
    });
    expect(replayed).toBe(await trades());
  });
});
