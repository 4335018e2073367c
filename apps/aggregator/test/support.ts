/**
 * What the aggregator tests share: the fixture as the ingestor publishes it, a clean stop, the watch on a dead owner's
 * leases, and the exactly-once drill of two instances sharing a stream (run on one redis-server and on a Redis Cluster).
 */
import { expect, vi } from 'vitest';
import { FEATURES_OFFSET } from '@hotpath/features';
import { KinesisProducer } from '@hotpath/kinesis';
import type { KinesisEmulator } from '@hotpath/kinesis/testing';
import { SymbolProcessor } from '@hotpath/processor';
import { EnvelopeWriter, FIXTURE_SPOT_BTCUSDT, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { hotpath } from '@hotpath/sbe';
import { FeatureStore, type RedisClient } from '@hotpath/state';
import { Aggregator, AggregatorConfigSchema, type AggregatorConfig } from '../src/index.ts';

/**
 * Watches the leases of `shards` from a killed `owner` until others hold every one; resolves with each lease's last
 * expiry under `owner` (Redis server time, ms; the last renewal it made before it died, in flight ones included).
 */
export async function expiriesUntilTaken(redis: RedisClient, stream: string, shards: readonly string[], owner: string): Promise<Map<string, number>> {
  const lastExpiry = new Map<string, number>();
  await vi.waitFor(
    async () => {
      for (const shard of shards) {
        const lease = await redis.hgetall(`lease:{${stream}}:${shard}`);
        if (lease['owner'] === owner) lastExpiry.set(shard, Number(lease['expires']));
      }
      for (const shard of shards) expect((await redis.hget(`lease:{${stream}}:${shard}`, 'owner')) ?? owner, shard).not.toBe(owner);
    },
    { timeout: 60_000, interval: 20 },
  );
  expect([...lastExpiry.keys()].sort()).toEqual([...shards].sort()); // (seen under the dead owner first: watched from its death)
  return lastExpiry;
}

/** The fixture as the ingestor would publish it: a Connected event, then every frame, the REST snapshot in place. */
export function envelopes(): Buffer[] {
  const writer = new EnvelopeWriter('BTCUSDT', 7);
  return [writer.connected(1, 'test'), ...recordingEnvelopes(readRecording(FIXTURE_SPOT_BTCUSDT), writer)];
}

/** The same envelopes under another partition key: each symbol gets an identical, independent history. */
export function forSymbol(symbol: string, list: readonly Buffer[]): Buffer[] {
  const d = new hotpath.EnvelopeDecoder();
  const enc = new hotpath.EnvelopeEncoder();
  const out = Buffer.alloc(300 * 1024);
  return list.map((e) => {
    d.wrap(e);
    const x = enc.wrapAndApplyHeader(out).receiveTimeUs(d.receiveTimeUs).sequence(d.sequence).connectionEpoch(d.connectionEpoch).kind(d.kind).symbol(symbol).payload(d.payload());
    return Buffer.from(out.subarray(0, x.encodedLength));
  });
}

/** The offline replay of `list`: what a symbol fed exactly these envelopes, each once, must end as. */
export function replayOf(list: readonly Buffer[]): SymbolProcessor {
  const p = new SymbolProcessor('X');
  list.forEach((e, i) => {
    p.apply(e, `0:${i}`);
  });
  return p;
}

/** Puts `list` under each of `symbols` (its own partition key) and waits until Kinesis has acknowledged all of it. */
export async function produce(producer: KinesisProducer, symbols: readonly string[], list: readonly Buffer[]): Promise<void> {
  for (const s of symbols) for (const e of forSymbol(s, list)) producer.put(s, e);
  await producer.flush();
}

/** Until every symbol's stored vector is at `version` or past it. */
export async function vectorsAt(store: FeatureStore, symbols: readonly string[], version: number): Promise<void> {
  for (const s of symbols) await vi.waitFor(async () => expect((await store.readVector(s))?.version ?? 0, s).toBeGreaterThanOrEqual(version), { timeout: 60_000, interval: 50 });
}

/** Every symbol's stored vector is the offline replay's: its version (events applied) and its features, byte for byte. */
export async function expectReplayed(store: FeatureStore, symbols: readonly string[], reference: SymbolProcessor): Promise<void> {
  await vectorsAt(store, symbols, reference.version);
  for (const s of symbols) {
    const v = (await store.readVector(s))!;
    expect(v.version, s).toBe(reference.version);
    expect(Buffer.from(v.features.buffer).equals(Buffer.from(reference.vectorBytes(0).subarray(FEATURES_OFFSET))), s).toBe(true);
  }
}

/** The connection fields of an aggregator's configuration: `{ redisUrl }`, or with `redisClusterNodes` for a cluster. */
export type RedisFields = { redisUrl: string; redisClusterNodes?: string };

/** An aggregator of the drills: silent, HTTP on a free port, short leases, the stream read every 20 ms. */
export function drillAggregator(
  owner: string,
  o: { redis: RedisFields; stream: string; endpoint: string; symbols: readonly string[] },
  over: Partial<Record<keyof AggregatorConfig, unknown>> = {},
): Aggregator {
  return new Aggregator(
    AggregatorConfigSchema.parse({
      ...o.redis,
      symbols: o.symbols,
      kinesisStream: o.stream,
      kinesisEndpoint: o.endpoint,
      owner,
      leaseTtlMs: 1500,
      pollMs: 20,
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      ...over,
    }),
  );
}

/**
 * The exactly-once drill: two aggregators split a 4-shard stream (created here as `stream`), half the fixture is
 * applied under each of `symbols`, one instance is killed (nothing committed or released), the rest arrives while the
 * other takes its shards over once their leases expired; every symbol ends byte-identical to the offline replay, and
 * the dead instance's lease tokens (a zombie waking up) are fenced off. `client` reads what the aggregators wrote.
 */
export async function exactlyOnceDrill(o: { emu: KinesisEmulator; stream: string; redis: RedisFields; client: RedisClient; symbols: readonly string[] }): Promise<void> {
  const { emu, stream, client, symbols } = o;
  await emu.createStream(stream, 4);
  const base = envelopes();
  const reference = replayOf(base);
  const on = { redis: o.redis, stream, endpoint: emu.endpoint, symbols };
  const a = drillAggregator('a', on);
  const b = drillAggregator('b', on);
  await a.start();
  await b.start();
  await vi.waitFor(() => expect([a.ownedShards.length, b.ownedShards.length]).toEqual([2, 2]), { timeout: 30_000, interval: 50 });
  expect(new Set([...a.ownedShards, ...b.ownedShards]).size).toBe(4);

  const half = Math.floor(base.length / 2);
  const producer = new KinesisProducer(emu.client(), { streamName: stream });
  await producer.start();
  await produce(producer, symbols, base.slice(0, half));
  const store = new FeatureStore(client);
  await vectorsAt(store, symbols, replayOf(base.slice(0, half)).version);
  const aTokens = a.leaseTokens();
  a.kill();
  const aExpiries = expiriesUntilTaken(client, stream, [...aTokens.keys()], 'a');
  await produce(producer, symbols, base.slice(half));
  await vi.waitFor(() => expect(b.ownedShards).toHaveLength(4), { timeout: 60_000, interval: 50 });
  // b took each of a's shards only once a's lease had expired (a token is at least the Redis time it was issued at),
  // with a newer token; how long that took is the machine's business
  for (const [shard, expiry] of await aExpiries) {
    expect(b.leaseTokens().get(shard), shard).toBeGreaterThanOrEqual(expiry);
    expect(b.leaseTokens().get(shard), shard).toBeGreaterThan(aTokens.get(shard)!);
  }
  await expectReplayed(store, symbols, reference);
  // a's lease tokens are dead: a paused "a" waking up could not write any more
  const [shard, token] = [...aTokens].find(([sh]) => b.symbolsOf(sh).length > 0)!;
  const victim = b.symbolsOf(shard)[0]!;
  await expect(store.commit(victim, token, reference.vectorBytes(0), 'zombie', Buffer.alloc(0))).rejects.toThrow(/fenced/);
  expect((await store.loadState(victim))!.checkpoint).not.toBe('zombie');
  await stopCleanly(b);
  await producer.stop();
}

/**
 * A graceful stop given all the time it needs (its default deadline is for production; how fast this machine is, is
 * not what is tested): it must leave nothing undone, state committed and leases handed back.
 */
export async function stopCleanly(agg: Aggregator): Promise<void> {
  expect((await agg.stop(120_000)).failed).toEqual([]);
}
