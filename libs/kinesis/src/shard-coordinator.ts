/**
 * The lease side of a Kinesis consumer, in the KCL's shape: which shards this
 * instance reads, and the life of each one it holds.
 *
 * Every lease round (a third of the lease TTL) the coordinator announces this
 * instance alive, re-reads the shard map, renews the leases it holds (a lease
 * it could not renew is lost: its shard stops at once), hands back the shards
 * above its fair share (⌈unfinished shards / live instances⌉, highest shard id
 * first) and takes free or expired leases up to it (stealing a dead owner's),
 * parents before children after a reshard. A shard is not taken again while
 * the reader and work of its previous lease are still finishing.
 *
 * Each shard held is one `ShardRecordProcessor` (the application's: what to
 * do with the records, what a checkpoint is) and one reader, and moves
 * through one state machine (docs/aggregator.md draws it):
 *
 *   starting → reading → draining → ended     (shard_end, requested)
 *                 ↘──────────↘──────→ lost     (lease_lost: write nothing more)
 *
 * `stop(reason)` is the one way out of `reading`. The processor's `close`
 * gets the reason, which is the KCL's callback of the same meaning:
 * `lease_lost` = leaseLost, `shard_end` = shardEnded, `requested` =
 * shutdownRequested. Time comes from an injected clock, so the balancing is
 * tested against an in-memory LeaseStore with time under the test's control.
 */
import type { Shard } from '@aws-sdk/client-kinesis';
import { ignoreRejection } from '@hotpath/service';
import type { Logger } from '@hotpath/telemetry';
import type { ConsumedRecord, ShardReaderOptions, StartPosition } from './shard-reader.ts';
import type { ShardSource } from './fetch-worker.ts';

/** A lease this instance holds. leaseKey is the shard id; leaseCounter the fencing token every write under it carries (it only grows). */
export interface Lease {
  readonly leaseKey: string;
  readonly leaseCounter: number;
}

/** One row of the lease table. */
export interface LeaseRecord {
  leaseKey: string;
  leaseOwner: string;
  leaseCounter: number;
  /** Until the lease expires, by the store's clock; 0 or less once it has (free to take). */
  expiresInMs: number;
}

/** Where leases live (libs/state's LeaseManager: Redis; tests: memory). Expiry is the store's business, by its own clock. */
export interface LeaseStore {
  /** The lease if it is free, expired or already ours, with a new leaseCounter; undefined while another live owner holds it. */
  acquire(leaseKey: string): Promise<Lease | undefined>;
  /** Extends the lease by one TTL; false when it was lost (expired and taken, or released): write nothing more. */
  renew(lease: Lease): Promise<boolean>;
  /** Hands the lease back (only if it is still this lease: a newer leaseCounter is left alone). */
  release(lease: Lease): Promise<void>;
  /** The lease table: every lease held or expired, by leaseKey. */
  list(): Promise<LeaseRecord[]>;
  /** Announces this instance alive for one TTL; how many instances are alive (the fair share's divisor). */
  heartbeat(): Promise<number>;
  /** Leaves the membership at once (graceful stop): the others' fair share grows now, not after a TTL. */
  leave(): Promise<void>;
  /** Records a closed shard read to its end with its checkpoint committed: its children may start (KCL's SHARD_END checkpoint). */
  markFinished(leaseKey: string): Promise<void>;
  finishedShards(): Promise<Set<string>>;
}

/** A shard of the stream as the coordinator balances it. */
export interface ShardDescription {
  shardId: string;
  startingHashKey: bigint;
  endingHashKey: bigint;
  /** Read to their end before this one starts (a reshard's parent and adjacent parent). */
  parents: string[];
}

export type ShardState = 'starting' | 'reading' | 'draining' | 'ended' | 'lost';

/** Why a shard stops: the lease is gone (KCL leaseLost), the shard was read to its end (shardEnded), or a hand-back was asked for (shutdownRequested: balance, stop). */
export type StopReason = 'lease_lost' | 'shard_end' | 'requested';

