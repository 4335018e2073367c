/**
 * Composition root of the aggregator: shard leases (Redis) → one ShardReader
 * per leased shard → SymbolProcessors → fenced commits of vector + state +
 * checkpoint (Redis), with /health and /metrics.
 *
 * Exactly once (Flink-style: checkpointed state, idempotent sink): a
 * symbol's state and the checkpoint of the last record it applied are
 * committed in one script every `stateCommitMs` (and on hand-back), while the
 * vector is published after every batch. A restarted reader resumes at the
 * oldest checkpoint of its shard's symbols, each symbol skipping what it
 * already applied; the replay is deterministic and Redis refuses vectors
 * older than the one published, so readers never see time go backwards.
 * Fencing: every write carries the lease token.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import {
  FetchWorker,
  ShardReader,
  SubscribedShardReader,
  checkpointOf,
  compareCheckpoints,
  createKinesisClient,
  createSubscribeClient,
  listShards,
  registerConsumer,
  partitionHash,
  type ConsumedRecord,
  type KinesisClient,
  type ShardReaderOptions,
  type ShardSource,
  type StartPosition,
} from '@hotpath/kinesis';
import { FeatureStore, FencedWriteError, LeaseManager, StoredStateError, VectorStatus, type Lease } from '@hotpath/state';
import { createLogger, createRegistry, type Logger, type Registry } from '@hotpath/telemetry';
import { DeadlineError, Lifecycle, createOpsServer, retry, withDeadline, type StopReport } from '@hotpath/service';
import type { AggregatorConfig } from './config.ts';
import { countFetchWorkerDeaths, createAggregatorMetrics, type AggregatorMetrics } from './metrics.ts';
import { SymbolProcessor } from '@hotpath/processor';
import { StateFormatError } from '@hotpath/features';


interface OwnedShard {
  lease: Lease;
  reader: ShardSource;
  running: Promise<void>;
  /** The lease is gone: write nothing more. */
  lost: boolean;
  /** Handing back: stop reading, commit state, release. */
  draining: boolean;
  /** Batches of one shard run one after another. */
  queue: Promise<void>;
  /**
   * State commits of one shard, one after another but beside the batches: a
   * batch publishes its vectors without waiting for a state write. Ordering
   * with the vectors needs no wait either (one connection: Redis runs
   * commands in the order they were sent).
   */
  commits: Promise<void>;
  processors: SymbolProcessor[];
  /** When Kinesis last answered this shard's reader (an empty answer counts; a quiet shard is not a stall). */
  lastPollMs: number;
}

export class Aggregator {
  readonly registry: Registry;
  readonly log: Logger;
  private readonly redis: Redis;
  private readonly store: FeatureStore;
  private readonly leases: LeaseManager;
  private readonly kinesis: KinesisClient;
  /** The thread that reads the shards when `fetch` is `worker`. */
  private readonly fetcher: FetchWorker | undefined;
  /** The registered stream consumer when `consumer` is `fanout` (set at start). */
  private consumerArn: string | undefined;
  private readonly owned = new Map<string, OwnedShard>();
  /** Shards given up whose reader and queued work may still be finishing: not restarted until they have. */
  private readonly retiring = new Map<string, Promise<unknown>>();
  private readonly processors = new Map<string, SymbolProcessor>();
  private shardRanges: { shardId: string; start: bigint; end: bigint; parents: string[]; closed: boolean }[] = [];
  private finishedShards = new Set<string>();
  private leaseTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking = false;
  private readonly http: FastifyInstance;
  private lastWriteMs = 0;
  private lagSeconds = -1;
  /** For /health (does the service do its job): when a record last arrived, was last applied, and how the last Redis write ended. */
  private lastRecordMs = 0;
  private startedAtMs = 0;
  private lastAppliedMs = 0;
  private lastWriteFailedMs = 0;
  private lastWriteError = '';
  /** The last lease round's failure ('' = it succeeded): without rounds no shard is taken or kept. */
  private leaseRoundError = '';
  /**
   * Vector writes Redis took, and ones it refused as older than the vector
   * already there (a new owner replaying from its checkpoint): readers see
   * nothing new until it has caught up.
   */
  private vectorRefusedSinceMs = 0;
  private lastVectorRefusedMs = 0;
  private readonly m: AggregatorMetrics;
  /** Per-batch tally of record outcomes (reused: counted into the metric once per batch). */
  private readonly outcomes = new Map<string, number>();
  private readonly lifecycle: Lifecycle;
  private handBackDeadlineMs = 5_000;

