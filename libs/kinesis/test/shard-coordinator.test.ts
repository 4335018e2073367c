/**
 * The shard coordinator's lease balancing and shard life, against an
 * in-memory lease table with time under the test's control (no sleeps, no
 * Redis, no Kinesis): fair shares and hand-backs for balance, stealing from
 * dead owners, leases lost (renewal refused, fenced writes, failed readers),
 * parents before children after a reshard, hand-back on shutdown within its
 * deadline.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '@hotpath/telemetry';
import { ShardCoordinator, describeShards, type ShardDescription } from '../src/index.ts';
import { ManualClock, MemoryLeaseTable, RecordingProcessor, ScriptedReader, settle, shardMap } from './coordinator-support.ts';

const TTL_MS = 3_000;
const ROUND_MS = TTL_MS / 3;
const CHECKPOINT_MS = 1_000;
const FOUR = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003'];
const log = createLogger({ service: 'coordinator-test', level: 'silent' });

function world(initialMap: ShardDescription[] = shardMap(FOUR)) {
  const clock = new ManualClock();
  const table = new MemoryLeaseTable(clock, TTL_MS);
  let map = initialMap;
  let mapError: Error | undefined;

  /** One instance; `prepare` sees each processor before it opens. */
  function instance(owner: string, prepare: (p: RecordingProcessor) => void = () => undefined) {
    /** Every processor and reader opened, newest last per shard. */
    const processors: RecordingProcessor[] = [];
    const readers: ScriptedReader[] = [];
    const rounds: number[] = [];
    const coordinator = new ShardCoordinator({
      leases: table.store(owner),
      listShards: async () => {
        if (mapError !== undefined) throw mapError;
        return map;
      },
      createProcessor: (shard) => {
        const p = new RecordingProcessor(shard);
        prepare(p);
        processors.push(p);
        return p;
      },
      createReader: (options) => {
        const r = new ScriptedReader(options, clock);
        readers.push(r);
        return r;
      },
      leaseRoundMs: ROUND_MS,
      checkpointIntervalMs: CHECKPOINT_MS,
      log,
      clock,
      onRound: (held) => rounds.push(held),
    });
    return {
      coordinator,
      rounds,
      held: () => coordinator.heldShards.map((s) => s.leaseKey).sort(),
      processor: (shardId: string) => processors.filter((p) => p.leased.shard.shardId === shardId).at(-1)!,
      processorsOf: (shardId: string) => processors.filter((p) => p.leased.shard.shardId === shardId),
      reader: (shardId: string) => readers.filter((r) => r.options.shardId === shardId).at(-1)!,
      counter: (shardId: string) => coordinator.heldShards.find((s) => s.leaseKey === shardId)?.leaseCounter,
      /** One lease round, time moving while it waits for readers to stop (a hand-back inside it). */
      round: () => clock.drive(coordinator.leaseRound()),
    };
  }

  return {
    clock,
    table,
    instance,
    setMap: (next: ShardDescription[]) => (map = next),
    failMap: (err: Error | undefined) => (mapError = err),
  };
}

/** A world with one instance 'a' that has made its first lease round. */
async function aloneAfterFirstRound(map?: ShardDescription[]) {
  const w = world(map);
  const a = w.instance('a');
  await a.round();
  return { w, a };
}

