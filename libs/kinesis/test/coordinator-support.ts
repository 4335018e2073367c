/**
 * What the shard coordinator's tests run it against: time that moves only
 * when the test says, a lease table in memory with the Redis one's rules
 * (libs/state/src/leases.ts), and a processor and a reader that record what
 * they are asked to do.
 */
import type {
  CoordinatedReaderOptions,
  CoordinatorClock,
  ConsumedRecord,
  Lease,
  LeaseRecord,
  LeaseStore,
  LeasedShard,
  ShardDescription,
  ShardRecordProcessor,
  ShardSource,
  StartPosition,
  StopReason,
} from '../src/index.ts';

/** Lets every promise chain that is ready run to its end (no time passes). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Timer {
  id: number;
  at: number;
  every: number | undefined;
  fn: () => void;
}

export class ManualClock implements CoordinatorClock {
  private t = 1_700_000_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  now(): number {
    return this.t;
  }

  setInterval(fn: () => void, ms: number): unknown {
    return this.add(fn, ms, ms);
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.add(fn, ms, undefined);
  }

  clearInterval(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  private add(fn: () => void, ms: number, every: number | undefined): number {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.t + ms, every, fn });
    return id;
  }

  /** Moves time on by `ms`, firing the timers that fall due in order, each one's work settled before the next. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.t = due.at;
      if (due.every === undefined) this.timers.delete(due.id);
      else due.at += due.every;
      due.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  /** Moves time on in steps until `p` settles (work that waits for readers to notice, or for a deadline). */
  async drive<T>(p: Promise<T>, stepMs = 10, maxMs = 60_000): Promise<T> {
    let done = false;
    const watched = p.finally(() => (done = true));
    await settle(); // (work that needs no time takes none)
    for (let waited = 0; !done; waited += stepMs) {
      if (waited > maxMs) throw new Error(`still pending after ${maxMs} ms of test time`);
      await this.advance(stepMs);
    }
    return watched;
  }
}

type StoreMethod = 'acquire' | 'renew' | 'release' | 'heartbeat' | 'finishedShards' | 'markFinished';

/** One lease table shared by every instance of a test, by the test's clock: what Redis holds in production. */
export class MemoryLeaseTable {
  readonly leases = new Map<string, { owner: string; counter: number; expiresMs: number }>();
  private readonly members = new Map<string, number>();
  readonly finished = new Set<string>();
  private counter = 0;
  private readonly failures = new Map<StoreMethod, Error>();

  constructor(
    private readonly clock: { now(): number },
    readonly ttlMs: number,
  ) {}

  /** The next call of `method` (by any instance) throws `err`. */
  failNext(method: StoreMethod, err: Error): void {
    this.failures.set(method, err);
  }

  private call(method: StoreMethod): void {
    const err = this.failures.get(method);
    if (err === undefined) return;
    this.failures.delete(method);
    throw err;
  }

  /** The store one instance sees. */
  store(owner: string): LeaseStore {
    const t = this;
    return {
      async acquire(leaseKey: string): Promise<Lease | undefined> {
        t.call('acquire');
        const now = t.clock.now();
        const held = t.leases.get(leaseKey);
        if (held !== undefined && held.owner !== owner && held.expiresMs > now) return undefined;
        // (as in Redis: counters never go back, floored at the store's clock)
        t.counter = Math.max(t.counter + 1, now);
        t.leases.set(leaseKey, { owner, counter: t.counter, expiresMs: now + t.ttlMs });
        return { leaseKey, leaseCounter: t.counter };
      },
      async renew(lease: Lease): Promise<boolean> {
        t.call('renew');
        const held = t.leases.get(lease.leaseKey);
        if (held === undefined || held.owner !== owner || held.counter !== lease.leaseCounter || held.expiresMs <= t.clock.now()) return false;
        held.expiresMs = t.clock.now() + t.ttlMs;
        return true;
      },
      async release(lease: Lease): Promise<void> {
        t.call('release');
        const held = t.leases.get(lease.leaseKey);
        if (held?.owner === owner && held.counter === lease.leaseCounter) t.leases.delete(lease.leaseKey);
      },
      list: async () => t.list(),
      async heartbeat(): Promise<number> {
        t.call('heartbeat');
        const now = t.clock.now();
        t.members.set(owner, now + t.ttlMs);
        for (const [m, expires] of t.members) if (expires <= now) t.members.delete(m);
        return t.members.size;
      },
      async leave(): Promise<void> {
        t.members.delete(owner);
      },
      async markFinished(leaseKey: string): Promise<void> {
        t.call('markFinished');
        t.finished.add(leaseKey);
      },
      async finishedShards(): Promise<Set<string>> {
        t.call('finishedShards');
        return new Set(t.finished);
      },
    };
  }

