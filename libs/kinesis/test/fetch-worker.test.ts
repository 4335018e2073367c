/**
 * Shard readers in the fetch worker (a real worker thread, against
 * kinesalite) keep the in-thread ShardReader's contract: the same records in
 * the same order, a refused batch delivered again from its first record, a
 * quiet shard stopped by `active()`, throttling reported as the reader backs
 * off. A thread that dies (killed from outside, or crashed by an uncaught
 * exception) fails every reader it had, at once, counted; a reader opened
 * again from the consumer's checkpoint gets a new thread and exactly the rest.
 */
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FetchWorker, KinesisProducer, ShardReader, checkpointOf, listShards, type ConsumedRecord, type ShardReaderOptions } from '../src/index.ts';
import { KinesisEmulator, KinesisFaultProxy } from '../src/testing/emulator.ts';

const view = (r: ConsumedRecord) => ({ shard: r.shardId, seq: r.sequenceNumber, sub: r.subSequence, key: r.partitionKey, data: Buffer.from(r.data).toString('hex') });

/** The pool's thread, to kill it the way a crash would: without the protocol's close(). */
const threadOf = (pool: FetchWorker): Worker => (pool as unknown as { worker: Worker }).worker;

/** How a run ended, readable in a condition (a reader that hangs fails the wait instead of the whole test timeout). */
function outcome(run: Promise<void>): { state: 'running' | 'resolved' | 'rejected'; error?: Error } {
  const o: { state: 'running' | 'resolved' | 'rejected'; error?: Error } = { state: 'running' };
  run.then(
    () => (o.state = 'resolved'),
    (err: Error) => Object.assign(o, { state: 'rejected', error: err }),
  );
  return o;
}