/** What a shard's processor knows of the shard and the lease it works under. */
export interface LeasedShard {
  readonly shard: ShardDescription;
  readonly lease: Lease;
  /** False once the lease is lost or the shard has ended: a write now would be fenced or stale, so make none. */
  readonly writable: boolean;
  /** A write was refused for a newer leaseCounter: the lease is lost; the shard stops reading and is given up in the next round. */
  fenced(): void;
}

/** The application's side of one leased shard (the KCL's ShardRecordProcessor). */
export interface ShardRecordProcessor {
  /** Loads what was committed for the shard; where its reader starts. A throw fails the lease round (tried again next round). */
  open(): Promise<StartPosition>;
  /**
   * One batch, batches one after another. `handedOverAt` is when the reader handed it over (performance.now(), queueing
   * included). A throw makes the reader hand the batch over again from its first record.
   */
  process(records: ConsumedRecord[], handedOverAt: number): Promise<void>;
  /** Commits what changed since the last checkpoint (everything that changed when `force`); one at a time, beside the batches. */
  checkpoint(force: boolean): Promise<void>;
  /**
   * The shard is over for this processor, once its reader and batches are: after `shard_end` and `requested` the
   * final `checkpoint(true)` has been made; after `lease_lost` nothing may be written. Resolves once nothing of the
   * shard is in flight.
   */
  close(reason: StopReason): Promise<void>;
}

/** The reader options the coordinator decides; the application adds the stream, limits and its error reporting. */
export type CoordinatedReaderOptions = Pick<ShardReaderOptions, 'shardId' | 'start' | 'active' | 'onPoll' | 'handle'>;

/** Time as the coordinator sees it: the system's, or a test's. */
export interface CoordinatorClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: CoordinatorClock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
  // (a stop deadline must not keep the process alive)
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ShardCoordinatorOptions {
  leases: LeaseStore;
  /** The stream's shards, parents before children (Kinesis ListShards: `describeShards`). */
  listShards: () => Promise<ShardDescription[]>;
  createProcessor: (shard: LeasedShard) => ShardRecordProcessor;
  createReader: (options: CoordinatedReaderOptions) => ShardSource;
  /** How often a lease round runs: a third of the lease TTL leaves two renewals' room before a lease expires. */
  leaseRoundMs: number;
  /** How often every reading shard is checkpointed, changed or quiet: a restart replays at most this much. */
  checkpointIntervalMs: number;
  log: Logger;
  clock?: CoordinatorClock;
  /** After each lease round that read the shard map: how many shards are held. */
  onRound?: (held: number) => void;
}

/** A shard held, as /health and tests see it. */
export interface HeldShardStatus {
  leaseKey: string;
  leaseCounter: number;
  state: ShardState;
  /** When its reader last got an answer from Kinesis (an empty one counts), by the coordinator's clock. */
  lastPollMs: number;
}

interface HeldShard {
  readonly shard: ShardDescription;
  readonly lease: Lease;
  state: ShardState;
  processor: ShardRecordProcessor;
  /** The reader's run, then what its end leads to (shard_end, or giving the shard up after a failure). */
  running: Promise<void>;
  /** Batches, one after another. */
  queue: Promise<void>;
  /** Set by the first stop: later ones join it. */
  stopping: Promise<void> | undefined;
  closed: boolean;
  lastPollMs: number;
}

/** Kinesis ListShards answers → the coordinator's shard map. */
export function describeShards(shards: readonly Shard[]): ShardDescription[] {
  return shards.map((s) => ({
    shardId: s.ShardId!,
    startingHashKey: BigInt(s.HashKeyRange!.StartingHashKey!),
    endingHashKey: BigInt(s.HashKeyRange!.EndingHashKey!),
    parents: [s.ParentShardId, s.AdjacentParentShardId].filter((x): x is string => x !== undefined),
  }));
}

