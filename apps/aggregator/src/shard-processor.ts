/**
 * The aggregator's side of one leased shard (the coordinator's
 * ShardRecordProcessor): its symbols' SymbolProcessors, restored from what
 * was committed, the records applied to them, and their fenced writes.
 *
 * Exactly once (Flink-style: checkpointed state, idempotent sink): a
 * symbol's state and the checkpoint of the last record it applied are
 * committed in one script every `stateCommitMs` (and at hand-back), while the
 * vector is published after every batch. A reader that starts again resumes
 * at the oldest checkpoint of its shard's symbols, each symbol skipping what
 * it already applied; the replay is deterministic and Redis refuses vectors
 * older than the one published, so readers never see time go backwards.
 * Fencing: every write carries the lease's leaseCounter.
 */
import { checkpointOf, compareCheckpoints, partitionHash, type ConsumedRecord, type LeasedShard, type ShardRecordProcessor, type StartPosition, type StopReason } from '@hotpath/kinesis';
import { StateFormatError } from '@hotpath/features';
import { SymbolProcessor } from '@hotpath/processor';
import { FencedWriteError, StoredStateError, VectorStatus, type FeatureStore } from '@hotpath/state';
import type { Logger } from '@hotpath/telemetry';
import { type EnvelopeTraceReader, type Span, type SpanContext, spanClock, type Tracing } from '@hotpath/tracing';
import type { AggregatorConfig } from './config.ts';
import type { Progress } from './health.ts';
import type { AggregatorMetrics } from './metrics.ts';

/** One symbol of a shard: its processor, and what of it Redis has (the commit and publish bookkeeping). */
export interface SymbolSlot {
  processor: SymbolProcessor;
  /** The fencing token this symbol's writes carry: its shard's leaseCounter. */
  readonly leaseCounter: number;
  /** Applied records (or their checkpoint) not yet in committed state. */
  stateDirty: boolean;
  stateCommittedAtMs: number;
  /** Version and status of the vector last written: an unchanged vector is not sent again. */
  publishedVersion: number;
  publishedStatus: VectorStatus | -1;
}

export interface ShardProcessorDeps {
  store: FeatureStore;
  metrics: AggregatorMetrics;
  progress: Progress;
  log: Logger;
  config: Pick<AggregatorConfig, 'symbols' | 'stateCommitMs' | 'initialPosition'>;
  /** The processors of shards open now (a Redis that lost its data gets everything of theirs written again). */
  open: Set<ShardProcessor>;
  /** Continues the trace a sampled envelope carries (Kinesis wait, apply, Redis publish); docs/tracing.md. */
  tracing?: { tracing: Tracing; reader: EnvelopeTraceReader };
}

/**
 * Every time of the aggregator's spans, from one clock (epoch ms with the monotonic clock's fraction): the SDK
 * converts a given start or end against Date.now() per span, whole ms apart, which could put a child outside its parent.
 */

/** A sampled record of this batch: its apply span, and the symbol whose vector write will carry on the trace. */
interface TracedRecord {
  slot: SymbolSlot;
  apply: Span;
  /** Its event went into the vector (applied, or the snapshot that re-anchored): only then does the vector carry its trace. */
  inVector: boolean;
}

/** The configured symbols whose partition key hashes into the shard's range. */
export function symbolsOf(symbols: readonly string[], shard: { startingHashKey: bigint; endingHashKey: bigint }): string[] {
  return symbols.filter((s) => {
    const h = partitionHash(s);
    return h >= shard.startingHashKey && h <= shard.endingHashKey;
  });
}

export class ShardProcessor implements ShardRecordProcessor {
  private readonly slots = new Map<string, SymbolSlot>();
  /**
   * State commits, one after another but beside the batches: a batch publishes its vectors without waiting for a
   * state write. Ordering with the vectors needs no wait either (one connection: Redis runs commands in the order
   * they were sent).
   */
  private commits: Promise<void> = Promise.resolve();
  /** Per-batch tally of record outcomes (reused: counted into the metric once per batch). */
  private readonly outcomes = new Map<string, number>();
  private readonly shardId: string;

  constructor(
    private readonly lease: LeasedShard,
    private readonly deps: ShardProcessorDeps,
  ) {
    this.shardId = lease.shard.shardId;
  }

