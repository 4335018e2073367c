/** Bad input, configuration, secrets, health and capture files. */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { createLogger } from '@hotpath/telemetry';
import { ExchangeSimulator, ReplayFeed, SimConfigSchema } from 'exchange-sim';
import { DecodeStatus, spot } from '@hotpath/sbe';
import { ConfigError, Ingestor, loadConfig } from '../src/index.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('configuration and secrets', () => {
  it('names every bad value by its variable', () => {
    const attempt = (env: Record<string, string>): string => {
      try {
        loadConfig(env);
        return '';
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
    };
    const msg = attempt({ INGESTOR_STREAM_URL: 'not a url', INGESTOR_REST_URL: 'http://x', INGESTOR_SYMBOLS: 'btc usdt', INGESTOR_PORT: '99999' });
    expect(msg).toContain('INGESTOR_STREAM_URL');
    expect(msg).toContain('INGESTOR_SYMBOLS');
    expect(msg).toContain('INGESTOR_PORT');
    expect(msg).toContain('INGESTOR_API_KEY');
    expect(attempt({ INGESTOR_STREAM_URL: 'ws://h', INGESTOR_REST_URL: 'http://h', INGESTOR_SYMBOLS: 'BTCUSDT', INGESTOR_API_KEY: 'k' })).toBe('');
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
    const config = loadConfig({}, { streamUrl: 'ws://127.0.0.1:1', restUrl: 'http://127.0.0.1:1', symbols: ['BTCUSDT'], apiKeyFile: join(dir, 'key'), logLevel: 'info' });
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
  let connections = 0;

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, logLevel: 'silent' }));
    await sim.start();
    fake = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => fake.once('listening', r));
    fake.on('connection', (ws) => {
      connections++;
      if (connections > 1) return; // later connections: silent (the watchdog's business)
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

  it('counts malformed and unknown frames, keeps the event loop turning, and reconnects a stalled stream', async () => {
    const port = (fake.address() as { port: number }).port;
    const ingestor = new Ingestor(
      loadConfig({}, { streamUrl: `ws://127.0.0.1:${port}`, restUrl: sim.urls.rest, symbols: ['BTCUSDT'], apiKey: 'k', kinesisEndpoint: emu.endpoint, port: 0, host: '127.0.0.1', watchdogMs: 400, reconnectBaseMs: 10, logLevel: 'silent' }),
    );
    await ingestor.start();
    // the process keeps turning while the flood and the stall go by: /health answers in the middle of it
    const answered = sleep(300).then(() => fetch(`http://127.0.0.1:${ingestor.httpPort}/health`)).then((r) => r.status);
    await sleep(1500);
    const metrics = await ingestor.registry.getMetricsAsJSON();
    const decodeErrors = metrics.find((m) => m.name === 'ingestor_sbe_decode_errors_total')!.values;
    const total = (name: string): number => decodeErrors.filter((v) => v.labels['reason'] === name).reduce((a, v) => a + v.value, 0);
    expect(total('UnknownTemplate')).toBe(200);
    expect(total('Truncated') + total('SchemaIdMismatch') + total('UnknownTemplate')).toBe(400);
    const text = metrics.find((m) => m.name === 'ingestor_sbe_text_frames_total')!.values;
    expect(text.reduce((a, v) => a + v.value, 0)).toBe(20_000);
    expect(connections).toBeGreaterThanOrEqual(2); // the watchdog reconnected the stalled stream
    expect([200, 503]).toContain(await answered);
    await ingestor.stop();
  });
});

describe('health and capture files', () => {
  const emu = new KinesisEmulator();
  let sim: ExchangeSimulator;
  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 10, apiKeys: ['k'], logLevel: 'silent' }));
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
    await emu.stop();
  });

  it('/health is 200 while healthy, 503 while Kinesis is unreachable; the capture replays', async () => {
    const captureDir = mkdtempSync(join(tmpdir(), 'capture-'));
    const ingestor = new Ingestor(
      loadConfig({}, { streamUrl: sim.urls.ws, restUrl: sim.urls.rest, symbols: ['BTCUSDT'], apiKey: 'k', kinesisEndpoint: emu.endpoint, port: 0, host: '127.0.0.1', captureDir, logLevel: 'silent' }),
    );
    await ingestor.start();
    await sleep(600);
    const health = async (): Promise<{ status: number; body: { ok: boolean; kinesis: string } }> => {
      const res = await fetch(`http://127.0.0.1:${ingestor.httpPort}/health`);
      return { status: res.status, body: (await res.json()) as { ok: boolean; kinesis: string } };
    };
    expect((await health()).status).toBe(200);
    const outage = emu.restart(1500);
    await sleep(700);
    const down = await health();
    expect(down.status).toBe(503);
    expect(down.body.kinesis).not.toBe('ok');
    await outage;
    // back to 200 once a retry (backoff up to 5 s) gets through
    let status = 503;
    for (let i = 0; i < 80 && status !== 200; i++) {
      await sleep(100);
      status = (await health()).status;
    }
    expect(status).toBe(200);
    const metricsText = await (await fetch(`http://127.0.0.1:${ingestor.httpPort}/metrics`)).text();
    expect(metricsText).toContain('ingestor_sbe_messages_total');
    expect(metricsText).toContain('ingestor_kinesis_put_duration_seconds');
    await ingestor.stop();

    const files = readdirSync(captureDir).map((f) => join(captureDir, f));
    expect(files.length).toBeGreaterThan(0);
    const replay = new ReplayFeed(files);
    const dec = new spot.SpotStreamDecoder();
    let trades = 0;
    replay.advanceTo(replay.lastTimeUs + 1, (f) => {
      expect(dec.wrap(f.bytes)).toBe(DecodeStatus.Ok);
      if (f.kind === 'trade') trades++;
    });
    expect(trades).toBeGreaterThan(10);
  });
});