describe('ShardCoordinator', () => {
  it('one instance takes every shard: each processor opens, its reader starts where the processor said, the lease table shows it', async () => {
    const { w, a } = await aloneAfterFirstRound();
    expect(a.held()).toEqual(FOUR);
    expect(a.rounds).toEqual([4]);
    for (const id of FOUR) {
      expect(a.processor(id).calls).toEqual(['open']);
      expect(a.reader(id).options.start).toBe('TRIM_HORIZON');
      expect(a.coordinator.heldShards.find((s) => s.leaseKey === id)!.state).toBe('reading');
    }
    const table = await w.table.list();
    expect(table.map((r) => [r.leaseKey, r.leaseOwner, r.expiresInMs])).toEqual(FOUR.map((id) => [id, 'a', TTL_MS]));
    expect(new Set(table.map((r) => r.leaseCounter)).size).toBe(4); // one fencing token per lease
    expect(table.map((r) => r.leaseCounter)).toEqual(FOUR.map((id) => a.counter(id)));
  });

  it('a restarted processor says where to read from: its reader starts after that checkpoint', async () => {
    const w = world(shardMap(FOUR.slice(0, 1)));
    const a = w.instance('a', (p) => (p.start = { after: '4961:2' }));
    await a.round();
    expect(a.reader(FOUR[0]!).options.start).toEqual({ after: '4961:2' });
  });

  it('a second instance: the first hands back its highest shards (batches finished, last checkpoint, release), the second takes them', async () => {
    const w = world();
    const a = w.instance('a');
    const b = w.instance('b');
    await a.round();
    await b.round(); // two members now, but every lease is a's and alive: nothing to take yet
    expect(b.held()).toEqual([]);
    const handedBack = [FOUR[2]!, FOUR[3]!];
    const batch = a.reader(FOUR[3]!).deliver('7');
    await a.round();
    await batch;
    expect(a.held()).toEqual(FOUR.slice(0, 2));
    for (const id of handedBack) {
      expect(a.processor(id).calls).toEqual(['open', ...(id === FOUR[3] ? ['process 7'] : []), 'checkpoint(true)', 'close(requested)']);
      expect(a.processor(id).writableAt['checkpoint(true)']).toBe(true); // the last checkpoint is written under the lease
      expect(a.processor(id).leased.writable).toBe(false);
      expect(w.table.leases.has(id)).toBe(false); // released: no waiting out a TTL
    }
    await b.round();
    expect(b.held()).toEqual(handedBack);
    expect(w.table.owners()).toEqual({ [FOUR[0]!]: 'a', [FOUR[1]!]: 'a', [FOUR[2]!]: 'b', [FOUR[3]!]: 'b' });
    // fair shares hold: nothing moves in later rounds
    await a.round();
    await b.round();
    expect([a.held(), b.held()]).toEqual([FOUR.slice(0, 2), handedBack]);
  });

  it("a dead owner's leases are taken once they expired, not before, each with a higher leaseCounter", async () => {
    const w = world();
    const a = w.instance('a');
    const b = w.instance('b');
    await a.round();
    const before = new Map(FOUR.map((id) => [id, a.counter(id)!]));
    a.coordinator.kill(); // kill -9: nothing handed back, nothing released
    for (const id of FOUR) expect(a.processor(id).leased.writable).toBe(false);
    await b.round();
    expect(b.held()).toEqual([]); // a's leases are alive for one more TTL
    await w.clock.advance(TTL_MS);
    await b.round();
    expect(b.held()).toEqual(FOUR); // a's heartbeat expired too: b's fair share is every shard
    for (const id of FOUR) {
      expect(b.counter(id)).toBeGreaterThan(before.get(id)!);
      expect(a.processor(id).calls).toEqual(['open']); // a crashed instance is told nothing
    }
  });

  it('a lease lost (renewal refused): the shard stops at once, is given up without a checkpoint, and is taken again only once its reader is over', async () => {
    const { w, a } = await aloneAfterFirstRound();
    const lost = FOUR[1]!;
    const firstCounter = a.counter(lost)!;
    const first = a.processor(lost);
    const reader = a.reader(lost);
    reader.stuck = true; // a GetRecords still in flight
    w.table.leases.get(lost)!.expiresMs = w.clock.now(); // expired, not renewed in time
    await a.round();
    expect(first.leased.writable).toBe(false);
    expect(a.held()).toEqual(FOUR.filter((id) => id !== lost));
    // free to take, but its old reader is not over: not this round, and not while it lasts
    await a.round();
    expect(a.processorsOf(lost)).toHaveLength(1);
    expect(first.calls).toEqual(['open']);
    reader.end();
    await settle();
    expect(first.calls).toEqual(['open', 'close(lease_lost)']); // no checkpoint: nothing is written under a lost lease
    await a.round();
    expect(a.held()).toEqual(FOUR);
    expect(a.counter(lost)).toBeGreaterThan(firstCounter);
    expect(a.processor(lost)).not.toBe(first);
  });

  it('a fenced write: the shard stops reading at once and is given up in the next round, its lease left to expire', async () => {
    const { w, a } = await aloneAfterFirstRound();
    const fenced = FOUR[0]!;
    const p = a.processor(fenced);
    const reader = a.reader(fenced);
    reader.stuck = true; // its last GetRecords still in flight
    p.leased.fenced();
    expect(a.coordinator.heldShards.find((s) => s.leaseKey === fenced)!.state).toBe('lost');
    expect([p.leased.writable, reader.options.active()]).toEqual([false, false]);
    const lease = { ...w.table.leases.get(fenced)! };
    await w.clock.advance(ROUND_MS);
    await a.round();
    expect(a.held()).not.toContain(fenced);
    expect(w.table.leases.get(fenced)).toEqual(lease); // neither renewed nor released
    reader.end();
    await settle();
    expect(p.calls).toEqual(['open', 'close(lease_lost)']);
    await a.round();
    expect(a.held()).toContain(fenced);
    expect(a.counter(fenced)).toBeGreaterThan(lease.counter);
  });

  it('a reader that fails: its batches finish, the lease is given up and released, and the next round takes the shard again', async () => {
    const { w, a } = await aloneAfterFirstRound();
    const failing = FOUR[2]!;
    const p = a.processor(failing);
    const counter = a.counter(failing)!;
    const batch = a.reader(failing).deliver('1', '2');
    a.reader(failing).fail(new Error('the fetch worker died'));
    await batch;
    await settle();
    expect(p.calls).toEqual(['open', 'process 1,2', 'close(lease_lost)']);
    expect(w.table.leases.has(failing)).toBe(false);
    await a.round();
    expect(a.counter(failing)).toBeGreaterThan(counter);
    expect(a.processor(failing)).not.toBe(p);
  });

  it('batches run one after another; one the processor refuses is refused to the reader (which hands it over again)', async () => {
    const w = world(shardMap(FOUR.slice(0, 1)));
    const a = w.instance('a');
    await a.round();
    const p = a.processor(FOUR[0]!);
    const r = a.reader(FOUR[0]!);
    p.processError = new Error('READONLY');
    await expect(r.deliver('1')).rejects.toThrow('READONLY');
    p.processError = undefined;
    await Promise.all([r.deliver('1'), r.deliver('2')]);
    expect(p.calls).toEqual(['open', 'process 1', 'process 1', 'process 2']);
  });

  describe('after a reshard', () => {
    const PARENT = 'shardId-000000000000';
    const CHILDREN = ['shardId-000000000001', 'shardId-000000000002'];
    const resharded = () => [...shardMap([PARENT]), ...shardMap(CHILDREN, [PARENT])];

    it('parents before children: a parent read to its end is checkpointed, recorded as finished and released; then its children are taken', async () => {
      const { w, a } = await aloneAfterFirstRound(resharded());
      expect(a.held()).toEqual([PARENT]); // children wait for it
      a.reader(PARENT).end(true);
      await settle();
      expect(a.processor(PARENT).calls).toEqual(['open', 'checkpoint(true)', 'close(shard_end)']);
      expect(w.table.finished).toEqual(new Set([PARENT]));
      expect(w.table.leases.has(PARENT)).toBe(false);
      expect(a.held()).toEqual([]);
      await a.round();
      expect(a.held()).toEqual(CHILDREN);
    });

    it('finished shards do not count towards a fair share', async () => {
      const w = world(resharded());
      w.table.finished.add(PARENT);
      const a = w.instance('a');
      const b = w.instance('b');
      await b.round(); // b alone yet: both children
      await a.round();
      await b.round(); // two members: b hands one child back
      await a.round();
      expect([a.held(), b.held()]).toEqual([[CHILDREN[1]], [CHILDREN[0]]]);
    });

    it('a child whose parent is no longer listed (trimmed) is read at once', async () => {
      const { a } = await aloneAfterFirstRound(shardMap(CHILDREN, ['shardId-000000000099']));
      expect(a.held()).toEqual(CHILDREN);
    });

    it('a parent whose last checkpoint fails is not finished: its lease is given up and it is read again', async () => {
      const { w, a } = await aloneAfterFirstRound(resharded());
      const first = a.processor(PARENT);
      first.checkpointError = new Error('READONLY');
      a.reader(PARENT).end(true);
      await settle();
      expect(first.calls).toEqual(['open', 'checkpoint(true)', 'close(lease_lost)']);
      expect(w.table.finished.size).toBe(0);
      expect(w.table.leases.has(PARENT)).toBe(false);
      await a.round();
      expect(a.held()).toEqual([PARENT]);
      expect(a.processor(PARENT)).not.toBe(first);
    });
  });

  it('a shard map that cannot be read costs no lease: those held are renewed, none taken or handed back', async () => {
    const w = world();
    const a = w.instance('a');
    const b = w.instance('b');
    await a.round();
    await b.round();
    w.failMap(new Error('Kinesis unreachable'));
    await w.clock.advance(TTL_MS - 1);
    await a.round();
    expect(a.coordinator.lastRoundError).toBeUndefined();
    expect(a.held()).toEqual(FOUR); // above its fair share of 2, kept
    expect((await w.table.list()).map((r) => r.expiresInMs)).toEqual(FOUR.map(() => TTL_MS));
    expect(a.rounds).toEqual([4]); // (no count from a round that did not read the map)
    w.failMap(undefined);
    await a.round();
    expect(a.held()).toHaveLength(2);
  });

  it('a failed lease round is reported until one succeeds', async () => {
    const w = world();
    const a = w.instance('a');
    const err = new Error('READONLY You cannot write against a read only replica.');
    w.table.failNext('heartbeat', err);
    await a.round();
    expect(a.coordinator.lastRoundError).toEqual({ err });
    expect(a.held()).toEqual([]);
    await a.round();
    expect(a.coordinator.lastRoundError).toBeUndefined();
    expect(a.held()).toEqual(FOUR);
  });

  it('a processor that cannot open fails the round; the shard is taken again in the next one', async () => {
    const w = world(shardMap(FOUR.slice(0, 1)));
    let opened = 0;
    const a = w.instance('a', (p) => {
      if (opened++ === 0) p.openError = new Error('ETIMEDOUT');
    });
    await a.round();
    expect(a.coordinator.lastRoundError?.err).toEqual(new Error('ETIMEDOUT'));
    expect(a.held()).toEqual([]);
    await a.round();
    expect(a.held()).toEqual(FOUR.slice(0, 1));
    expect(a.processorsOf(FOUR[0]!)).toHaveLength(2);
  });

  it('start(): a round at once, one every leaseRoundMs, and a checkpoint of every reading shard every checkpointIntervalMs', async () => {
    const w = world();
    const a = w.instance('a');
    await a.coordinator.start();
    expect(a.held()).toEqual(FOUR);
    const b = w.instance('b');
    await b.coordinator.start(); // a joins as a member: a hands two back in its next round
    await w.clock.advance(ROUND_MS);
    await w.clock.advance(ROUND_MS);
    expect([a.held().length, b.held().length]).toEqual([2, 2]);
    const kept = a.held()[0]!;
    const checkpoints = () => a.processor(kept).calls.filter((c) => c === 'checkpoint(false)').length;
    const n = checkpoints();
    expect(n).toBeGreaterThan(0);
    await w.clock.advance(CHECKPOINT_MS);
    expect(checkpoints()).toBe(n + 1);
    // renewed every round: the leases never get near their expiry
    await w.clock.advance(10 * TTL_MS);
    expect([a.held().length, b.held().length]).toEqual([2, 2]);
    for (const r of await w.table.list()) expect(r.expiresInMs).toBeGreaterThan(TTL_MS - ROUND_MS - 1);
    a.coordinator.halt();
    b.coordinator.halt();
  });

  it('shutdown: every shard handed back with its last checkpoint and the instance leaves, within the deadline', async () => {
    const w = world();
    const a = w.instance('a');
    const b = w.instance('b');
    await a.round();
    const { notHandedBack } = await w.clock.drive(a.coordinator.shutdown(5_000));
    expect(notHandedBack).toEqual([]);
    for (const id of FOUR) expect(a.processor(id).calls).toEqual(['open', 'checkpoint(true)', 'close(requested)']);
    expect(w.table.leases.size).toBe(0);
    expect(a.held()).toEqual([]);
    await b.round(); // a left the membership: b's fair share is every shard at once, no TTL waited
    expect(b.held()).toEqual(FOUR);
  });

  it('shutdown: a shard whose last checkpoint overruns the deadline is reported and writes nothing more; its lease is left to expire', async () => {
    const { w, a } = await aloneAfterFirstRound();
    const slow = a.processor(FOUR[1]!);
    slow.checkpointGate = new Promise(() => undefined);
    const t0 = w.clock.now();
    const { notHandedBack } = await w.clock.drive(a.coordinator.shutdown(1_000));
    expect(notHandedBack).toEqual([FOUR[1]]);
    expect(slow.leased.writable).toBe(false);
    expect([...w.table.leases.keys()]).toEqual([FOUR[1]]);
    expect(w.clock.now() - t0).toBe(1_000);
  });

  it('shutdown of a shard fenced before it: nothing more is written, its processor is told the lease was lost', async () => {
    const w = world(shardMap(FOUR.slice(0, 1)));
    const a = w.instance('a');
    await a.round();
    const p = a.processor(FOUR[0]!);
    p.leased.fenced();
    expect((await w.clock.drive(a.coordinator.shutdown(5_000))).notHandedBack).toEqual([]);
    expect(p.calls).toEqual(['open', 'checkpoint(true)', 'close(lease_lost)']);
    expect(p.writableAt['checkpoint(true)']).toBe(false);
  });

  it('describeShards: ListShards answers → hash ranges and parents', () => {
    expect(
      describeShards([
        {
          ShardId: 'shardId-000000000002',
          HashKeyRange: { StartingHashKey: '0', EndingHashKey: '170141183460469231731687303715884105727' },
          ParentShardId: 'shardId-000000000000',
          AdjacentParentShardId: 'shardId-000000000001',
          SequenceNumberRange: { StartingSequenceNumber: '1' },
        },
      ]),
    ).toEqual([{ shardId: 'shardId-000000000002', startingHashKey: 0n, endingHashKey: 2n ** 127n - 1n, parents: ['shardId-000000000000', 'shardId-000000000001'] }]);
  });
});