  /**
   * Restores every symbol of the shard from its committed state and checkpoint. The reader starts after the oldest
   * checkpoint when every symbol has one in this shard; from the shard's start when any has none or has it in a
   * parent (a child after a reshard); at the configured position only when nothing was ever committed.
   */
  async open(): Promise<StartPosition> {
    let oldest: string | undefined;
    let complete = true;
    let anySaved = false;
    for (const symbol of symbolsOf(this.deps.config.symbols, this.lease.shard)) {
      const restored = await this.restore(symbol);
      this.slots.set(symbol, {
        processor: restored?.processor ?? new SymbolProcessor(symbol),
        leaseCounter: this.lease.lease.leaseCounter,
        stateDirty: false,
        stateCommittedAtMs: 0,
        publishedVersion: -1,
        publishedStatus: -1,
      });
      if (restored === undefined) {
        complete = false;
        continue;
      }
      anySaved ||= restored.saved;
      if (restored.processor === undefined) complete = false;
      // A checkpoint in a parent shard means nothing here: read this (child) shard from its start.
      else if (restored.processor.checkpointShard !== this.shardId) complete = false;
      else if (oldest === undefined || compareCheckpoints(restored.processor.checkpoint, oldest) < 0) oldest = restored.processor.checkpoint;
    }
    this.deps.open.add(this);
    if (complete && oldest !== undefined) return { after: oldest };
    // The configured position only where nothing was ever committed: state in a parent shard means this child is read whole.
    return anySaved ? 'TRIM_HORIZON' : this.deps.config.initialPosition;
  }

  /**
   * A symbol's committed state: undefined when there is none; `processor` undefined when it was refused (Redis
   * contents are untrusted: a state that does not decode is not a reason to stop — the shard is read whole instead,
   * its last Connected event and snapshot re-anchor the book; counted, logged).
   */
  private async restore(symbol: string): Promise<{ saved: boolean; processor: SymbolProcessor | undefined } | undefined> {
    let saved: Awaited<ReturnType<FeatureStore['loadState']>>;
    try {
      saved = await this.deps.store.loadState(symbol);
    } catch (err) {
      if (!(err instanceof StoredStateError)) throw err; // (Redis unreachable: the lease round fails and is tried again)
      this.refused(symbol, err);
      return { saved: false, processor: undefined };
    }
    if (saved === undefined || saved.checkpoint === '') return undefined;
    const slash = saved.checkpoint.lastIndexOf('/');
    const [savedShard, checkpoint] = slash < 0 ? ['', saved.checkpoint] : [saved.checkpoint.slice(0, slash), saved.checkpoint.slice(slash + 1)];
    try {
      // (a checkpoint Kinesis would refuse as a sequence number would fail the shard's reader on every round)
      if (!/^\d{1,128}(:\d{1,9})?$/.test(checkpoint)) throw new StateFormatError(`checkpoint ${JSON.stringify(checkpoint.slice(0, 40))} is not a sequence number`);
      const processor = SymbolProcessor.restore(symbol, saved.state, checkpoint);
      processor.checkpointShard = savedShard;
      return { saved: true, processor };
    } catch (err) {
      this.refused(symbol, err);
      return { saved: true, processor: undefined };
    }
  }

  private refused(symbol: string, err: unknown): void {
    this.deps.metrics.stateRefused.inc();
    this.deps.log.error({ symbol, shardId: this.shardId, err }, 'committed state refused: the shard is read from its start');
  }

