/**
 * ShardReader against kinesalite: it keeps within the per-shard GetRecords
 * limit (calls spaced by pollMs, even while catching up), and it meets
 * throttling the way AWS answers it (through a proxy that returns the real
 * 400 ProvisionedThroughputExceededException to the real SDK client): it
 * reports each refusal, backs off, tries the same iterator again and loses
 * nothing — also on a LATEST start, where a new iterator would skip what
 * arrived in between.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KinesisProducer, ShardReader, listShards, type ConsumedRecord, type KinesisClient } from '../src/index.ts';
import { KinesisEmulator, KinesisFaultProxy, type KinesisCall, type KinesisFault } from '../src/testing/emulator.ts';

const text = (r: ConsumedRecord) => Buffer.from(r.data).toString();

describe('ShardReader', () => {
  const emu = new KinesisEmulator();
  beforeAll(() => emu.start());
  afterAll(() => emu.stop());

  /** `n` records, one Kinesis record each, on a new one-shard stream; returns its shard. */
  async function stream(name: string, n: number): Promise<string> {
    await emu.createStream(name, 1);
    const producer = new KinesisProducer(emu.client(), { streamName: name });
    await producer.start();
    for (let i = 0; i < n; i++) {
      producer.put('BTCUSDT', Buffer.from(`r${i}`));
      await producer.flush(); // one Kinesis record each
    }
    return (await listShards(emu.client(), name))[0]!.ShardId!;
  }

  it('spaces GetRecords calls by pollMs while behind, and still reads everything', async () => {
    const shardId = await stream('paced', 6);
    const client = emu.client();
    const calls: number[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetRecordsCommand') calls.push(performance.now());
        return next(args);
      },
      { step: 'initialize', name: 'count-get-records' },
    );
    const got: string[] = [];
    const pollMs = 200; // long beside a call's round trip, so pacing and its absence are far apart
    await new ShardReader(client, {
      streamName: 'paced',
      shardId,
      start: 'TRIM_HORIZON',
      pollMs,
      limit: 1, // one record per call: 6 calls behind
      active: () => got.length < 6,
      handle: async (records) => void got.push(...records.map(text)),
    }).run();
    expect(got).toEqual(Array.from({ length: 6 }, (_, i) => `r${i}`));
    expect(calls.length).toBeGreaterThanOrEqual(6);
    // The contract is a lower bound only: calls at least pollMs apart. A timer fires by the event loop's cached clock (a
    // little early by performance.now()), so three quarters of it over the whole span is checked: a reader that does
    // not pace while behind sends these calls back to back, a round trip apart, far below that.
    expect(calls[calls.length - 1]! - calls[0]!).toBeGreaterThanOrEqual(((calls.length - 1) * pollMs * 3) / 4);
  });

  describe('through a proxy that answers as a throttling Kinesis does', () => {
    let proxy: KinesisFaultProxy;
    let client: KinesisClient;
    beforeAll(async () => {
      proxy = new KinesisFaultProxy(emu.endpoint);
      await proxy.start();
      client = proxy.client();
    });
    afterAll(async () => {
      client.destroy();
      await proxy.stop();
    });

    it('reports each throttled GetRecords, backs off and tries the same iterator again: everything read once, in order', async () => {
      const shardId = await stream('throttled', 12);
      let getRecords = 0;
      proxy.refuse((call) => (call.operation === 'GetRecords' && ++getRecords % 2 === 1 ? { type: 'ProvisionedThroughputExceededException' } : undefined));
      const calls = proxy.answered.length;
      const errors: string[] = [];
      const got: string[] = [];
      await new ShardReader(client, {
        streamName: 'throttled',
        shardId,
        start: 'TRIM_HORIZON',
        pollMs: 10,
        limit: 2,
        active: () => got.length < 12,
        handle: async (records) => void got.push(...records.map(text)),
        onError: (err) => void errors.push((err as Error).name),
      }).run();
      expect(got).toEqual(Array.from({ length: 12 }, (_, i) => `r${i}`));
      const seen = proxy.answered.slice(calls).filter((c) => c.operation === 'GetRecords');
      const refused = seen.filter((c) => c.refused !== undefined);
      expect(refused.length).toBeGreaterThanOrEqual(6); // every other call, and 6 were needed to read 12 records
      expect(errors).toEqual(refused.map(() => 'ProvisionedThroughputExceededException'));
      // each refused call was tried again with its own iterator: nothing skipped, no iterator opened anew
      for (let i = 0; i < seen.length - 1; i++) if (seen[i]!.refused !== undefined) expect(seen[i + 1]!.input['ShardIterator']).toBe(seen[i]!.input['ShardIterator']);
      expect(proxy.answered.slice(calls).filter((c) => c.operation === 'GetShardIterator')).toHaveLength(1);
    });

    it.each<[string, KinesisFault]>([
      ['throttled (400 ProvisionedThroughputExceededException)', { type: 'ProvisionedThroughputExceededException' }],
      ['failed (500 InternalFailure)', { type: 'InternalFailure', status: 500 }],
    ])('a LATEST start whose first GetRecords is %s loses nothing put meanwhile', async (_, fault) => {
      const name = `latest-${fault.type}`;
      const shardId = await stream(name, 0);
      // The first GetRecords is held until records were put, then refused: its iterator (opened before them) still
      // reaches them; a LATEST iterator opened after the refusal would not.
      let held: (() => void) | undefined;
      const put = new Promise<void>((resolve) => (held = resolve));
      let first: KinesisCall | undefined;
      proxy.refuse(async (call) => {
        if (call.operation !== 'GetRecords' || first !== undefined) return undefined;
        first = call;
        await put;
        return fault;
      });
      const got: string[] = [];
      const errors: string[] = [];
      let giveUp = false;
      const reader = new ShardReader(client, {
        streamName: name,
        shardId,
        start: 'LATEST',
        pollMs: 10,
        active: () => got.length < 5 && !giveUp,
        handle: async (records) => void got.push(...records.map(text)),
        onError: (err) => void errors.push((err as Error).name),
      });
      const running = reader.run();
      try {
        await vi.waitFor(() => expect(first).toBeDefined(), { timeout: 20_000 });
        await emu.putRecords(
          name,
          'BTCUSDT',
          Array.from({ length: 5 }, (_, i) => Buffer.from(`late${i}`)),
        );
        held!();
        await vi.waitFor(() => expect(got).toEqual(Array.from({ length: 5 }, (_, i) => `late${i}`)), { timeout: 20_000 });
        expect(errors).toEqual([fault.type]);
      } finally {
        giveUp = true;
        held!();
        await running;
        proxy.refuse(() => undefined);
      }
    });
  });
});