export class ShardCoordinator {
  private readonly held = new Map<string, HeldShard>();
  /** Shards given up whose reader and queued work may still be finishing: not taken again until they have. */
  private readonly retiring = new Map<string, Promise<unknown>>();
  private shardMap: readonly ShardDescription[] = [];
  private finished = new Set<string>();
  private readonly clock: CoordinatorClock;
  private halted = false;
  private inRound = false;
  private roundTimer: unknown;
  private checkpointTimer: unknown;
  private roundFailure: { err: unknown } | undefined;

  constructor(private readonly o: ShardCoordinatorOptions) {
    this.clock = o.clock ?? systemClock;
    this.leaseExpires = ignoreRejection(o.log, 'an unreleased lease expires after its TTL');
    this.checkpointAgain = ignoreRejection(o.log, 'a failed checkpoint is logged by its processor and made again next time');
  }

  // built once: lease rounds run them for every shard held
  private readonly leaseExpires: (err: unknown) => void;
  private readonly checkpointAgain: (err: unknown) => void;

  /** The last lease round's failure, undefined when it succeeded: without rounds no shard is taken or kept. */
  get lastRoundError(): { err: unknown } | undefined {
    return this.roundFailure;
  }

  /** The shard map the last round read. */
  get shards(): readonly ShardDescription[] {
    return this.shardMap;
  }

  /** The shards held (being opened, read, or lost and not yet given up), by leaseKey. */
  get heldShards(): HeldShardStatus[] {
    return [...this.held.values()].map((h) => ({ leaseKey: h.lease.leaseKey, leaseCounter: h.lease.leaseCounter, state: h.state, lastPollMs: h.lastPollMs }));
  }

  /** Reads the shard map and the shards already read to their end (resharding adds children and closes parents). */
  async readShardMap(): Promise<void> {
    this.shardMap = await this.o.listShards();
    this.finished = await this.o.leases.finishedShards();
  }

  /** The first lease round, then one every leaseRoundMs, and a checkpoint of every reading shard every checkpointIntervalMs. */
  async start(): Promise<void> {
    await this.leaseRound();
    this.roundTimer = this.clock.setInterval(() => void this.leaseRound(), this.o.leaseRoundMs);
    this.checkpointTimer = this.clock.setInterval(() => {
      for (const h of this.held.values()) if (h.state === 'reading') void h.processor.checkpoint(false).catch(this.checkpointAgain);
    }, this.o.checkpointIntervalMs);
  }

  /**
   * One lease round: heartbeat, shard map, renew what is held (give up what was lost), hand back shards above the
   * fair share, take free or expired leases up to it. A shard map that cannot be read costs no lease: those held are
   * renewed, none taken or handed back.
   */
  async leaseRound(): Promise<void> {
    if (this.halted || this.inRound) return;
    this.inRound = true;
    try {
      const members = Math.max(1, await this.o.leases.heartbeat());
      let mapRead = true;
      await this.readShardMap().catch((err: unknown) => {
        mapRead = false;
        this.o.log.warn({ err }, 'shard listing failed: leases held are renewed, none taken or handed back this round');
      });
      await this.renewHeld();
      if (mapRead) {
        const target = Math.ceil(this.shardMap.filter((s) => !this.finished.has(s.shardId)).length / members);
        await this.handBackAbove(target);
        await this.takeUpTo(target);
        this.o.onRound?.(this.held.size);
      }
      this.roundFailure = undefined;
    } catch (err) {
      this.roundFailure = { err };
      this.o.log.warn({ err }, 'lease round failed');
    } finally {
      this.inRound = false;
    }
  }

  private async renewHeld(): Promise<void> {
    for (const h of this.held.values()) {
      if (h.state === 'lost' || !(await this.o.leases.renew(h.lease))) {
        void this.stop(h, 'lease_lost');
        this.o.log.warn({ shardId: h.lease.leaseKey, leaseCounter: h.lease.leaseCounter }, 'lease lost: stopped processing the shard');
      }
    }
  }

