/**
 * Shard readers in the fetch worker (a real worker thread, against
 * kinesalite) keep the in-thread ShardReader's contract: the same records in
 * the same order, a refused batch delivered again from its first record, a
 * quiet shard stopped by `active()`, and a dead worker reported, not hidden.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchWorker, KinesisProducer, ShardReader, listShards, type ConsumedRecord, type ShardReaderOptions } from '../src/index.ts';
import { KinesisEmulator } from '../src/testing/emulator.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const view = (r: ConsumedRecord) => ({ shard: r.shardId, seq: r.sequenceNumber, sub: r.subSequence, key: r.partitionKey, data: Buffer.from(r.data).toString('hex') });

describe('FetchWorker', () => {
  const emu = new KinesisEmulator();
  const PER_KEY = 400;
  let shardId: string;

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('f', 1);
    await emu.createStream('quiet', 1);
    const producer = new KinesisProducer(emu.client(), { streamName: 'f' });
    await producer.start();
    for (let i = 0; i < PER_KEY; i++) for (const key of ['BTCUSDT', 'ETHUSDT']) producer.put(key, Buffer.from(`${key}:${i}`));
    await producer.flush();
    shardId = (await listShards(emu.client(), 'f'))[0]!.ShardId!;
  });
  afterAll(() => emu.stop());

  /** Reads until `want` records were handed over, then stops the reader. */
  async function readAll(make: (o: ShardReaderOptions) => { run(): Promise<void> }, want: number, refuseBatch = -1): Promise<ConsumedRecord[]> {
    const got: ConsumedRecord[] = [];
    let batches = 0;
    const reader = make({
      streamName: 'f',
      shardId,
      start: 'TRIM_HORIZON',
      pollMs: 10,
      limit: 7, // many small batches
      active: () => got.length < want,
      handle: async (records) => {
        if (batches++ === refuseBatch) throw new Error('not now');
        got.push(...records);
      },
    });
    await reader.run();
    return got;
  }

  it('hands over the records the in-thread reader does, in the same order', async () => {
    const total = 2 * PER_KEY;
    const inThread = await readAll((o) => new ShardReader(emu.client(), o), total);
    const pool = new FetchWorker({ region: 'us-east-1', endpoint: emu.endpoint });
    try {
      const viaWorker = await readAll((o) => pool.reader(o), total);
      expect(inThread).toHaveLength(total);
      expect(viaWorker.map(view)).toEqual(inThread.map(view));
      expect(viaWorker.filter((r) => r.partitionKey === 'ETHUSDT').map((r) => Buffer.from(r.data).toString())).toEqual(Array.from({ length: PER_KEY }, (_, i) => `ETHUSDT:${i}`));
    } finally {
      await pool.close();
    }
  });

  it('a batch the consumer refuses comes again, from its first record: nothing skipped, nothing doubled', async () => {
    const pool = new FetchWorker({ region: 'us-east-1', endpoint: emu.endpoint });
    try {
      const got = await readAll((o) => pool.reader(o), 2 * PER_KEY, 3);
      const keys = got.map((r) => `${r.sequenceNumber}:${r.subSequence}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(got.filter((r) => r.partitionKey === 'BTCUSDT').map((r) => Buffer.from(r.data).toString())).toEqual(Array.from({ length: PER_KEY }, (_, i) => `BTCUSDT:${i}`));
    } finally {
      await pool.close();
    }
  });

  it('stops a reader on a quiet shard when active() turns false, and reports a dead worker as a failed run', async () => {
    const pool = new FetchWorker({ region: 'us-east-1', endpoint: emu.endpoint });
    const quiet = (await listShards(emu.client(), 'quiet'))[0]!.ShardId!;
    let active = true;
    const handled: number[] = [];
    const options = (): ShardReaderOptions => ({ streamName: 'quiet', shardId: quiet, start: 'LATEST', pollMs: 10, active: () => active, handle: async (r) => void handled.push(r.length) });
    const stopped = pool.reader(options());
    const running = stopped.run();
    await sleep(300);
    active = false;
    await running; // resolves: stopped, not failed
    expect(stopped.finished).toBe(false);
    active = true;
    const orphan = pool.reader(options()).run();
    await sleep(300);
    await pool.close();
    await expect(orphan).rejects.toThrow(/fetch worker/);
    expect(handled).toEqual([]);
  });
});
