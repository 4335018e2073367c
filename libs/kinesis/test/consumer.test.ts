/** ShardReader keeps within the per-shard GetRecords limit: never two calls closer than pollMs, even while catching up. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KinesisProducer, ShardReader, listShards } from '../src/index.ts';
import { KinesisEmulator } from '../src/testing/emulator.ts';

describe('ShardReader', () => {
  const emu = new KinesisEmulator();
  beforeAll(() => emu.start());
  afterAll(() => emu.stop());

  it('spaces GetRecords calls by pollMs while behind, and still reads everything', async () => {
    await emu.createStream('paced', 1);
    const producer = new KinesisProducer(emu.client(), { streamName: 'paced' });
    await producer.start();
    for (let i = 0; i < 12; i++) {
      producer.put('BTCUSDT', Buffer.from(`r${i}`));
      await producer.flush(); // one Kinesis record each
    }
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
    const shardId = (await listShards(client, 'paced'))[0]!.ShardId!;
    await new ShardReader(client, {
      streamName: 'paced',
      shardId,
      start: 'TRIM_HORIZON',
      pollMs: 60,
      limit: 1, // one record per call: 12 calls behind
      active: () => got.length < 12,
      handle: async (records) => void got.push(...records.map((r) => Buffer.from(r.data).toString())),
    }).run();
    expect(got).toEqual(Array.from({ length: 12 }, (_, i) => `r${i}`));
    expect(calls.length).toBeGreaterThanOrEqual(12);
    // Each call waits pollMs after the previous one was sent, so the calls span at least (n − 1) × pollMs. The span is
    // checked rather than each gap: the middleware's timestamps jitter with the event loop, a span only at its two ends.
    expect(calls[calls.length - 1]! - calls[0]!).toBeGreaterThanOrEqual((calls.length - 1) * 60 - 5);
  });
});
