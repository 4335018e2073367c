import { expect, vi } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { Ingestor, ingestorConfigFromEnv } from '../../src/index.ts';

/**
 * An ingestor (BTCUSDT) connected to a scripted WebSocket exchange, over kinesalite; everything it starts is
 * pushed onto `cleanup` (run in reverse). `stop(ms)` stops the ingestor once (cleanup then skips it);
 * `kinesisDown()` stops kinesalite mid-run.
 */
export async function scriptedIngestor(
  cleanup: (() => Promise<unknown>)[],
  options: { restUrl?: string; tracingEnv?: NodeJS.ProcessEnv } = {},
): Promise<{ emu: KinesisEmulator; ingestor: Ingestor; socket: WebSocket; stop: (ms: number) => ReturnType<Ingestor['stop']>; kinesisDown: () => Promise<void> }> {
  const emu = new KinesisEmulator();
  await emu.start();
  await emu.createStream('market-events', 1);
  let emuStopped = false;
  cleanup.push(async () => (emuStopped ? undefined : emu.stop()));
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
      {
        streamUrl: `ws://127.0.0.1:${port}`,
        restUrl: options.restUrl ?? 'http://127.0.0.1:9',
        symbols: ['BTCUSDT'],
        apiKey: 'k',
        kinesisEndpoint: emu.endpoint,
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
      },
    ),
    { kinesisClient: emu.client(), ...(options.tracingEnv === undefined ? {} : { tracingEnv: options.tracingEnv }) },
  );
  await ingestor.start();
  let stopped = false;
  cleanup.push(async () => (stopped ? undefined : ingestor.stop(1_000)));
  await vi.waitFor(() => expect(sockets.length).toBe(1), { timeout: 30_000 });
  return {
    emu,
    ingestor,
    socket: sockets[0]!,
    stop: (ms) => {
      stopped = true;
      return ingestor.stop(ms);
    },
    kinesisDown: async () => {
      emuStopped = true;
      await emu.stop();
    },
  };
}
