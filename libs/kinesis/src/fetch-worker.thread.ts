/**
 * The fetch worker: GetRecords (or SubscribeToShard), response parsing and KPL de-aggregation for
 * every shard the aggregator's thread opens, off that thread (like the KCL's
 * prefetching record publisher). Each batch waits for the other thread's ack
 * before the shard is polled again, as the in-thread reader waits for its
 * handler: a batch is applied before more is read, and a refused ack makes
 * the reader read it again.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createKinesisClient, type KinesisEndpoint } from './client.ts';
import { ShardReader, type ShardReaderOptions } from './shard-reader.ts';
import { packBatch, type FromWorker, type ToWorker } from './fetch-protocol.ts';
import { FanoutShardReader, createSubscribeClient } from './fanout-reader.ts';

// Prefetching is throughput work; the thread that applies and writes is the latency path. On Linux a nice
// value is per thread: this one yields a core to it (and to redis-server) when both want one.
try {
  setPriority(0, 10);
} catch {
  // not permitted or not Linux: same priority as the rest
}

const port = parentPort!;
const client = createKinesisClient(workerData as KinesisEndpoint);
let subscribeClient: ReturnType<typeof createSubscribeClient> | undefined;
const stopped = new Set<number>();
const acks = new Map<number, (ok: boolean) => void>();

function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'ack') {
    acks.get(m.id)?.(m.ok);
    acks.delete(m.id);
  } else if (m.type === 'stop') {
    stopped.add(m.id);
    acks.get(m.id)?.(false);
    acks.delete(m.id);
  } else {
    const { id } = m;
    const { consumerArn, ...shard } = m.shard;
    const options: ShardReaderOptions = {
      ...shard,
      active: () => !stopped.has(id),
      onMalformed: (sequenceNumber, err) => post({ type: 'malformed', id, sequenceNumber, message: err.message }),
      onPoll: () => post({ type: 'polled', id }),
      onError: (err) => {
        const e = err as { name?: string; message?: string; stack?: string };
        post({ type: 'error', id, name: e.name ?? 'Error', message: e.message ?? String(err), stack: e.stack });
      },
      handle: (records, millisBehindLatest) =>
        new Promise<void>((resolve, reject) => {
          acks.set(id, (ok) => (ok ? resolve() : reject(new Error('batch refused by the consumer'))));
          const batch = packBatch(records);
          post({ type: 'batch', id, batch, millisBehindLatest }, [batch.data]);
        }),
    };
    const reader =
      consumerArn === undefined ? new ShardReader(client, options) : new FanoutShardReader((subscribeClient ??= createSubscribeClient(workerData as KinesisEndpoint)), { ...options, consumerArn });
    reader
      .run()
      .then(
        () => post({ type: 'done', id, finished: reader.finished }),
        () => post({ type: 'done', id, finished: false }),
      )
      .finally(() => stopped.delete(id));
  }
});
