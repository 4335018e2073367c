/**
 * bench:tracing's other process: the ingest world (exchange-sim + kinesalite,
 * ingest-harness.ts) and the OTLP/HTTP receiver the traced services export to
 * (@hotpath/tracing/testing). Out of the measured process because they are
 * other machines' work in production — a collector parsing spans is not the
 * traced service's cost — so the bench process's CPU is the service's own.
 *
 * Run by fork() (IPC): sends {ready, kinesisEndpoint, streamUrl, restUrl, otlpUrl},
 * then answers each request {id, cmd} with {id, ...}:
 *   stream {name}   creates a Kinesis stream of 4 shards and restarts the simulator (same seed: every
 *                   measurement sees the same market); answers the simulator's new streamUrl, restUrl
 *   spans           spans received since the last `spans`, by service.name (and forgets them: memory stays flat)
 *   stop            stops everything and exits
 */
// (relative: the root package does not depend on @hotpath/tracing; this module imports only node:http)
import { OtlpReceiver } from '../libs/tracing/src/testing/otlp-receiver.ts';
import { startIngestWorld } from './ingest-harness.ts';

export interface WorldReady {
  ready: true;
  kinesisEndpoint: string;
  streamUrl: string;
  restUrl: string;
  otlpUrl: string;
}
export type WorldCommand = { cmd: 'stream'; name: string } | { cmd: 'spans' } | { cmd: 'stop' };
export type WorldRequest = WorldCommand & { id: number };
export interface WorldReply {
  id: number;
  streamUrl?: string;
  restUrl?: string;
  spans?: Record<string, number>;
  error?: string;
}

const send = (m: WorldReady | WorldReply): void => void process.send?.(m);
const world = await startIngestWorld(Number(process.env['BENCH_INGEST_SPEED'] ?? 20));
const receiver = await OtlpReceiver.start();
process.on('message', (m: WorldRequest) => {
  void (async () => {
    try {
      if (m.cmd === 'stream') {
        await world.createStream(m.name, 4);
        await world.restartSimulator();
        send({ id: m.id, streamUrl: world.streamUrl, restUrl: world.restUrl });
      } else if (m.cmd === 'spans') {
        const spans: Record<string, number> = {};
        for (const s of receiver.spans) spans[s.service] = (spans[s.service] ?? 0) + 1;
        receiver.spans.length = 0;
        send({ id: m.id, spans });
      } else {
        await receiver.stop();
        await world.stop();
        send({ id: m.id });
        process.disconnect();
        process.exit(0);
      }
    } catch (err) {
      send({ id: m.id, error: String((err as Error).stack ?? err) });
    }
  })();
});
// the bench died without a stop: do not outlive it
process.on('disconnect', () => process.exit(0));
send({ ready: true, kinesisEndpoint: world.kinesisEndpoint, streamUrl: world.streamUrl, restUrl: world.restUrl, otlpUrl: receiver.url });