describe('FetchWorker', () => {
  const emu = new KinesisEmulator();
  const PER_KEY = 400;
  const TOTAL = 2 * PER_KEY;
  let shardId: string;
  let quietShard: string;
  let reference: ConsumedRecord[];

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('f', 1);
    await emu.createStream('quiet', 1);
    const producer = new KinesisProducer(emu.client(), { streamName: 'f' });
    await producer.start();
    for (let i = 0; i < PER_KEY; i++) {
      for (const key of ['BTCUSDT', 'ETHUSDT']) producer.put(key, Buffer.from(`${key}:${i}`));
      if (i % 10 === 9) await producer.flush(); // aggregates of 10: 80 Kinesis records, many batches of 7
    }
    shardId = (await listShards(emu.client(), 'f'))[0]!.ShardId!;
    quietShard = (await listShards(emu.client(), 'quiet'))[0]!.ShardId!;
    // the in-thread reader's view of the shard is the reference
    reference = (await readAll((o) => new ShardReader(emu.client(), o), TOTAL)).records;
    expect(new Set(reference.map((r) => r.sequenceNumber)).size).toBe(TOTAL / 10);
  });
  afterAll(() => emu.stop());

  const endpoint = () => ({ region: 'us-east-1', endpoint: emu.endpoint });

  /** Reads until `want` records were handed over, then stops the reader; `refused`: whether `refuseBatch` was refused. */
  async function readAll(
    make: (o: ShardReaderOptions) => { run(): Promise<void> },
    want: number,
    more: Partial<ShardReaderOptions> & { refuseBatch?: number } = {},
  ): Promise<{ records: ConsumedRecord[]; refused: boolean }> {
    const { refuseBatch = -1, ...options } = more;
    const got: ConsumedRecord[] = [];
    let batches = 0;
    let refused = false;
    const reader = make({
      streamName: 'f',
      shardId,
      start: 'TRIM_HORIZON',
      pollMs: 10,
      limit: 7, // many small batches
      active: () => got.length < want,
      handle: async (records) => {
        if (batches++ === refuseBatch) {
          refused = true;
          throw new Error('not now');
        }
        got.push(...records);
      },
      ...options,
    });
    await reader.run();
    return { records: got, refused };
  }

  /** A reader of the quiet shard (nothing is ever put there): it polls until stopped or failed. */
  const quiet = (active: () => boolean, handled: number[], polls?: { n: number }): ShardReaderOptions => ({
    streamName: 'quiet',
    shardId: quietShard,
    start: 'LATEST',
    pollMs: 10,
    active,
    handle: async (r) => void handled.push(r.length),
    onPoll: () => void (polls !== undefined && polls.n++),
  });

  it('hands over the records the in-thread reader does, in the same order', async () => {
    const pool = new FetchWorker(endpoint());
    try {
      const viaWorker = (await readAll((o) => pool.reader(o), TOTAL)).records;
      expect(reference).toHaveLength(TOTAL);
      expect(viaWorker.map(view)).toEqual(reference.map(view));
      expect(viaWorker.filter((r) => r.partitionKey === 'ETHUSDT').map((r) => Buffer.from(r.data).toString())).toEqual(Array.from({ length: PER_KEY }, (_, i) => `ETHUSDT:${i}`));
      expect([pool.starts, pool.deaths]).toEqual([1, 0]);
    } finally {
      await pool.close();
    }
  });

  it('a batch the consumer refuses comes again, from its first record: nothing skipped, nothing doubled', async () => {
    const pool = new FetchWorker(endpoint());
    try {
      const { records, refused } = await readAll((o) => pool.reader(o), TOTAL, { refuseBatch: 3 });
      expect(refused).toBe(true);
      expect(records.map(view)).toEqual(reference.map(view));
    } finally {
      await pool.close();
    }
  });

  it('throttled GetRecords (a real 400 ProvisionedThroughputExceededException) are reported to the reader as it backs off, and nothing is lost', async () => {
    const proxy = new KinesisFaultProxy(emu.endpoint);
    let getRecords = 0;
    proxy.refuse((call) => (call.operation === 'GetRecords' && ++getRecords % 2 === 0 ? { type: 'ProvisionedThroughputExceededException' } : undefined));
    await proxy.start();
    const pool = new FetchWorker({ region: 'us-east-1', endpoint: proxy.endpoint });
    try {
      const errors: string[] = [];
      const { records } = await readAll((o) => pool.reader(o), TOTAL, { onError: (err) => void errors.push((err as Error).name) });
      expect(records.map(view)).toEqual(reference.map(view));
      const { refused } = proxy.count('GetRecords');
      expect(refused).toBeGreaterThan(0);
      // every refusal crossed the thread boundary as what it was, once
      expect(errors).toEqual(Array.from({ length: refused }, () => 'ProvisionedThroughputExceededException'));
    } finally {
      await pool.close();
      await proxy.stop();
    }
  });

  it('stops a reader on a quiet shard when active() turns false; close() ends the readers still open', async () => {
    const pool = new FetchWorker(endpoint());
    let active = true;
    const handled: number[] = [];
    const polls = { n: 0 };
    const stopped = pool.reader(quiet(() => active, handled, polls));
    const running = outcome(stopped.run());
    await vi.waitFor(() => expect(polls.n).toBeGreaterThanOrEqual(2), { timeout: 60_000 }); // reading, in the thread
    active = false;
    await vi.waitFor(() => expect(running.state).toBe('resolved'), { timeout: 10_000 }); // stopped, not failed
    expect(stopped.finished).toBe(false);
    const open = outcome(pool.reader(quiet(() => true, handled)).run());
    await pool.close();
    await vi.waitFor(() => expect(running.state).toBe('resolved'));
    await vi.waitFor(() => expect(open.state).toBe('rejected'), { timeout: 10_000 });
    expect(open.error?.message).toMatch(/fetch worker closed/);
    expect(handled).toEqual([]);
    expect(pool.deaths).toBe(0); // closing is not dying
  });

  it('a thread killed from outside (no close): every reader it had fails, the death is counted, and a reader opened again from the checkpoint gets a new thread and exactly the rest', async () => {
    const pool = new FetchWorker(endpoint());
    try {
      const bystander = outcome(pool.reader(quiet(() => true, [])).run());
      const got: ConsumedRecord[] = [];
      let batches = 0;
      let killedBatch: Promise<void> | undefined;
      let reading!: ReturnType<typeof outcome>;
      const reader = pool.reader({
        streamName: 'f',
        shardId,
        start: 'TRIM_HORIZON',
        pollMs: 10,
        limit: 7,
        active: () => got.length < TOTAL,
        handle: (records) => {
          got.push(...records); // applied: the consumer's checkpoint is past this batch
          if (++batches !== 5) return Promise.resolve();
          // the thread dies while the consumer still holds a batch: the batch finishes only after its reader has failed
          killedBatch = (async () => {
            await threadOf(pool).terminate();
            await vi.waitFor(() => expect(reading.state).toBe('rejected'), { timeout: 10_000 });
          })();
          return killedBatch;
        },
      });
      reading = outcome(reader.run());
      await vi.waitFor(() => expect(killedBatch).toBeDefined(), { timeout: 60_000 });
      await killedBatch;
      expect(reading.error?.message).toMatch(/fetch worker exited \(1\)/);
      await vi.waitFor(() => expect(bystander.state).toBe('rejected'), { timeout: 10_000 });
      expect(bystander.error?.message).toMatch(/fetch worker exited/);
      expect([pool.starts, pool.deaths]).toEqual([1, 1]);
      // the batch finished after the death: its acknowledgement went nowhere, and started no thread for a reader that is gone
      expect(got.length).toBeLessThan(TOTAL); // killed mid-shard: the restart has records left to read
      const { records: rest } = await readAll((o) => pool.reader(o), TOTAL - got.length, { start: { after: checkpointOf(got[got.length - 1]!) } });
      expect([...got, ...rest].map(view)).toEqual(reference.map(view));
      expect([pool.starts, pool.deaths]).toEqual([2, 1]);
    } finally {
      await pool.close();
    }
  });

  it('a thread that crashes (an uncaught exception in it) fails its readers with that error, counted; the next reader gets a new thread', async () => {
    const pool = new FetchWorker(endpoint());
    try {
      const polls = { n: 0 };
      const open = outcome(pool.reader(quiet(() => true, [], polls)).run());
      await vi.waitFor(() => expect(polls.n).toBeGreaterThanOrEqual(1), { timeout: 60_000 });
      // an open without a shard throws in the thread's message handler, where nothing catches it
      pool.send({ type: 'open', id: -1, shard: null as never });
      await vi.waitFor(() => expect(open.state).toBe('rejected'), { timeout: 10_000 });
      expect(open.error).toBeInstanceOf(TypeError);
      expect([pool.starts, pool.deaths]).toEqual([1, 1]);
      const { records: again } = await readAll((o) => pool.reader(o), TOTAL);
      expect(again.map(view)).toEqual(reference.map(view));
      expect([pool.starts, pool.deaths]).toEqual([2, 1]);
    } finally {
      await pool.close();
    }
  });
});