  private async handBackAbove(target: number): Promise<void> {
    while (this.held.size > target) {
      const h = [...this.held.values()].sort((a, b) => b.lease.leaseKey.localeCompare(a.lease.leaseKey))[0]!;
      this.held.delete(h.lease.leaseKey);
      await this.stop(h, 'requested');
      this.o.log.info({ shardId: h.lease.leaseKey, target }, 'lease handed back for balance');
    }
  }

  private async takeUpTo(target: number): Promise<void> {
    for (const s of this.shardMap) {
      if (this.held.size >= target || this.halted) break;
      if (this.held.has(s.shardId) || !this.readable(s)) continue;
      // the previous lease's reader and batches first: a shard is read by one reader at a time
      if (this.retiring.has(s.shardId)) continue;
      const lease = await this.o.leases.acquire(s.shardId);
      if (lease !== undefined) await this.begin(s, lease);
    }
  }

  /** Not read to its end yet, and every parent still listed has been (parents before children). */
  private readable(s: ShardDescription): boolean {
    if (this.finished.has(s.shardId)) return false;
    return s.parents.every((p) => this.finished.has(p) || !this.shardMap.some((x) => x.shardId === p));
  }

  /** starting → reading: the processor opens (loads its checkpoint), then the reader starts where it says. */
  private async begin(shard: ShardDescription, lease: Lease): Promise<void> {
    const h: HeldShard = {
      shard,
      lease,
      state: 'starting',
      processor: undefined as unknown as ShardRecordProcessor,
      running: Promise.resolve(),
      queue: Promise.resolve(),
      stopping: undefined,
      closed: false,
      lastPollMs: this.clock.now(),
    };
    h.processor = this.o.createProcessor({
      shard,
      lease,
      get writable() {
        return h.state === 'starting' || h.state === 'reading' || h.state === 'draining';
      },
      fenced: () => {
        if (h.state !== 'ended') h.state = 'lost';
      },
    });
    const start = await h.processor.open();
    h.state = 'reading';
    const reader = this.o.createReader({
      shardId: shard.shardId,
      start,
      active: () => h.state === 'reading' && !this.halted,
      onPoll: () => {
        h.lastPollMs = this.clock.now();
      },
      handle: (records) => {
        const handedOverAt = performance.now();
        const next = h.queue.then(() => h.processor.process(records, handedOverAt));
        h.queue = next.catch((err: unknown) => this.o.log.error({ err, shardId: shard.shardId }, 'shard batch failed: the reader hands it over again'));
        return next;
      },
    });
    this.held.set(shard.shardId, h);
    h.running = reader
      .run()
      .then(() => (reader.finished && h.state === 'reading' ? this.stop(h, 'shard_end') : undefined))
      .catch((err: unknown) => {
        this.o.log.error({ shardId: shard.shardId, err }, 'shard reader failed: lease given up, the next round takes the shard again from its checkpoint');
        // (not awaited: giving up waits for this very run to be over)
        if (!this.halted && this.held.get(shard.shardId) === h) void this.stop(h, 'lease_lost', true);
      });
    this.o.log.info({ shardId: shard.shardId, leaseCounter: lease.leaseCounter, start }, 'shard lease acquired');
  }

  /**
   * The one way a shard stops. `lease_lost` closes its writes at once and gives it up once its reader and batches
   * are over (`release`: hand the lease back then — it was ours, we cannot read the shard); until then the shard is
   * not taken again. `requested` drains: the reader stops, the batches finish, a last forced checkpoint, then the
   * lease is released. `shard_end` (a closed shard read to its end) checkpoints, records the shard as finished so
   * its children may start, and releases. A later stop of a shard already stopping joins the first.
   */
  private stop(h: HeldShard, reason: StopReason, release = false): Promise<void> {
    const key = h.lease.leaseKey;
    if (reason === 'lease_lost') {
      if (h.state !== 'ended') h.state = 'lost';
      if (this.held.get(key) === h) this.held.delete(key);
      h.stopping ??= Promise.allSettled([h.running, h.queue]).then(() => this.close(h, 'lease_lost'));
      const done: Promise<void> = h.stopping
        .then(() => (release ? this.o.leases.release(h.lease).catch(this.leaseExpires) : undefined))
        .then(() => {
          if (this.retiring.get(key) === done) this.retiring.delete(key);
        });
      this.retiring.set(key, done);
      return done;
    }
    if (h.stopping !== undefined) return h.stopping;
    if (h.state === 'starting' || h.state === 'reading') h.state = 'draining';
    h.stopping = reason === 'shard_end' ? this.finish(h) : this.handBack(h);
    return h.stopping;
  }

