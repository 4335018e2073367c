/**
 * The Kinesis side of bench:aggregate, in its own process at the lowest CPU
 * priority (the bench starts it under `chrt --idle 0`: it runs only when
 * nothing else wants a core). In production Kinesis and the ingestor run
 * elsewhere; here kinesalite and the producer share the bench's two cores,
 * and at normal priority their CPU time would be measured as aggregator
 * latency.
 * Protocol (IPC): → {endpoint} once the stream exists; ← 'go';
 * → {done: total} after the last put is acknowledged; ← 'stop'.
 */
import { KinesisProducer } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';

const symbols = (process.env['FEED_SYMBOLS'] ?? '').split(',');
const slice = Number(process.env['FEED_SLICE']);
const sliceMs = Number(process.env['FEED_SLICE_MS']);
const recording = readRecording(FIXTURE_SPOT_BTCUSDT);
// FEED_LIMIT: the first N envelopes per symbol (the bench keeps the total near 60,000 however many symbols)
const limit = Number(process.env['FEED_LIMIT'] ?? Number.POSITIVE_INFINITY);
const streams = symbols.map((s) => [...recordingEnvelopes(recording, new EnvelopeWriter(s))].slice(0, limit));

const emu = new KinesisEmulator();
await emu.start();
await emu.createStream('bench', 4);
const producer = new KinesisProducer(emu.client(), { streamName: 'bench' });
await producer.start();
process.send!({ endpoint: emu.endpoint });
process.once('message', async () => {
  let total = 0;
  const n = streams[0]!.length;
  for (let i = 0; i < n; i += slice) {
    for (let k = 0; k < symbols.length; k++) {
      const stream = streams[k]!;
      for (let j = i; j < Math.min(n, i + slice); j++) {
        producer.put(symbols[k]!, stream[j]!);
        total++;
      }
    }
    await new Promise((r) => setTimeout(r, sliceMs));
  }
  await producer.flush();
  process.send!({ done: total });
  process.once('message', async () => {
    await emu.stop();
    process.exit(0);
  });
});
