/**
 * bench:tracing's other processes, one per role (argv[2]): `world` — the ingest
 * world (exchange-sim + kinesalite, ingest-harness.ts) — and `collector` — the
 * OTLP/HTTP receiver the traced services export to (@hotpath/tracing/testing).
 * Out of the measured process because they are other machines' work in
 * production, so the bench process's CPU is the service's own; and apart from
 * each other, because at 100 % the collector parses megabytes of span JSON a
 * second, which on kinesalite's event loop would delay its acknowledgements —
 * the ingest latency measured — by the collector's work, not the service's.
 *
 * Run by fork() (IPC): sends {ready, ...its addresses}, then answers each
 * request {id, cmd} with {id, ...}:
 *   stream {name}   (world) creates a Kinesis stream of 4 shards and restarts the simulator (same seed:
 *                   every measurement sees the same market); answers the simulator's new streamUrl, restUrl
 *   spans           (collector) spans received since the last `spans`, by service.name (and forgets them)
 *   stop            stops everything and exits
 */
// (relative: the root package does not depend on @hotpath/tracing; this module imports only node:http)
import { OtlpReceiver } from '@hotpath/tracing/testing';
import { startIngestWorld } from './ingest-harness.ts';

export interface WorldReady {
  ready: true;
  kinesisEndpoint?: string;
  streamUrl?: string;
  restUrl?: string;
  otlpUrl?: string;
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
const role = process.argv[2];
if (role !== 'world' && role !== 'collector') throw new Error(`tracing-world: role ${role}: expected world or collector`);
const world = role === 'world' ? await startIngestWorld(Number(process.env['BENCH_INGEST_SPEED'] ?? 20)) : undefined;
const receiver = role === 'collector' ? await OtlpReceiver.start() : undefined;
process.on('message', (m: WorldRequest) => {
  void (async () => {
    try {
      if (m.cmd === 'stream' && world !== undefined) {
        await world.createStream(m.name, 4);
        await world.restartSimulator();
        send({ id: m.id, streamUrl: world.streamUrl, restUrl: world.restUrl });
      } else if (m.cmd === 'spans' && receiver !== undefined) {
        const spans: Record<string, number> = {};
        for (const s of receiver.spans) spans[s.service] = (spans[s.service] ?? 0) + 1;
        receiver.spans.length = 0;
        send({ id: m.id, spans });
      } else if (m.cmd === 'stop') {
        await receiver?.stop();
        await world?.stop();
        send({ id: m.id });
        process.disconnect();
        process.exit(0);
      } else send({ id: m.id, error: `${m.cmd} is not a ${role}'s command` });
    } catch (err) {
      send({ id: m.id, error: String((err as Error).stack ?? err) });
    }
  })();
});
// the bench died without a stop: do not outlive it
process.on('disconnect', () => process.exit(0));
send(world !== undefined ? { ready: true, kinesisEndpoint: world.kinesisEndpoint, streamUrl: world.streamUrl, restUrl: world.restUrl } : { ready: true, otlpUrl: receiver!.url });
