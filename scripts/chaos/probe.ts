/**
 * Does /health tell the truth? Every ~500 ms each service's /health is read
 * beside its counters (/metrics) and what Redis shows, and the time a service
 * answered 200 while not doing its job is added up:
 *
 * - ingestor: envelopes (`ingestor_envelopes_total`) have not moved for longer
 *   than its watchdog while the simulator is up;
 * - aggregator: it holds the lease of the shard records land on (the
 *   ingestor's Kinesis acks move), and records that landed longer ago than
 *   its stall threshold were followed by no progress (an outcome of
 *   `aggregator_kinesis_records_processed_total` other than a refusal:
 *   duplicate, already_applied, undecodable, unknown_symbol, malformed_kpl —
 *   a connection event or a book ticker is progress without being
 *   `applied`), or a record applied longer ago than that threshold is not in
 *   the vector in Redis yet; or nobody held the lease for longer than its TTL
 *   plus that threshold;
 * - inference: no prediction reached `pred:{S}:stream` for 3 intervals plus
 *   the claim TTL (what the service itself calls a stall).
 *
 * Each threshold is the service's own plus GRACE_MS (probe period and answer
 * time): the goal is 0 s.
 */
import { ignoreRejection, type DebugLogger } from '@hotpath/service';
import { decodeVector } from '@hotpath/state';
import { parseMetrics, sum, type Sample } from './prom.ts';
import { rssMb, sleep, type Instance, type ServiceProcess } from './processes.ts';
import { STREAM, SYMBOL, type Stack } from './stack.ts';

export const PROBE_PERIOD_MS = 500;
/** Allowance over each service's own threshold: two probe periods and a /health answer's deadline. */
export const GRACE_MS = 2 * PROBE_PERIOD_MS + 1_000;
const INGESTOR_WATCHDOG_MS = 10_000;
const AGGREGATOR_STALL_MS = 10_000;
const INFERENCE_CLAIM_TTL_MS = 500;

interface InstanceState {
  counters: Map<string, number>;
  /** When each counter last moved (or the instance appeared). */
  movedMs: Map<string, number>;
  /** When each counter moved, oldest first (the last MOVES_KEPT). */
  moves: Map<string, number[]>;
}

/** Move times kept per counter: at one probe round per 500 ms, a minute and more. */
const MOVES_KEPT = 256;
/** Outcomes that are refusals, not progress (the aggregator's own rule for /health). */
const REFUSALS = new Set(['duplicate', 'already_applied', 'undecodable', 'unknown_symbol', 'malformed_kpl']);

function pushMove(moves: number[], t: number): void {
  moves.push(t);
  if (moves.length > MOVES_KEPT) moves.shift();
}

/** The first time in `moves` (ascending) after `t`, or undefined. */
function firstAfter(moves: readonly number[], t: number): number | undefined {
  return moves.find((x) => x > t);
}

export interface Episode {
  service: string;
  fromMs: number;
  toMs: number;
  why: string;
  /** What the service said of itself when the episode began (its /health body) and its record outcomes so far. */
  said?: string;
}

/** A counted reason for a tick without a prediction, seen as a counter increment at `atMs`. */
export interface CountedMiss {
  atMs: number;
  reason: string;
  n: number;
}

export class HealthProbe {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly state = new Map<number, InstanceState>();
  /** Seconds answered healthy while broken: total and longest streak, per stack name. */
  readonly brokenTotalMs = new Map<string, number>();
  readonly brokenMaxStreakMs = new Map<string, number>();
  private readonly streakStart = new Map<string, number>();
  private readonly lastProbeMs = new Map<string, number>();
  readonly episodes: Episode[] = [];
  /** Time a service was broken and said so (503 or no answer): the probe sees breakage, the service tells the truth. */
  readonly brokenReportedMs = new Map<string, number>();
  readonly maxHealthAnswerMs = new Map<string, number>();
  readonly healthTimeouts = new Map<string, number>();
  readonly countedMisses: CountedMiss[] = [];
  readonly rssMax = new Map<string, number>();
  lastAckedMoveMs = 0;
  /** When the ingestor's acks moved (records landed), oldest first. */
  private readonly ackMoves: number[] = [];
  lastVersionMoveMs = 0;
  lastPredictionMoveMs = 0;
  private lastVersion = -1;
  private lastPredictionId = '';
  lease: { owner: string; expiresMs: number; sinceMs: number } | undefined;
  private noOwnerSinceMs = 0;
  rounds = 0;