  /** requested: stop reading, let the batches finish, commit everything changed, release. */
  private async handBack(h: HeldShard): Promise<void> {
    await h.running;
    await h.queue;
    await h.processor.checkpoint(true).catch(ignoreRejection(this.o.log, 'a failed last checkpoint is logged by its processor; the next owner replays from the one before'));
    if (h.state === 'draining') h.state = 'ended';
    await this.close(h, h.state === 'ended' ? 'requested' : 'lease_lost');
    await this.o.leases.release(h.lease).catch(this.leaseExpires);
  }

  /** shard_end: commit everything changed, record the shard as finished (its children may start), release. */
  private async finish(h: HeldShard): Promise<void> {
    const shardId = h.lease.leaseKey;
    try {
      await h.queue;
      await h.processor.checkpoint(true);
      if (h.state !== 'draining') return; // lost meanwhile: its next owner finishes it
      await this.o.leases.markFinished(shardId);
      this.finished.add(shardId);
      h.state = 'ended';
      this.o.log.info({ shardId }, 'closed shard read to its end: children may start');
    } catch (err) {
      // not recorded as finished: whoever leases it next reads it again from the committed checkpoint
      this.o.log.warn({ shardId, err }, 'could not finish a closed shard: lease given up');
    } finally {
      if (h.state !== 'ended') h.state = 'lost';
      if (this.held.get(shardId) === h) this.held.delete(shardId);
      await this.close(h, h.state === 'ended' ? 'shard_end' : 'lease_lost');
      await this.o.leases.release(h.lease).catch(this.leaseExpires);
    }
  }

  /** The processor's close, once. */
  private async close(h: HeldShard, reason: StopReason): Promise<void> {
    if (h.closed) return;
    h.closed = true;
    await h.processor.close(reason).catch((err: unknown) => this.o.log.error({ err, shardId: h.lease.leaseKey, reason }, 'shard processor failed to close'));
  }

  /** No more rounds, and every reader stops at its next check (the hand-back is `shutdown`'s). */
  halt(): void {
    this.halted = true;
    this.clock.clearInterval(this.roundTimer);
    this.clock.clearInterval(this.checkpointTimer);
  }

  /**
   * Graceful stop: every shard handed back with its last checkpoint, and this instance leaves the membership, within
   * `deadlineMs`. What is not handed back by then is lost instead (writes nothing more; its lease expires and the
   * next owner replays from the last checkpoint): returned, for the caller to count.
   */
  async shutdown(deadlineMs: number): Promise<{ notHandedBack: string[] }> {
    this.halt();
    const shards = [...this.held.values()];
    const handedBack = new Set<HeldShard>();
    const graceful = (async () => {
      await Promise.allSettled(shards.map((h) => this.stop(h, 'requested').then(() => handedBack.add(h))));
      await this.o.leases.leave().catch(ignoreRejection(this.o.log, 'membership expires after one TTL'));
    })();
    let timer: unknown;
    const inTime = await Promise.race([graceful.then(() => true), new Promise<boolean>((resolve) => (timer = this.clock.setTimeout(() => resolve(false), deadlineMs)))]);
    this.clock.clearTimeout(timer);
    const left = inTime ? [] : shards.filter((h) => !handedBack.has(h));
    for (const h of left) h.state = 'lost';
    this.held.clear();
    return { notHandedBack: left.map((h) => h.lease.leaseKey) };
  }

  /** Abrupt stop (crash drills): nothing more is written, committed or released. */
  kill(): void {
    this.halt();
    for (const h of this.held.values()) h.state = 'lost';
  }
}
