/**
 * The look back at start (issue 14: a 30-minute soak lost 1,721 trades when a
 * restarted ingestor spent its whole deadline reading 15 minutes of a busy
 * stream to find a predecessor that had stopped seconds before). It reads the
 * most recent records first and widens only while a symbol has no trade yet.
 * Real kinesalite; the "old" records are old because the test waits until they
 * are (arrival time is the emulator's own clock).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { EnvelopeWriter } from '@hotpath/recordings';
import { BinanceJsonTranscoder, hotpath } from '@hotpath/sbe';
import { Ingestor, ingestorConfigFromEnv } from '../src/index.ts';

const tr = new BinanceJsonTranscoder();
const scratch = Buffer.alloc(256);
function tradeEnvelope(w: EnvelopeWriter, id: number): Buffer {
  const n = tr.encodeTrade({ e: 'trade', E: 1_700_000_000_000, s: w.symbol, t: id, p: '60000.01', q: '0.001', T: 1_700_000_000_000, m: false }, scratch);
  return w.envelope(hotpath.EnvelopeKind.StreamFrame, 1, scratch.subarray(0, n));
}

describe('the look back at start reads the recent stream first', () => {
  const emu = new KinesisEmulator();
  let wss: WebSocketServer;
  const started: Ingestor[] = [];
  /** Trades published before the wait: older than the first window (30 s) when the ingestors start. */
  const OLD_BTC = 2_000;
  const OLD_ETH = 300;

  const put = (records: Buffer[]): Promise<void> => emu.putRecords('market-events', 'k', records);

  const startIngestor = async (symbol: string): Promise<Ingestor> => {
    const port = (wss.address() as { port: number }).port;
    const ingestor = new Ingestor(
      ingestorConfigFromEnv(
        {},
        {
          streamUrl: `ws://127.0.0.1:${port}`,
          restUrl: 'http://127.0.0.1:9',
          symbols: [symbol],
          apiKey: 'k',
          kinesisEndpoint: emu.endpoint,
          port: 0,
          host: '127.0.0.1',
          logLevel: (process.env['TEST_LOG'] ?? 'silent') as 'silent',
          resumeLookbackSeconds: 900,
          resumeTimeoutMs: 60_000,
        },
      ),
      { kinesisClient: emu.client() },
    );
    started.push(ingestor);
    await ingestor.start(); // (the look back is a start step: over when start() returns)
    return ingestor;
  };
  const gauge = async (i: Ingestor, name: string): Promise<number> => (await i.registry.getMetricsAsJSON()).find((m) => m.name === name)?.values[0]?.value ?? Number.NaN;
  const resumed = async (i: Ingestor, result: string): Promise<number> =>
    (await i.registry.getMetricsAsJSON()).find((m) => m.name === 'ingestor_resume_total')?.values.find((v) => v.labels['result'] === result)?.value ?? 0;

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 1);
    wss = new WebSocketServer({ port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const btc = new EnvelopeWriter('BTCUSDT', 1, 7);
    const eth = new EnvelopeWriter('ETHUSDT', 1, 7);
    await put([...Array.from({ length: OLD_BTC }, (_, i) => tradeEnvelope(btc, i + 1)), ...Array.from({ length: OLD_ETH }, (_, i) => tradeEnvelope(eth, i + 1))]);
    const oldUntil = Date.now();
    await vi.waitFor(() => expect(Date.now() - oldUntil).toBeGreaterThan(32_000), { timeout: 60_000, interval: 500 });
    // a predecessor that published BTCUSDT until moments ago
    await put(Array.from({ length: 10 }, (_, i) => tradeEnvelope(btc, OLD_BTC + i + 1)));
  }, 120_000);

  afterAll(async () => {
    for (const i of started) await i.stop(2_000);
    await new Promise((r) => wss.close(r));
    await emu.stop();
  });

  it('a predecessor that stopped moments ago is found in the first window, without reading the older stream', async () => {
    const ingestor = await startIngestor('BTCUSDT');
    expect(await resumed(ingestor, 'ok')).toBe(1);
    expect(ingestor.tracker.lastTradeIdOf('BTCUSDT')).toBe(OLD_BTC + 10);
    expect(await gauge(ingestor, 'ingestor_resume_window_seconds')).toBe(30);
    expect(await gauge(ingestor, 'ingestor_resume_records_read')).toBeLessThan(OLD_BTC);
  });

  it('a symbol with no recent trade widens the look back until its last trade is found', async () => {
    const ingestor = await startIngestor('ETHUSDT');
    expect(await resumed(ingestor, 'ok')).toBe(1);
    expect(ingestor.tracker.lastTradeIdOf('ETHUSDT')).toBe(OLD_ETH);
    expect(await gauge(ingestor, 'ingestor_resume_window_seconds')).toBe(120);
  });

  it('a symbol never published reads the whole look back and starts empty', async () => {
    const ingestor = await startIngestor('XRPUSDT');
    expect(await resumed(ingestor, 'empty')).toBe(1);
    expect(ingestor.tracker.lastTradeIdOf('XRPUSDT')).toBe(-1);
    expect(await gauge(ingestor, 'ingestor_resume_window_seconds')).toBe(900);
  });
});