  private readonly roundFailed: (err: unknown) => void;
  private readonly unreadNow: (err: unknown) => void;

  constructor(
    private readonly stack: Stack,
    private readonly intervalMs: number,
    log: DebugLogger,
  ) {
    // built once: a round runs every PROBE_PERIOD_MS
    this.roundFailed = ignoreRejection(log, 'a probe round that fails judges nothing; the next one reads everything again');
    this.unreadNow = ignoreRejection(log, 'Redis under a fault may not answer: that key counts as not moved this round');
  }

  start(): void {
    const now = Date.now();
    this.lastAckedMoveMs = this.lastVersionMoveMs = this.lastPredictionMoveMs = now;
    this.loop = (async () => {
      while (!this.stopped) {
        const t0 = Date.now();
        await this.round().catch(this.roundFailed);
        this.rounds++;
        await sleep(Math.max(50, PROBE_PERIOD_MS - (Date.now() - t0)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    for (const name of this.streakStart.keys()) this.endStreak(name, Date.now());
  }

  private async round(): Promise<void> {
    const s = this.stack;
    const targets = [s.ingestor, ...s.aggregators, ...s.inference];
    const [answers] = await Promise.all([Promise.all(targets.map((t) => this.read(t))), this.readRedis()]);
    const now = Date.now();
    // the ingestor's acks: records keep landing on the shard
    const ing = answers[0]!;
    if (ing.samples !== undefined && ing.inst !== undefined && this.moved(ing.inst, ing.samples, 'acked', sum(ing.samples, 'ingestor_kinesis_user_records_total', { result: 'acked' }), now)) {
      this.lastAckedMoveMs = now;
      pushMove(this.ackMoves, now);
    }
    for (const a of answers) {
      if (a.inst === undefined) continue;
      const rss = rssMb(a.inst.pid);
      if (rss !== undefined) this.rssMax.set(a.target.spec.service, Math.max(this.rssMax.get(a.target.spec.service) ?? 0, rss));
      if (a.samples === undefined) continue;
      if (a.target.spec.service === 'ingestor') this.moved(a.inst, a.samples, 'envelopes', sum(a.samples, 'ingestor_envelopes_total'), now);
      if (a.target.spec.service === 'aggregator') {
        let progress = 0;
        for (const x of a.samples) if (x.name === 'aggregator_kinesis_records_processed_total' && !REFUSALS.has(x.labels['status'] ?? '')) progress += x.value;
        this.moved(a.inst, a.samples, 'progress', progress, now);
        this.moved(a.inst, a.samples, 'applied', sum(a.samples, 'aggregator_kinesis_records_processed_total', { status: 'applied' }), now);
      }
      if (a.target.spec.service === 'inference') this.countMisses(a.inst, a.samples, now);
    }
    for (const a of answers) {
      const why = a.inst !== undefined ? this.broken(a.target, a.inst, now) : undefined;
      // down, not answering or answering 503: not claiming health, so not lying
      if (why !== undefined && a.status !== 200) this.brokenReportedMs.set(a.target.name, (this.brokenReportedMs.get(a.target.name) ?? 0) + PROBE_PERIOD_MS);
      this.account(a.target.name, a.status === 200 ? why : undefined, now, () => describe(a.body, a.samples));
    }
  }

  /** One service's /health and /metrics, from the instance running now. */
  private async read(target: ServiceProcess): Promise<{ target: ServiceProcess; inst?: Instance; status?: number; body?: string; samples?: Sample[] }> {
    const inst = target.current;
    if (inst === undefined || inst.stoppingAtMs !== undefined) return { target };
    const t0 = Date.now();
    let body: string | undefined;
    const [status, samples] = await Promise.all([
      fetch(`${target.url}/health`, { signal: AbortSignal.timeout(1_000) }).then(
        async (r) => {
          body = await r.text();
          return r.status;
        },
        (err: unknown) => {
          if ((err as Error).name === 'TimeoutError') this.healthTimeouts.set(target.name, (this.healthTimeouts.get(target.name) ?? 0) + 1);
          return undefined;
        },
      ),
      fetch(`${target.url}/metrics`, { signal: AbortSignal.timeout(1_000) }).then(
        async (r) => (r.ok ? parseMetrics(await r.text()) : undefined),
        () => undefined,
      ),
    ]);
    if (status !== undefined) {
      this.maxHealthAnswerMs.set(target.name, Math.max(this.maxHealthAnswerMs.get(target.name) ?? 0, Date.now() - t0));
      inst.readyAtMs ??= Date.now();
    }
    // an answer from an instance that died meanwhile says nothing about the next one
    if (target.current !== inst) return { target };
    return { target, inst, status, body, samples };
  }

  private async readRedis(): Promise<void> {
    const r = this.stack.admin;
    const now = Date.now();
    const [vector, lease, last] = await Promise.all([
      r.getBuffer(`feat:{${SYMBOL}}`).catch(this.unreadNow),
      r.hgetall(`lease:{${STREAM}}:${this.stack.shardId}`).catch(this.unreadNow),
      r.xrevrange(`pred:{${SYMBOL}}:stream`, '+', '-', 'COUNT', 1).catch(this.unreadNow),
    ]);
    if (vector) {
      try {
        const v = decodeVector(vector).version;
        if (v !== this.lastVersion) this.lastVersionMoveMs = now;
        this.lastVersion = v;
      } catch {
        // counted by the aggregator's readers, not here
      }
    }
    if (last !== undefined && last.length > 0 && last[0]![0] !== this.lastPredictionId) {
      this.lastPredictionId = last[0]![0];
      this.lastPredictionMoveMs = now;
    }
    if (lease !== undefined) {
      const owner = lease['owner'];
      const expiresMs = Number(lease['expires'] ?? 0);
      if (owner === undefined || expiresMs < now) {
        if (this.lease !== undefined || this.noOwnerSinceMs === 0) this.noOwnerSinceMs = now;
        this.lease = undefined;
      } else {
        this.noOwnerSinceMs = 0;
        if (this.lease?.owner !== owner) this.lease = { owner, expiresMs, sinceMs: now };
        else this.lease.expiresMs = expiresMs;
      }
    }
  }

  /** Records a counter's value; true when it moved since this instance's last reading. */
  private moved(inst: Instance, _samples: Sample[], key: string, value: number, now: number): boolean {
    let st = this.state.get(inst.pid);
    if (st === undefined) {
      st = { counters: new Map(), movedMs: new Map(), moves: new Map() };
      this.state.set(inst.pid, st);
    }
    const prev = st.counters.get(key);
    st.counters.set(key, value);
    let moves = st.moves.get(key);
    if (moves === undefined) st.moves.set(key, (moves = []));
    if (prev === undefined) {
      st.movedMs.set(key, value > 0 ? now : (inst.readyAtMs ?? now));
      if (value > 0) pushMove(moves, now);
      return value > 0;
    }
    if (value !== prev) {
      st.movedMs.set(key, now);
      pushMove(moves, now);
      return true;
    }
    return false;
  }

  private movesOf(inst: Instance, key: string): readonly number[] {
    return this.state.get(inst.pid)?.moves.get(key) ?? [];
  }

  private movedAt(inst: Instance, key: string): number {
    return this.state.get(inst.pid)?.movedMs.get(key) ?? inst.readyAtMs ?? inst.spawnedAtMs;
  }

  /** Inference's counted misses (no prediction written, with a reason), as they appear. */
  private countMisses(inst: Instance, samples: Sample[], now: number): void {
    const reasons = new Map<string, number>();
    for (const x of samples) {
      if (x.name === 'inference_ticks_missed_total') reasons.set(x.labels['reason'] ?? '?', (reasons.get(x.labels['reason'] ?? '?') ?? 0) + x.value);
      // a replica without Redis emits a flagged fallback to its own subscribers only: not in the stream, but counted
      if (x.name === 'inference_fallback_predictions_total' && x.labels['reason'] === 'redis_unavailable') reasons.set('local_fallback_redis_unavailable', x.value);
    }
    let st = this.state.get(inst.pid);
    if (st === undefined) {
      st = { counters: new Map(), movedMs: new Map(), moves: new Map() };
      this.state.set(inst.pid, st);
    }
    for (const [reason, value] of reasons) {
      const key = `missed:${reason}`;
      const prev = st.counters.get(key) ?? 0;
      st.counters.set(key, value);
      if (value > prev) this.countedMisses.push({ atMs: now, reason, n: value - prev });
    }
  }

  /** Why the service is not doing its job now (undefined: it is, or it cannot be told). */
  private broken(target: ServiceProcess, inst: Instance, now: number): string | undefined {
    const since = inst.readyAtMs ?? inst.spawnedAtMs;
    switch (target.spec.service) {
      case 'ingestor': {
        if (!this.stack.sim.up) return undefined;
        const quiet = now - Math.max(since, this.movedAt(inst, 'envelopes'));
        return quiet > INGESTOR_WATCHDOG_MS + GRACE_MS ? `no envelope for ${quiet} ms with the simulator up` : undefined;
      }
      case 'aggregator': {
        const id = target.spec.env['AGGREGATOR_ID']!;
        const threshold = AGGREGATOR_STALL_MS + GRACE_MS;
        if (this.lease === undefined) {
          const ttl = Number(target.spec.env['AGGREGATOR_LEASE_TTL_MS']);
          const orphaned = this.noOwnerSinceMs > 0 ? now - Math.max(this.noOwnerSinceMs, since) : 0;
          return orphaned > ttl + threshold && this.lastAckedMoveMs > this.noOwnerSinceMs ? `nobody has held the ${this.stack.shardId} lease for ${orphaned} ms while records arrive` : undefined;
        }
        if (this.lease.owner !== id) return undefined;
        const from = Math.max(since, this.lease.sinceMs);
        // records landed after the last progress (or after it took the lease), the first of them longer ago than the threshold
        const progress = Math.max(from, this.movedAt(inst, 'progress'));
        const waiting = firstAfter(this.ackMoves, progress);
        if (waiting !== undefined && now - waiting > threshold) return `holds the lease, records landed ${now - waiting} ms ago, no progress since (outcomes unmoved for ${now - progress} ms)`;
        // records that landed after the vector last moved were applied, longer ago than the threshold, and are still not
        // written. (Only records that landed after it: a new owner re-applying what its predecessor already published
        // — catching up from the checkpoint — rightly leaves the vector where it is.)
        const written = Math.max(from, this.lastVersionMoveMs);
        const landed = firstAfter(this.ackMoves, written);
        const unwritten = landed === undefined ? undefined : firstAfter(this.movesOf(inst, 'applied'), landed);
        if (unwritten !== undefined && now - unwritten > threshold)
          return `holds the lease, applied records that landed after the vector last moved ${now - unwritten} ms ago, the vector in Redis has not moved since`;
        return undefined;
      }
      case 'inference': {
        const quiet = now - Math.max(since, this.lastPredictionMoveMs);
        return quiet > 3 * this.intervalMs + INFERENCE_CLAIM_TTL_MS + GRACE_MS ? `no prediction written for ${quiet} ms` : undefined;
      }
      default:
        return undefined;
    }
  }

  private account(name: string, why: string | undefined, now: number, said: () => string): void {
    const prev = this.lastProbeMs.get(name);
    this.lastProbeMs.set(name, now);
    if (why === undefined) {
      this.endStreak(name, now);
      return;
    }
    const dt = prev === undefined ? PROBE_PERIOD_MS : Math.min(now - prev, 2 * PROBE_PERIOD_MS);
    this.brokenTotalMs.set(name, (this.brokenTotalMs.get(name) ?? 0) + dt);
    if (!this.streakStart.has(name)) {
      this.streakStart.set(name, now - dt);
      if (this.episodes.length < 50) this.episodes.push({ service: name, fromMs: now - dt, toMs: now, why, said: said() });
    } else {
      const e = [...this.episodes].reverse().find((x) => x.service === name);
      if (e) e.toMs = now;
    }
  }

  private endStreak(name: string, now: number): void {
    const start = this.streakStart.get(name);
    if (start === undefined) return;
    this.streakStart.delete(name);
    this.brokenMaxStreakMs.set(name, Math.max(this.brokenMaxStreakMs.get(name) ?? 0, now - start));
  }
}

/** An episode's evidence: the /health body and, for an aggregator, its record outcomes by status. */
function describe(body: string | undefined, samples: Sample[] | undefined): string {
  const outcomes = (samples ?? [])
    .filter((x) => x.name === 'aggregator_kinesis_records_processed_total')
    .map((x) => `${x.labels['status']}=${x.value}`)
    .join(' ');
  return `${body ?? '(no body)'}${outcomes === '' ? '' : ` outcomes: ${outcomes}`}`;
}