  async list(): Promise<LeaseRecord[]> {
    const now = this.clock.now();
    return [...this.leases].map(([leaseKey, l]) => ({ leaseKey, leaseOwner: l.owner, leaseCounter: l.counter, expiresInMs: l.expiresMs - now })).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
  }

  /** Who holds each lease (expired ones included). */
  owners(): Record<string, string> {
    return Object.fromEntries([...this.leases].map(([k, l]) => [k, l.owner]));
  }
}

/** A processor that records what it is asked to do; its checkpoints can be held up or made to fail. */
export class RecordingProcessor implements ShardRecordProcessor {
  readonly calls: string[] = [];
  start: StartPosition = 'TRIM_HORIZON';
  openError: Error | undefined;
  processError: Error | undefined;
  checkpointError: Error | undefined;
  /** While set, a forced checkpoint waits for it. */
  checkpointGate: Promise<void> | undefined;
  /** Whether the lease was still writable when each call came. */
  readonly writableAt: Record<string, boolean> = {};

  constructor(readonly leased: LeasedShard) {}

  private record(call: string): void {
    this.calls.push(call);
    this.writableAt[call] = this.leased.writable;
  }

  async open(): Promise<StartPosition> {
    this.record('open');
    if (this.openError !== undefined) throw this.openError;
    return this.start;
  }

  async process(records: ConsumedRecord[]): Promise<void> {
    this.record(`process ${records.map((r) => r.sequenceNumber).join(',')}`);
    if (this.processError !== undefined) throw this.processError;
  }

  async checkpoint(force: boolean): Promise<void> {
    this.record(`checkpoint(${force})`);
    if (force && this.checkpointGate !== undefined) await this.checkpointGate;
    if (this.checkpointError !== undefined) throw this.checkpointError;
  }

  async close(reason: StopReason): Promise<void> {
    this.record(`close(${reason})`);
  }
}

/** How often a test reader checks active(), in test time. */
export const READER_CHECK_MS = 10;

/** A reader that, like the real ones, stops at its next check once active() is false; the test ends, fails or feeds it. */
export class ScriptedReader implements ShardSource {
  finished = false;
  /** Deaf to active() (stuck in a call) until the test ends it. */
  stuck = false;
  private outcome!: { resolve: () => void; reject: (err: unknown) => void };
  private readonly ran = new Promise<void>((resolve, reject) => (this.outcome = { resolve, reject }));
  private timer: unknown;

  constructor(
    readonly options: CoordinatedReaderOptions,
    private readonly clock: ManualClock,
  ) {}

  run(): Promise<void> {
    this.timer = this.clock.setInterval(() => {
      this.options.onPoll?.();
      if (!this.stuck && !this.options.active()) this.end();
    }, READER_CHECK_MS);
    return this.ran;
  }

  /** The reader returns: `finished` when the shard is closed and read to its end. */
  end(finished = false): void {
    this.finished = finished;
    this.clock.clearInterval(this.timer);
    this.outcome.resolve();
  }

  fail(err: Error): void {
    this.clock.clearInterval(this.timer);
    this.outcome.reject(err);
  }

  /** Hands a batch over, as a reader does after GetRecords. */
  deliver(...sequenceNumbers: string[]): Promise<void> {
    return this.options.handle(
      sequenceNumbers.map((sequenceNumber) => ({ shardId: this.options.shardId, sequenceNumber, subSequence: 0, partitionKey: 'BTCUSDT', data: new Uint8Array(0), arrivalMs: 0 })),
      0,
    );
  }
}

const HASH_SPACE = 2n ** 128n;

/** `count` shards splitting the hash space evenly, optionally children of `parents`. */
export function shardMap(ids: readonly string[], parents: readonly string[] = []): ShardDescription[] {
  const n = BigInt(ids.length);
  return ids.map((shardId, i) => ({ shardId, startingHashKey: (HASH_SPACE * BigInt(i)) / n, endingHashKey: (HASH_SPACE * BigInt(i + 1)) / n - 1n, parents: [...parents] }));
}