  /**
   * One batch: apply every record, then one pipelined round of vector writes (the event → Redis path). State +
   * checkpoint commits that are due go on the commit chain afterwards: they never delay a vector.
   */
  async process(records: ConsumedRecord[], handedOverAt: number): Promise<void> {
    const { metrics: m, progress } = this.deps;
    const t0 = performance.now();
    // per batch (its newest record), not per record: the stage metric must not cost the hot loop
    const newestArrival = records[records.length - 1]?.arrivalMs ?? 0;
    if (newestArrival > 0) m.kinesisToAggregator.observe(Math.max(0, Date.now() - newestArrival) / 1000);
    const touched = new Set<SymbolSlot>();
    const outcomes = this.outcomes;
    const traceOn = this.deps.tracing?.tracing.enabled ? this.deps.tracing : undefined;
    let traced: TracedRecord[] | undefined;
    if (records.length > 0) progress.lastRecordMs = Date.now();
    for (const r of records) {
      const slot = this.slots.get(r.partitionKey);
      if (slot === undefined) {
        outcomes.set('unknown_symbol', (outcomes.get('unknown_symbol') ?? 0) + 1);
        continue;
      }
      const p = slot.processor;
      // Only a symbol resumed from a checkpoint can meet records it applied before; once past it, log order does the rest.
      if (p.resuming) {
        if (p.checkpointShard === r.shardId && compareCheckpoints(checkpointOf(r), p.checkpoint) <= 0) {
          outcomes.set('already_applied', (outcomes.get('already_applied') ?? 0) + 1);
          continue;
        }
        p.resuming = false;
      }
      const applyStarted = traceOn ? spanClock() : 0;
      const outcome = p.apply(r.data, checkpointOf(r));
      p.checkpointShard = r.shardId;
      if (traceOn && outcome !== 'undecodable') {
        const parent = traceOn.reader.read(p.envelope);
        if (parent !== undefined) (traced ??= []).push(this.traceRecord(traceOn.tracing, parent, slot, r.arrivalMs, applyStarted, outcome));
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      touched.add(slot);
      if (p.identityRegressed) this.identityRegressed(p, r);
      if (outcome === 'applied') continue;
      if (outcome === 'reanchor_started') {
        m.reanchors.inc({ status: 'started' });
        // Readers see the status at once, before the new book exists.
        await this.deps.store.setStatus(p.symbol, slot.leaseCounter, VectorStatus.Reanchoring, p.version).catch((err: unknown) => this.writeRefused(err, 'set_status', 'vector'));
      } else if (outcome === 'reanchored') {
        m.reanchors.inc({ status: 'success' });
        // (a start-up anchor, before any event time, has no gap to measure)
        if (!Number.isNaN(p.lastReanchorDurationUs)) m.reanchorDuration.observe(p.lastReanchorDurationUs / 1e6);
      } else if (outcome === 'reanchor_failed') m.reanchors.inc({ status: 'failed' });
    }
    // counted per batch: a labelled counter increment allocates, and this loop runs per record
    for (const [outcome, n] of outcomes) {
      if (n === 0) continue;
      if (outcome !== 'duplicate' && outcome !== 'undecodable' && outcome !== 'unknown_symbol' && outcome !== 'already_applied') progress.lastAppliedMs = Date.now();
      m.recordsBy(outcome).inc(n);
      outcomes.set(outcome, 0);
    }
    m.featureComputation.observe((performance.now() - t0) / 1000);
    // One pipelined round for all touched symbols' vectors.
    const now = Date.now();
    const writes: Promise<void>[] = [];
    let stateDue = false;
    for (const slot of touched) {
      slot.stateDirty = true; // its checkpoint moved, even if only past duplicates
      if (now - slot.stateCommittedAtMs >= this.deps.config.stateCommitMs) stateDue = true;
      if (slot.processor.version === slot.publishedVersion && slot.processor.status === slot.publishedStatus) continue; // nothing new for readers
      writes.push(traced === undefined ? this.write(slot, now, false) : this.tracedWrite(traceOn!.tracing, traced, slot, now));
    }
    await Promise.all(writes);
    if (traced !== undefined) for (const t of traced) t.apply.end(spanClock());
    if (!this.lease.writable) return;
    const done = performance.now();
    progress.lastWriteMs = Date.now();
    if (newestArrival > 0) {
      progress.lagSeconds = (progress.lastWriteMs - newestArrival) / 1000;
      m.lag.set(progress.lagSeconds);
    }
    m.applyToRedis.observe((done - handedOverAt) / 1000);
    m.aggregatorToRedis.observe((done - handedOverAt) / 1000);
    if (stateDue) void this.checkpoint(false);
  }

  /** The spans of one sampled record: Kinesis wait (arrival → applied) and apply, children of the ingestor's put span. */
  private traceRecord(tracing: Tracing, parent: SpanContext, slot: SymbolSlot, arrivalMs: number, applyStarted: number, outcome: string): TracedRecord {
    if (arrivalMs > 0) tracing.startChild('kinesis wait', parent, arrivalMs).end(applyStarted);
    const apply = tracing.startChild('aggregator apply', parent, applyStarted);
    apply.setAttribute('symbol', slot.processor.symbol);
    apply.setAttribute('outcome', outcome);
    if (outcome !== 'applied') apply.addEvent(outcome);
    return { slot, apply, inVector: outcome === 'applied' || outcome === 'reanchored' };
  }

  /**
   * write() with a 'redis publish' span under each sampled record of the symbol; the apply spans end with it. The
   * vector carries the publish span of the newest sampled event applied (log order: the last one), so inference's
   * tick links to the span that wrote what it read; later vectors keep it until a newer sampled event (SymbolProcessor.trace).
   */
  private async tracedWrite(tracing: Tracing, traced: TracedRecord[], slot: SymbolSlot, now: number): Promise<void> {
    const spans: Span[] = [];
    for (const t of traced) {
      if (t.slot !== slot) continue;
      const publish = tracing.startChild('redis publish', t.apply, spanClock());
      spans.push(publish);
      if (t.inVector) {
        const sc = publish.spanContext();
        slot.processor.trace = { traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.traceFlags };
      }
    }
    try {
      await this.write(slot, now, false);
    } finally {
      const end = spanClock();
      for (const s of spans) s.end(end);
    }
  }

  /** Queues a commit of state + checkpoint of the symbols that changed (all of them when `force`, else those due) on the commit chain. */
  checkpoint(force: boolean): Promise<void> {
    const next = this.commits.then(() => this.commitState(force));
    this.commits = next.catch((err: unknown) => this.deps.log.error({ err, shardId: this.shardId }, 'state commit failed'));
    return next;
  }

  private async commitState(force: boolean): Promise<void> {
    const now = Date.now();
    const due = [...this.slots.values()].filter((s) => s.stateDirty && (force || now - s.stateCommittedAtMs >= this.deps.config.stateCommitMs));
    // One symbol at a time: serializing a state (~100 kB) is synchronous work, and batches must get the loop in between.
    for (const slot of due) await this.write(slot, now, true);
  }

  /** Publishes the symbol's vector, with its state and checkpoint when `withState`; fenced by the lease's leaseCounter. */
  private async write(slot: SymbolSlot, now: number, withState: boolean): Promise<void> {
    if (!this.lease.writable) return;
    const { store, metrics: m, progress } = this.deps;
    const p = slot.processor;
    const operation = withState ? 'commit' : 'publish';
    const keyType = withState ? 'state' : 'vector';
    try {
      const vector = p.vectorBytes(now * 1000);
      let published: boolean;
      const t0 = performance.now();
      if (withState) {
        const state = p.serialize();
        slot.stateDirty = false;
        slot.stateCommittedAtMs = now;
        published = await store.commit(p.symbol, slot.leaseCounter, vector, `${p.checkpointShard}/${p.checkpoint}`, state);
      } else published = await store.publish(p.symbol, slot.leaseCounter, vector);
      m.redisDuration.observe({ operation }, (performance.now() - t0) / 1000);
      progress.wrote(published);
      m.redisOps.inc({ operation, key_type: keyType, status: published ? 'ok' : 'stale' });
      if (published) m.featureUpdates.inc();
      slot.publishedVersion = p.version;
      slot.publishedStatus = p.status;
    } catch (err) {
      if (withState) slot.stateDirty = true; // not committed: the next round (or hand-back) must try again
      if (!(err instanceof FencedWriteError)) progress.writeFailed(err);
      this.writeRefused(err, operation, keyType);
    }
  }

  /** A fenced write means another owner holds the shard: the lease is lost (told to the coordinator). Anything else is thrown on. */
  private writeRefused(err: unknown, operation: string, keyType: string): void {
    if (err instanceof FencedWriteError) {
      this.deps.metrics.redisOps.inc({ operation, key_type: keyType, status: err.code });
      this.deps.log.warn({ err }, 'write fenced off: another owner holds the shard');
      this.lease.fenced();
      return;
    }
    this.deps.metrics.redisOps.inc({ operation, key_type: keyType, status: 'error' });
    throw err;
  }

  /** A writer's identity went backwards while its data is new: applied (never a silent stall), counted, logged as an alarm. */
  private identityRegressed(p: SymbolProcessor, r: ConsumedRecord): void {
    p.identityRegressed = false;
    this.deps.metrics.identityRegressions.inc({ symbol: p.symbol });
    this.deps.log.error(
      { symbol: p.symbol, shardId: r.shardId, checkpoint: checkpointOf(r), writers: p.writers() },
      'envelope identity went backwards for newer data: applied; a writer reused its id or its clock stepped back',
    );
  }

  /** A Redis that restarted may have lost its last acknowledged writes (appendfsync everysec): everything is written again at the next checkpoint. */
  rewriteAll(): void {
    for (const slot of this.slots.values()) {
      slot.stateDirty = true;
      slot.stateCommittedAtMs = 0;
      slot.publishedVersion = -1;
    }
  }

  /** Nothing of the shard is in flight once its commits are over (the coordinator has stopped its reader and batches). */
  async close(reason: StopReason): Promise<void> {
    await this.commits;
    this.deps.open.delete(this);
    this.deps.log.debug({ shardId: this.shardId, reason }, 'shard processor closed');
  }
}
