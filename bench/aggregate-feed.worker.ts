/**
 * The Kinesis side of bench:aggregate, in its own thread: kinesalite and the
 * producer do enough synchronous work per request that, sharing the
 * aggregator's event loop, they would be measured as aggregator latency.
 * Protocol: → {endpoint} once the stream exists; ← {go: envelopes per symbol};
 * → {done: total} after the last put is acknowledged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KinesisProducer } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';

const { symbols, streams, slice, sliceMs } = workerData as { symbols: string[]; streams: Uint8Array[][]; slice: number; sliceMs: number };
const emu = new KinesisEmulator();
await emu.start();
await emu.createStream('bench', 4);
const producer = new KinesisProducer(emu.client(), { streamName: 'bench' });
await producer.start();
parentPort!.postMessage({ endpoint: emu.endpoint });
parentPort!.once('message', async () => {
  let total = 0;
  const n = streams[0]!.length;
  for (let i = 0; i < n; i += slice) {
    for (let k = 0; k < symbols.length; k++) {
      for (const e of streams[k]!.slice(i, i + slice)) {
        producer.put(symbols[k]!, Buffer.from(e.buffer, e.byteOffset, e.byteLength));
        total++;
      }
    }
    await new Promise((r) => setTimeout(r, sliceMs));
  }
  await producer.flush();
  parentPort!.postMessage({ done: total });
  parentPort!.once('message', async () => {
    await emu.stop();
    process.exit(0);
  });
});
