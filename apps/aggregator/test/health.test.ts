/**
 * Health that tells whether the aggregator does its job (issue 14, findings
 * 1, 8 and 9): a stream whose records are all refused is a stall, failing
 * Redis writes are a fault, /health answers while Redis hangs, and stop()
 * ends by its deadline whatever Redis does. Real kinesalite and redis-server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { KinesisProducer } from '@hotpath/kinesis';
import { KinesisEmulator, KinesisFaultProxy } from '@hotpath/kinesis/testing';
import { RedisServer } from '@hotpath/state/testing';
import { FeatureStore, VectorStatus, encodeVector, keys } from '@hotpath/state';
import { SymbolProcessor } from '@hotpath/processor';
import { Aggregator, AggregatorConfigSchema } from '../src/index.ts';

interface Health {
  ok: boolean;
  reading: string;
  lastAppliedAgeMs: number;
  redis: string;
  writes: string;
  leaseRounds: string;
  applying: string;
}

describe('aggregator health and stop', () => {
  const emu = new KinesisEmulator();
  const redisServer = new RedisServer();
  const writer = new EnvelopeWriter('BTCUSDT', 3);
  const fixture = [writer.connected(1, 'test'), ...recordingEnvelopes(readRecording(FIXTURE_SPOT_BTCUSDT), writer)];
  let streams = 0;
  let aggregator: Aggregator | undefined;
  let producer: KinesisProducer | undefined;

  beforeAll(async () => {
    await emu.start();
    await redisServer.start();
  });
  afterEach(async () => {
    redisServer.resume();
    await producer?.stop().catch(() => undefined);
    await aggregator?.stop();
    aggregator = undefined;
    // each test starts from an empty Redis: shard ids repeat across streams, and a checkpoint of another stream's shard would be resumed
    const admin = new Redis(redisServer.url);
    await admin.flushall();
    admin.disconnect();
  });
  afterAll(async () => {
    await redisServer.stop();
    await emu.stop();
  });

  async function start(extra: object = {}): Promise<string> {
    const stream = `health-${++streams}`;
    await emu.createStream(stream, 1);
    producer = new KinesisProducer(emu.client(), { streamName: stream });
    await producer.start();
    aggregator = new Aggregator(
      AggregatorConfigSchema.parse({
        redisUrl: redisServer.url,
        symbols: ['BTCUSDT'],
        kinesisStream: stream,
        kinesisEndpoint: emu.endpoint,
        owner: `a-${streams}`,
        leaseTtlMs: 2_000,
        pollMs: 20,
        port: 0,
        host: '127.0.0.1',
        logLevel: process.env.TEST_LOG ?? 'silent',
        fetch: 'inline',
        ...extra,
      }),
    );
    await aggregator.start();
    return stream;
  }

  const health = async (): Promise<{ status: number; body: Health }> => {
    const res = await fetch(`http://127.0.0.1:${aggregator!.httpPort}/health`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: (await res.json()) as Health };
  };

  it('records that keep arriving and are all refused read as a stall, not ok', async () => {
    await start({ stallAfterMs: 300 });
    const notFound = await fetch(`http://127.0.0.1:${aggregator!.httpPort}/nope`);
    expect([notFound.status, notFound.headers.get('content-type')]).toEqual([404, 'application/problem+json; charset=utf-8']);
    producer!.put('BTCUSDT', fixture[0]!);
    await producer!.flush();
    await vi.waitFor(async () => expect((await health()).body.ok).toBe(true), { timeout: 20_000 });
    // the same envelope again and again: every one a duplicate
    await vi.waitFor(
      async () => {
        producer!.put('BTCUSDT', fixture[0]!);
        await producer!.flush();
        const h = await health();
        expect(h.body.applying).toBe('stalled');
        expect(h.status).toBe(503);
      },
      { timeout: 30_000, interval: 100 },
    );
    // new data flows again: ok
    for (const e of fixture.slice(1, 200)) producer!.put('BTCUSDT', e);
    await producer!.flush();
    await vi.waitFor(async () => expect((await health()).body).toMatchObject({ ok: true, applying: 'ok' }), { timeout: 20_000 });
  });

  it('failing Redis writes (READONLY) read as not ok, and recover', async () => {
    await start();
    for (const e of fixture.slice(0, 500)) producer!.put('BTCUSDT', e);
    await producer!.flush();
    await vi.waitFor(async () => expect((await health()).body.ok).toBe(true), { timeout: 20_000 });
    const admin = new Redis(redisServer.url);
    try {
      // a replica of nothing: every write answers READONLY, reads and PING still work
      await admin.replicaof('127.0.0.1', '1');
      let i = 500;
      await vi.waitFor(
        async () => {
          for (const e of fixture.slice(i, i + 50)) producer!.put('BTCUSDT', e);
          i += 50;
          await producer!.flush();
          const h = await health();
          expect(h.body.redis).toBe('ok');
          // writes fail, or the lease rounds do first (the lease then expires and nothing more is written)
          expect([h.body.writes, h.body.leaseRounds]).toContain('failing: READONLY');
          expect(h.status).toBe(503);
        },
        { timeout: 30_000, interval: 100 },
      );
      await admin.replicaof('NO', 'ONE');
      await vi.waitFor(
        async () => {
          for (const e of fixture.slice(i, i + 50)) producer!.put('BTCUSDT', e);
          i += 50;
          await producer!.flush();
          expect((await health()).body.ok).toBe(true);
        },
        { timeout: 30_000, interval: 100 },
      );
    } finally {
      await admin.replicaof('NO', 'ONE').catch(() => undefined);
      admin.disconnect();
    }
  });

  it('a batch stuck in its Redis write (writes paused by a failover) reads as not ok, and recovers', async () => {
    // a command timeout longer than the stall threshold: the write waits, and so does the PING queued behind it
    await start({ stallAfterMs: 500, redisCommandTimeoutMs: 30_000 });
    for (const e of fixture.slice(0, 200)) producer!.put('BTCUSDT', e);
    await producer!.flush();
    await vi.waitFor(async () => expect((await health()).body.ok).toBe(true), { timeout: 20_000 });
    const admin = new Redis(redisServer.url);
    try {
      // what a Redis failover does: write commands (every script) wait, reads and PING answer
      await admin.call('CLIENT', 'PAUSE', '25000', 'WRITE');
      let i = 200;
      await vi.waitFor(
        async () => {
          for (const e of fixture.slice(i, i + 20)) producer!.put('BTCUSDT', e);
          i += 20;
          await producer!.flush();
          const h = await health();
          expect(h.body.redis).toBe('timeout');
          expect(h.status).toBe(503);
        },
        { timeout: 20_000, interval: 100 },
      );
      await admin.call('CLIENT', 'UNPAUSE');
      await vi.waitFor(async () => expect((await health()).body).toMatchObject({ ok: true, applying: 'ok' }), { timeout: 20_000 });
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });

  it('throttled GetRecords are counted by error name, logged, retried, and every record is still applied', async () => {
    const proxy = new KinesisFaultProxy(emu.endpoint);
    await proxy.start();
    try {
      // every other GetRecords refused the way AWS refuses it (HTTP 400, ProvisionedThroughputExceededException)
      let calls = 0;
      proxy.refuse((c) => (c.operation === 'GetRecords' && calls++ % 2 === 0 ? { type: 'ProvisionedThroughputExceededException' } : undefined));
      await start({ kinesisEndpoint: proxy.endpoint });
      for (const e of fixture.slice(0, 300)) producer!.put('BTCUSDT', e);
      await producer!.flush();
      const metric = async (name: string, labels: Record<string, string>): Promise<number> =>
        (await aggregator!.registry.getMetricsAsJSON())
          .find((m) => m.name === name)
          ?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
          .reduce((a, v) => a + v.value, 0) ?? 0;
      await vi.waitFor(async () => expect(await metric('aggregator_kinesis_records_processed_total', {})).toBe(300), { timeout: 30_000 });
      proxy.refuse(() => undefined);
      const refused = proxy.count('GetRecords').refused;
      expect(refused).toBeGreaterThan(0);
      expect(await metric('aggregator_kinesis_errors_total', { error: 'ProvisionedThroughputExceededException' })).toBe(refused);
    } finally {
      await aggregator?.stop();
      aggregator = undefined;
      await proxy.stop();
    }
  });

  it('a fetch worker thread killed from outside is counted, and its shard is read again from its checkpoint', async () => {
    await start({ fetch: 'worker' });
    const metric = async (name: string): Promise<number> => (await aggregator!.registry.getMetricsAsJSON()).find((m) => m.name === name)?.values.reduce((a, v) => a + v.value, 0) ?? 0;
    for (const e of fixture.slice(0, 200)) producer!.put('BTCUSDT', e);
    await producer!.flush();
    await vi.waitFor(async () => expect(await metric('aggregator_kinesis_records_processed_total')).toBe(200), { timeout: 60_000 });
    // the thread itself dies (not close()): what a crash in the SDK or an out-of-memory would do
    const thread = (aggregator as unknown as { fetcher: { worker: { terminate(): Promise<number> } } }).fetcher.worker;
    await thread.terminate();
    await vi.waitFor(async () => expect(await metric('aggregator_fetch_worker_deaths_total')).toBe(1), { timeout: 30_000 });
    for (const e of fixture.slice(200, 400)) producer!.put('BTCUSDT', e);
    await producer!.flush();
    // a new thread reads on from the checkpoint: every later record is handled, applied or recognised as handled before
    await vi.waitFor(
      async () => {
        expect(await metric('aggregator_kinesis_records_processed_total')).toBeGreaterThanOrEqual(400);
        expect((await health()).body.ok).toBe(true);
      },
      { timeout: 60_000 },
    );
  });

  it('a new owner still replaying below the vector readers have reads as catching_up, not ok', async () => {
    await start({ stallAfterMs: 300 });
    // what a previous owner published further along the stream: every vector of ours is older until we pass it
    const admin = new Redis(redisServer.url);
    await admin.set(
      keys.vector('BTCUSDT'),
      encodeVector({ status: VectorStatus.Live, version: 1e9, eventTimeUs: 1, writtenAtUs: 1, bestBid: 1, bestAsk: 2, schemaHash: '0123456789abcdef', features: new Float64Array(4) }),
    );
    admin.disconnect();
    let i = 0;
    await vi.waitFor(
      async () => {
        for (const e of fixture.slice(i, i + 40)) producer!.put('BTCUSDT', e);
        i += 40;
        await producer!.flush();
        const h = await health();
        expect(h.body.applying).toBe('catching_up');
        expect(h.status).toBe(503);
      },
      { timeout: 30_000, interval: 100 },
    );
  });

  it('a Kinesis outage: not reading is not ok, and the leases are kept through it (longer than their TTL)', async () => {
    await start({ leaseTtlMs: 800, stallAfterMs: 500, fetch: 'worker' });
    await vi.waitFor(
      async () => {
        expect(aggregator!.ownedShards).toHaveLength(1);
        expect((await health()).body.ok).toBe(true);
      },
      { timeout: 20_000 },
    );
    const before = [...aggregator!.leaseTokens().values()];
    const outage = emu.restart(4_000); // ListShards and GetRecords fail for five TTLs
    await vi.waitFor(
      async () => {
        const h = await health();
        expect(h.body.reading).toMatch(/^stalled/);
        expect(h.status).toBe(503);
      },
      { timeout: 20_000 },
    );
    await outage;
    await vi.waitFor(async () => expect((await health()).body).toMatchObject({ ok: true, reading: 'ok', leaseRounds: 'ok' }), { timeout: 20_000 });
    expect([...aggregator!.leaseTokens().values()]).toEqual(before); // the same lease, never lost and taken again
  });

  for (const [what, state, checkpoint] of [
    ['a state that does not decode', Buffer.from('not a state'), 'shardId-000000000000/49650000000000000000000000000000000000000000000000000000:0'],
    ['a checkpoint Kinesis would refuse', new SymbolProcessor('BTCUSDT').serialize(), 'shardId-000000000000/not-a-sequence-number'],
  ] as const) {
    it(`${what} in Redis is counted and the shard read from its start`, async () => {
      const admin = new Redis(redisServer.url);
      await new FeatureStore(admin).commit(
        'BTCUSDT',
        1,
        encodeVector({ status: VectorStatus.Stale, version: 0, eventTimeUs: 1, writtenAtUs: 1, bestBid: 1, bestAsk: 2, schemaHash: '0123456789abcdef', features: new Float64Array(4) }),
        checkpoint,
        state,
      );
      admin.disconnect();
      await start();
      for (const e of fixture.slice(0, 300)) producer!.put('BTCUSDT', e);
      await producer!.flush();
      const refused = async (): Promise<number> => (await aggregator!.registry.getMetricsAsJSON()).find((m) => m.name === 'aggregator_state_refused_total')?.values[0]?.value ?? 0;
      await vi.waitFor(
        async () => {
          expect(await refused()).toBe(1);
          expect((await health()).body).toMatchObject({ ok: true, applying: 'ok' });
          expect((await health()).body.lastAppliedAgeMs).toBeGreaterThanOrEqual(0);
        },
        { timeout: 20_000 },
      );
    });
  }

  it('answers /health while Redis hangs, and stops by its deadline', async () => {
    await start({ stopTimeoutMs: 1_000, redisCommandTimeoutMs: 500 });
    for (const e of fixture.slice(0, 300)) producer!.put('BTCUSDT', e);
    await producer!.flush();
    await vi.waitFor(async () => expect((await health()).body.ok).toBe(true), { timeout: 20_000 });
    redisServer.pause();
    const h = await health(); // (the request itself gives up after 5 s)
    expect(h.status).toBe(503);
    expect(h.body.redis).toBe('timeout');
    const stopped = aggregator!.stop().then(() => 'stopped');
    aggregator = undefined;
    const outcome = await Promise.race([stopped, new Promise((r) => setTimeout(() => r('still stopping'), 8_000))]);
    expect(outcome).toBe('stopped');
  });
});