  constructor(
    readonly config: AggregatorConfig,
    deps: { kinesisClient?: KinesisClient; log?: Logger } = {},
  ) {
    this.log = deps.log ?? createLogger({ service: 'aggregator', level: config.logLevel });
    this.registry = createRegistry('aggregator');
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, commandTimeout: config.redisCommandTimeoutMs });
    this.redis.on('error', (err) => this.log.warn({ err }, 'redis connection error'));
    // A Redis that restarted may have lost its last acknowledged writes (appendfsync everysec):
    // write every symbol's vector and state again at the next flush, changed or not.
    let connectedBefore = false;
    this.redis.on('ready', () => {
      if (connectedBefore) {
        for (const p of this.processors.values()) {
          p.stateDirty = true;
          p.stateCommittedAtMs = 0;
          p.publishedVersion = -1;
        }
        this.log.info('redis reconnected: everything will be written again');
      }
      connectedBefore = true;
    });
    this.store = new FeatureStore(this.redis, config.vectorTtlMs);
    this.leases = new LeaseManager(this.redis, config.kinesisStream, config.owner, config.leaseTtlMs);
    const endpoint = { region: config.kinesisRegion, ...(config.kinesisEndpoint ? { endpoint: config.kinesisEndpoint } : {}) };
    // (fan-out needs HTTP/2; against AWS either client would do, an emulator speaks one or the other)
    this.kinesis = deps.kinesisClient ?? (config.consumer === 'fanout' ? createSubscribeClient(endpoint) : createKinesisClient(endpoint));
    this.fetcher = config.fetch === 'worker' ? new FetchWorker(endpoint) : undefined;
    if (this.fetcher !== undefined) countFetchWorkerDeaths(this.registry, this.fetcher);
    this.m = createAggregatorMetrics(this.registry, config.kinesisStream);
    this.http = createOpsServer({ registry: this.registry, health: () => this.health(), ready: () => this.lifecycle.status === 'started' });
    this.lifecycle = this.buildLifecycle();
  }

  get ownedShards(): string[] {
    return [...this.owned.keys()].sort();
  }

  get httpPort(): number {
    const a = this.http.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /**
   * Whether the aggregator does its job, answered within HEALTH_DEADLINE_MS
   * whatever Redis does: Redis answers, the last write did not fail, and
   * records that keep arriving are applied (not all refused, e.g. as
   * duplicates). A quiet stream or holding no lease (another instance has the
   * shards) is not a fault.
   */
  async health(): Promise<AggregatorHealth> {
    const now = Date.now();
    const redis = await withDeadline(this.redis.ping(), HEALTH_DEADLINE_MS).then(
      () => 'ok',
      (err: unknown) => (err instanceof DeadlineError ? 'timeout' : redisErrorCode(err)),
    );
    const writes = this.lastWriteFailedMs > this.lastWriteMs ? `failing: ${this.lastWriteError}` : 'ok';
    const leaseRounds = this.leaseRoundError === '' ? 'ok' : `failing: ${this.leaseRoundError}`;
    // a shard held whose reader got no answer from Kinesis for stallAfterMs (an outage, a stuck reader): nothing is read
    let unread = 0;
    for (const o of this.owned.values()) if (!o.lost && !o.draining && now - o.lastPollMs > this.config.stallAfterMs) unread++;
    // every vector refused as older than the published one for stallAfterMs: still catching up, readers see a frozen vector
    const catchingUp =
      this.vectorRefusedSinceMs > 0 && this.lastVectorRefusedMs - this.vectorRefusedSinceMs > this.config.stallAfterMs && now - this.lastVectorRefusedMs < this.config.stallAfterMs;
    // records read for stallAfterMs and none applied: the state no longer follows the stream
    const stalled = this.lastRecordMs > 0 && this.lastRecordMs - Math.max(this.lastAppliedMs, this.startedAtMs) > this.config.stallAfterMs;
    return {
      ok: redis === 'ok' && writes === 'ok' && leaseRounds === 'ok' && !stalled && !catchingUp && unread === 0,
      leases: this.owned.size,
      redis,
      writes,
      leaseRounds,
      applying: stalled ? 'stalled' : catchingUp ? 'catching_up' : 'ok',
      reading: unread === 0 ? 'ok' : `stalled: ${unread} shard(s) without an answer from Kinesis`,
      lastAppliedAgeMs: this.lastAppliedMs === 0 ? -1 : now - this.lastAppliedMs,
      lastWriteAgeMs: this.lastWriteMs === 0 ? -1 : now - this.lastWriteMs,
      kinesisLagSeconds: this.lagSeconds,
    };
  }

  /** The shard map, re-read every lease round: resharding adds children and closes parents. */
  private async refreshShards(): Promise<void> {
    const shards = await listShards(this.kinesis, this.config.kinesisStream);
    this.shardRanges = shards.map((s) => ({
      shardId: s.ShardId!,
      start: BigInt(s.HashKeyRange!.StartingHashKey!),
      end: BigInt(s.HashKeyRange!.EndingHashKey!),
      parents: [s.ParentShardId, s.AdjacentParentShardId].filter((x): x is string => x !== undefined),
      closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined,
    }));
    this.finishedShards = await this.leases.finishedShards();
  }

  /** A shard to read: not read to its end yet, and every parent still listed has been (parents before children). */
  private readable(s: { shardId: string; parents: string[] }): boolean {
    if (this.finishedShards.has(s.shardId)) return false;
    return s.parents.every((p) => this.finishedShards.has(p) || !this.shardRanges.some((x) => x.shardId === p));
  }

  /**
   * Ordered start (the one lifecycle): HTTP first, so /health answers (not
   * ready) while Kinesis is waited for; a dependency not reachable yet is
   * retried until it is, or until stop(). Stop runs backwards: leases handed
   * back with their last commit, then the fetch thread, HTTP and Redis.
   */
  async start(): Promise<void> {
    this.startedAtMs = Date.now();
    await this.lifecycle.start();
  }

  private buildLifecycle(): Lifecycle {
    const waitFor = <T>(what: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> =>
      retry(fn, { what, signal, baseMs: 250, maxMs: 5_000, onRetry: (err) => this.log.warn({ err, what }, 'not reachable yet: retrying') });
    return new Lifecycle()
      .add({ name: 'redis', stop: () => this.redis.disconnect() })
      .add({ name: 'http', start: () => this.http.listen({ port: this.config.port, host: this.config.host }).then(() => undefined), stop: () => this.http.close() })
      .add({
        name: 'fetch worker',
        start: () => this.fetcher?.warm(), // boots while leases are taken
        stop: () => withDeadline(this.fetcher?.close() ?? Promise.resolve(), 1_000, 'fetch worker close').catch(() => undefined),
      })
      .add({
        name: 'kinesis',
        start: async (signal) => {
          if (this.config.consumer === 'fanout') this.consumerArn = await waitFor('Kinesis RegisterStreamConsumer', () => registerConsumer(this.kinesis, this.config.kinesisStream, this.config.fanoutConsumerName), signal);
          await waitFor('Kinesis ListShards', () => this.refreshShards(), signal);
        },
      })
      .add({
        name: 'shard leases',
        start: async () => {
          await this.leaseTick();
          this.leaseTimer = setInterval(() => void this.leaseTick(), Math.max(50, Math.floor(this.config.leaseTtlMs / 3)));
          // A quiet shard still gets its state committed, so a restart replays little.
          this.flushTimer = setInterval(() => {
            for (const o of this.owned.values()) if (!o.lost && !o.draining) void this.commitLater(o, false);
          }, this.config.stateCommitMs);
        },
        stop: () => this.handBackAll(),
      });
  }

  private enqueue(o: OwnedShard, job: () => Promise<void>): Promise<void> {
    const next = o.queue.then(job);
    o.queue = next.catch((err) => this.log.error({ err }, 'shard job failed'));
    return next;
  }

  /** Queues a state commit of the shard's changed symbols on its commit chain. */
  private commitLater(o: OwnedShard, force: boolean): Promise<void> {
    const next = o.commits.then(() => this.commitState(o, force));
    o.commits = next.catch((err) => this.log.error({ err }, 'state commit failed'));
    return next;
  }

  /** Everything the shard has queued, batches and commits, is over. */
  private async settled(o: OwnedShard): Promise<void> {
    await o.queue;
    await o.commits;
  }

  /** Commits state + checkpoint of the shard's symbols that changed (all of them when `force`, else only those due). */
  private async commitState(o: OwnedShard, force: boolean): Promise<void> {
    const now = Date.now();
    const due = o.processors.filter((p) => p.stateDirty && (force || now - p.stateCommittedAtMs >= this.config.stateCommitMs));
    // One symbol at a time: serializing a state (~100 kB) is synchronous work, and batches must get the loop in between.
    for (const p of due) await this.commitOne(o, p, now, true);
  }

  private async commitOne(o: OwnedShard, p: SymbolProcessor, now: number, withState: boolean): Promise<void> {
    if (o.lost) return;
    const operation = withState ? 'commit' : 'publish';
    const keyType = withState ? 'state' : 'vector';
    try {
      const vector = p.vectorBytes(now * 1000);
      let published: boolean;
      const t0 = performance.now();
      if (withState) {
        const state = p.serialize();
        p.stateDirty = false;
        p.stateCommittedAtMs = now;
        published = await this.store.commit(p.symbol, o.lease.token, vector, `${p.checkpointShard}/${p.checkpoint}`, state);
      } else published = await this.store.publish(p.symbol, o.lease.token, vector);
      this.m.redisDuration.observe({ operation }, (performance.now() - t0) / 1000);
      this.lastWriteMs = Date.now();
      this.m.redisOps.inc({ operation, key_type: keyType, status: published ? 'ok' : 'stale' });
      if (published) this.m.featureUpdates.inc();
      if (published) this.vectorRefusedSinceMs = 0;
      else {
        if (this.vectorRefusedSinceMs === 0) this.vectorRefusedSinceMs = this.lastWriteMs;
        this.lastVectorRefusedMs = this.lastWriteMs;
      }
      p.publishedVersion = p.version;
      p.publishedStatus = p.status;
    } catch (err) {
      if (withState) p.stateDirty = true; // not committed: the next round (or hand-back) must try again
      if (!(err instanceof FencedWriteError)) {
        this.lastWriteFailedMs = Date.now();
        this.lastWriteError = redisErrorCode(err);
      }
      this.fenced(o, err, operation, keyType);
    }
  }

  /**
   * Hands leases back after committing (graceful shutdown), within
   * stopTimeoutMs: what is not committed by then is left to the lease's expiry
   * (the next owner replays it from the last checkpoint: nothing is lost, only
   * re-applied), counted and logged.
   */
  async stop(deadlineMs = this.config.stopTimeoutMs): Promise<StopReport> {
    this.stopped = true;
    this.handBackDeadlineMs = Math.max(100, deadlineMs - 1_500); // the fetch thread, HTTP and Redis get the rest
    const report = await this.lifecycle.stop(deadlineMs);
    for (const f of report.failed) this.log.error({ component: f.name, err: f.err }, 'did not stop cleanly');
    return report;
  }

  private async handBackAll(): Promise<void> {
    if (this.leaseTimer !== undefined) clearInterval(this.leaseTimer);
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    const shards = [...this.owned.values()];
    const handedBack = new Set<OwnedShard>();
    const graceful = (async () => {
      await Promise.allSettled(shards.map((o) => this.handBack(o).then(() => handedBack.add(o))));
      await this.leases.leave().catch(() => undefined);
    })();
    try {
      await withDeadline(graceful, this.handBackDeadlineMs, 'lease hand-back');
    } catch {
      const left = shards.filter((o) => !handedBack.has(o));
      this.m.stopIncomplete.inc(left.length);
      this.log.error({ shards: left.map((o) => o.lease.shardId), timeoutMs: this.handBackDeadlineMs }, 'stop deadline passed: these leases expire instead; their next owner replays from the last checkpoint');
      for (const o of left) o.lost = true;
    }
    this.owned.clear();
  }

  /** Abrupt stop for crash drills: nothing committed or released. */
  kill(): void {
    this.stopped = true;
    if (this.leaseTimer !== undefined) clearInterval(this.leaseTimer);
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    for (const o of this.owned.values()) o.lost = true;
    void this.fetcher?.close();
    void this.http.close();
    this.redis.disconnect();
  }

  private symbolsOf(shardId: string): string[] {
    const range = this.shardRanges.find((s) => s.shardId === shardId)!;
    return this.config.symbols.filter((s) => {
      const h = partitionHash(s);
      return h >= range.start && h <= range.end;
    });
  }

  /**
   * One lease round: renew what we hold (drop what we lost), hand back shards
   * above our fair share (shards / live instances), then take free or expired
   * leases up to it. Hand-backs happen after the shard's last commit: the
   * next owner resumes from the checkpoint.
   */
  private async leaseTick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      const members = Math.max(1, await this.leases.heartbeat());
      // A Kinesis outage must not cost the leases held: renew them with the shard map we have.
      let shardsKnown = true;
      await this.refreshShards().catch((err: unknown) => {
        shardsKnown = false;
        this.log.warn({ err }, 'shard listing failed: leases held are renewed, none taken or handed back this round');
      });
      if (!shardsKnown) {
        for (const [shardId, o] of this.owned) {
          if (o.lost || !(await this.leases.renew(o.lease))) {
            this.giveUp(shardId, o, false);
            this.log.warn({ shardId, token: o.lease.token }, 'lease lost: stopped processing the shard');
          }
        }
        this.leaseRoundError = '';
        return;
      }
      const target = Math.ceil(this.shardRanges.filter((s) => !this.finishedShards.has(s.shardId)).length / members);
      for (const [shardId, o] of this.owned) {
        if (o.lost || !(await this.leases.renew(o.lease))) {
          this.giveUp(shardId, o, false);
          this.log.warn({ shardId, token: o.lease.token }, 'lease lost: stopped processing the shard');
        }
      }
      while (this.owned.size > target) {
        const [shardId, o] = [...this.owned.entries()].sort((a, b) => b[0].localeCompare(a[0]))[0]!;
        this.owned.delete(shardId);
        await this.handBack(o);
        this.log.info({ shardId, target }, 'lease handed back for balance');
      }
      for (const s of this.shardRanges) {
        if (this.owned.size >= target || this.stopped) break;
        if (this.owned.has(s.shardId) || !this.readable(s)) continue;
        // Its symbols' processors are shared: take it again only once the old reader's last batch is over (a later round).
        if (this.retiring.has(s.shardId)) continue;
        const lease = await this.leases.acquire(s.shardId);
        if (lease !== undefined) await this.startShard(s.shardId, lease);
      }
      this.m.leasesHeld.set(this.owned.size);
      this.leaseRoundError = '';
    } catch (err) {
      this.leaseRoundError = redisErrorCode(err);
      this.log.warn({ err }, 'lease round failed');
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Stops processing a shard now; its reader and queued work may still be
   * finishing, so it is not taken again until they have. `release` hands the
   * lease back once they have (we still hold it, but cannot read the shard).
   */
  private giveUp(shardId: string, o: OwnedShard, release: boolean): void {
    o.lost = true;
    this.owned.delete(shardId);
    const done = Promise.allSettled([o.running, this.settled(o)])
      .then(() => (release ? this.leases.release(o.lease).catch(() => undefined) : undefined))
      .then(() => this.retiring.delete(shardId));
    this.retiring.set(shardId, done);
  }

  /** Graceful hand-off: stop reading, commit every changed symbol's state, then release the lease. */
  private async handBack(o: OwnedShard): Promise<void> {
    o.draining = true;
    await o.running;
    await this.settled(o);
    await this.commitLater(o, true).catch(() => undefined);
    o.lost = true;
    await this.leases.release(o.lease).catch(() => undefined);
  }

  /** A closed shard read to its end: commit its symbols' state, mark it finished (children may start), release it. */
  private async finishShard(shardId: string, o: OwnedShard): Promise<void> {
    if (o.lost || o.draining) return;
    try {
      await this.settled(o);
      await this.commitLater(o, true);
      if (o.lost) return;
      await this.leases.markFinished(shardId);
      this.finishedShards.add(shardId);
      this.log.info({ shardId }, 'closed shard read to its end: children may start');
    } catch (err) {
      // Not recorded as finished: whoever leases it next re-reads it from the committed checkpoint.
      this.log.warn({ shardId, err: (err as Error).message }, 'could not finish a closed shard: lease given up');
    } finally {
      o.lost = true;
      this.owned.delete(shardId);
      await this.leases.release(o.lease).catch(() => undefined);
    }
  }

  /** Test hook: the lease tokens this instance writes with (a zombie drill re-uses one). */
  leaseTokens(): Map<string, number> {
    return new Map([...this.owned].map(([k, o]) => [k, o.lease.token]));
  }

  private async startShard(shardId: string, lease: Lease): Promise<void> {
    let start: StartPosition = 'TRIM_HORIZON';
    let oldest: string | undefined;
    let complete = true;
    let anySaved = false;
    for (const symbol of this.symbolsOf(shardId)) {
      let saved;
      try {
        saved = await this.store.loadState(symbol);
      } catch (err) {
        if (!(err instanceof StoredStateError)) throw err; // (Redis unreachable: the lease round fails and is tried again)
        this.m.stateRefused.inc();
        this.log.error({ symbol, shardId, err }, 'committed state refused: the shard is read from its start');
        saved = undefined;
      }
      if (saved === undefined || saved.checkpoint === '') {
        complete = false;
        this.processors.set(symbol, new SymbolProcessor(symbol));
        continue;
      }
      anySaved = true;
      const [savedShard, checkpoint] = splitCheckpoint(saved.checkpoint);
      let p: SymbolProcessor;
      try {
        // (a checkpoint Kinesis would refuse as a sequence number would fail the shard's reader on every round)
        if (!/^\d{1,128}(:\d{1,9})?$/.test(checkpoint)) throw new StateFormatError(`checkpoint ${JSON.stringify(checkpoint.slice(0, 40))} is not a sequence number`);
        p = SymbolProcessor.restore(symbol, saved.state, checkpoint);
      } catch (err) {
        // Redis contents are untrusted: a state that does not decode is not a reason to stop. The shard is
        // read whole instead (its last Connected event and snapshot re-anchor the book); counted, logged.
        this.m.stateRefused.inc();
        this.log.error({ symbol, shardId, err }, 'committed state refused: the shard is read from its start');
        complete = false;
        this.processors.set(symbol, new SymbolProcessor(symbol));
        continue;
      }
      p.checkpointShard = savedShard;
      this.processors.set(symbol, p);
      // A checkpoint in a parent shard means nothing here: read this (child) shard from its start.
      if (savedShard !== shardId) complete = false;
      else if (oldest === undefined || compareCheckpoints(checkpoint, oldest) < 0) oldest = checkpoint;
    }
    if (complete && oldest !== undefined) start = { after: oldest };
    // The configured position only where nothing was ever committed: state in a parent shard means this child is read whole.
    else if (!anySaved) start = this.config.initialPosition;
    const owned: OwnedShard = {
      lease,
      lost: false,
      draining: false,
      reader: undefined as unknown as ShardSource,
      running: Promise.resolve(),
      queue: Promise.resolve(),
      commits: Promise.resolve(),
      processors: this.symbolsOf(shardId).map((s) => this.processors.get(s)!),
      lastPollMs: Date.now(),
    };
    const options: ShardReaderOptions = {
      streamName: this.config.kinesisStream,
      shardId,
      start,
      pollMs: this.config.pollMs,
      limit: this.config.getRecordsLimit,
      onMalformed: (sequenceNumber, err) => {
        this.m.recordsBy('malformed_kpl').inc();
        this.log.warn({ shardId, sequenceNumber, err }, 'malformed KPL record skipped');
      },
      active: () => !owned.lost && !owned.draining && !this.stopped,
      onPoll: () => {
        owned.lastPollMs = Date.now();
      },
      onError: (err) => {
        // (names only: an SDK error is a fixed set of names; anything else is 'other', so the label set stays bounded)
        const name = (err as { name?: unknown }).name;
        this.m.kinesisErrors.inc({ error: typeof name === 'string' && /^[A-Za-z]{1,64}$/.test(name) ? name : 'other' });
        this.log.warn({ shardId, err }, 'Kinesis call failed: retried with backoff');
      },
      handle: (records) => {
        const handedOverAt = performance.now();
        return this.enqueue(owned, () => this.handle(owned, records, handedOverAt));
      },
    };
    const consumerArn = this.consumerArn;
    if (this.fetcher !== undefined) owned.reader = this.fetcher.reader(consumerArn === undefined ? options : { ...options, consumerArn });
    else owned.reader = consumerArn === undefined ? new ShardReader(this.kinesis, options) : new SubscribedShardReader(this.kinesis, { ...options, consumerArn });
    this.owned.set(shardId, owned);
    owned.running = owned.reader
      .run()
      .then(() => (owned.reader.finished ? this.finishShard(shardId, owned) : undefined))
      .catch((err) => {
        this.log.error({ shardId, err }, 'shard reader failed: lease given up, the next round takes the shard again from its checkpoint');
        if (!this.stopped && this.owned.get(shardId) === owned) this.giveUp(shardId, owned, true);
      });
    this.log.info({ shardId, token: lease.token, start }, 'shard lease acquired');
  }

  /**
   * One batch: apply every record, then one pipelined round of vector writes
   * (the event → Redis path). State + checkpoint commits that are due go on
   * the commit chain afterwards: they never delay a vector.
   */
  private async handle(owned: OwnedShard, records: ConsumedRecord[], handedOverAt: number): Promise<void> {
    const t0 = performance.now();
    // per batch (its newest record), not per record: the stage metric must not cost the hot loop
    const newestArrival = records[records.length - 1]?.arrivalMs ?? 0;
    if (newestArrival > 0) this.m.kinesisToAggregator.observe(Math.max(0, Date.now() - newestArrival) / 1000);
    const touched = new Set<SymbolProcessor>();
    const outcomes = this.outcomes;
    if (records.length > 0) this.lastRecordMs = Date.now();
    for (const r of records) {
      const p = this.processors.get(r.partitionKey);
      if (p === undefined) {
        outcomes.set('unknown_symbol', (outcomes.get('unknown_symbol') ?? 0) + 1);
        continue;
      }
      // Only a symbol resumed from a checkpoint can meet records it applied before the crash; once past it, log order does the rest.
      if (p.resuming) {
        if (p.checkpointShard === r.shardId && compareCheckpoints(checkpointOf(r), p.checkpoint) <= 0) {
          outcomes.set('already_applied', (outcomes.get('already_applied') ?? 0) + 1);
          continue;
        }
        p.resuming = false;
      }
      const outcome = p.apply(r.data, checkpointOf(r));
      p.checkpointShard = r.shardId;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      touched.add(p);
      if (p.identityRegressed) this.identityRegressed(p, r);
      if (outcome === 'applied') continue;
      if (outcome === 'reanchor_started') {
        this.m.reanchors.inc({ status: 'started' });
        // Readers see the status at once, before the new book exists.
        await this.store.setStatus(p.symbol, owned.lease.token, VectorStatus.Reanchoring, p.version).catch((err) => this.fenced(owned, err));
      } else if (outcome === 'reanchored') {
        this.m.reanchors.inc({ status: 'success' });
        // (a start-up anchor, before any event time, has no gap to measure)
        if (!Number.isNaN(p.lastReanchorDurationUs)) this.m.reanchorDuration.observe(p.lastReanchorDurationUs / 1e6);
      } else if (outcome === 'reanchor_failed') this.m.reanchors.inc({ status: 'failed' });
    }
    // counted per batch: a labelled counter increment allocates, and this loop runs per record
    for (const [outcome, n] of outcomes) {
      if (n === 0) continue;
      if (outcome !== 'duplicate' && outcome !== 'undecodable' && outcome !== 'unknown_symbol' && outcome !== 'already_applied') this.lastAppliedMs = Date.now();
      this.m.recordsBy(outcome).inc(n);
      outcomes.set(outcome, 0);
    }
    this.m.featureComputation.observe((performance.now() - t0) / 1000);
    // One pipelined round for all touched symbols' vectors.
    const now = Date.now();
    const writes: Promise<void>[] = [];
    let stateDue = false;
    for (const p of touched) {
      p.stateDirty = true; // its checkpoint moved, even if only past duplicates
      if (now - p.stateCommittedAtMs >= this.config.stateCommitMs) stateDue = true;
      if (p.version === p.publishedVersion && p.status === p.publishedStatus) continue; // nothing new for readers
      writes.push(this.commitOne(owned, p, now, false));
    }
    await Promise.all(writes);
    if (owned.lost) return;
    const done = performance.now();
    this.lastWriteMs = Date.now();
    if (newestArrival > 0) {
      this.lagSeconds = (this.lastWriteMs - newestArrival) / 1000;
      this.m.lag.set(this.lagSeconds);
    }
    this.m.applyToRedis.observe((done - handedOverAt) / 1000);
    this.m.aggregatorToRedis.observe((done - handedOverAt) / 1000);
    if (stateDue) void this.commitLater(owned, false);
  }

  /** A writer's identity went backwards while its data is new: applied (never a silent stall), counted, logged as an alarm. */
  private identityRegressed(p: SymbolProcessor, r: ConsumedRecord): void {
    p.identityRegressed = false;
    this.m.identityRegressions.inc({ symbol: p.symbol });
    this.log.error({ symbol: p.symbol, shardId: r.shardId, checkpoint: checkpointOf(r), writers: p.writers() }, 'envelope identity went backwards for newer data: applied; a writer reused its id or its clock stepped back');
  }

  private fenced(owned: OwnedShard, err: unknown, operation = 'set_status', keyType = 'vector'): void {
    if (err instanceof FencedWriteError) {
      this.m.redisOps.inc({ operation, key_type: keyType, status: 'fenced' });
      this.log.warn({ err }, 'write fenced off: another owner holds the shard');
      owned.lost = true;
      return;
    }
    this.m.redisOps.inc({ operation, key_type: keyType, status: 'error' });
    throw err;
  }
}

/** `shardId/sequence:subSequence` → [shardId, checkpoint]. */
function splitCheckpoint(stored: string): [string, string] {
  const slash = stored.lastIndexOf('/');
  return slash < 0 ? ['', stored] : [stored.slice(0, slash), stored.slice(slash + 1)];
}

export interface AggregatorHealth {
  ok: boolean;
  leases: number;
  /** `ok`, `timeout` or the Redis error code (never the raw error text). */
  redis: string;
  /** `ok`, or `failing: <code>` when the last vector or state write failed. */
  writes: string;
  /** `ok`, or `failing: <code>` when the last lease round (heartbeat, renew, acquire) failed. */
  leaseRounds: string;
  /**
   * `stalled` when records kept arriving and none was applied for stallAfterMs; `catching_up` when every vector
   * written for stallAfterMs was refused as older than the one readers have (replaying from a checkpoint).
   */
  applying: 'ok' | 'stalled' | 'catching_up';
  /** `ok`, or `stalled: …` when a shard held got no answer from Kinesis for stallAfterMs. */
  reading: string;
  lastAppliedAgeMs: number;
  lastWriteAgeMs: number;
  kinesisLagSeconds: number;
}

/** /health answers within this, whatever Redis does. */
const HEALTH_DEADLINE_MS = 500;

/** A short, stable code for a Redis failure (READONLY, OOM, …): health answers carry no raw error text. */
function redisErrorCode(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = /^([A-Z][A-Z_]{2,})\b/.exec(message)?.[1];
  if (code !== undefined) return code;
  if (/timed? ?out/i.test(message)) return 'timeout';
  if (/connection|ECONN|closed|EPIPE/i.test(message)) return 'unreachable';
  return 'error';
}
