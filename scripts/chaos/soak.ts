/**
 * The chaos soak (issue 14): the whole stack as OS processes, seeded faults
 * for `minutes`, invariants checked continuously (the health probe) and at the
 * end (replay, trade ids, ticks, shutdowns, memory, orphans). Returns the
 * report whose JSON line `pnpm soak:chaos` prints last.
 *
 * The harness never hangs: every wait has a deadline, and whatever happens
 * (its own error included) it ends with every process it spawned stopped —
 * SIGTERM, then SIGKILL.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { readStream } from '@hotpath/kinesis';
import { ignoreRejection, withDeadline, type DebugLogger } from '@hotpath/service';
import { decodeVector } from '@hotpath/state';
import { faultKinds, FaultDeck, HARD_STOP_MS, simulatorHasOversized, type FaultContext, type FaultWindow } from './faults.ts';
import { GRACE_MS, HealthProbe, PROBE_PERIOD_MS } from './probe.ts';
import { isAlive, rssMb, sleep, type Instance, type ServiceProcess } from './processes.ts';
import { SeededRandom } from './random.ts';
import { Stack, STREAM, SYMBOL } from './stack.ts';
import { judgeReplay, judgeTicks, judgeTrades, replay, type PredictionEntry } from './verify.ts';

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Inference tick interval (ms). */
  intervalMs?: number;
  /** Pause between faults, drawn in [min, max] ms. */
  gapMs?: [number, number];
  /** Where service logs go (one file per service). */
  runDir?: string;
  logLevel?: string;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Ends the fault phase early (the CLI's SIGINT); the end checks still run. */
  signal?: AbortSignal;
}

export interface SoakReport {
  ok: boolean;
  /** Names of the invariants that failed. */
  failed: string[];
  line: Record<string, unknown>;
}

/** SIGTERM → exit, per service: each service's own stop deadline (5 s by default) plus 2 s to leave the process. */
export const SHUTDOWN_DEADLINE_MS = 7_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function runChaosSoak(options: SoakOptions): Promise<SoakReport> {
  const intervalMs = options.intervalMs ?? 2_000;
  const log = options.log ?? (() => undefined);
  // the harness logs lines of text: a dropped rejection is one entry, the error whole (stack, fields) as util.inspect prints it,
  // at debug like the services' own (SOAK_LOG_LEVEL=debug): under a Redis fault the probe drops a read every 500 ms
  const debugging = options.logLevel === 'debug' || options.logLevel === 'trace';
  const harnessLog: DebugLogger = { debug: ({ err }, msg) => void (debugging && log(`${msg}: ${inspect(err, { breakLength: Number.POSITIVE_INFINITY })}`)) };
  const rng = new SeededRandom(options.seed);
  const runDir = options.runDir ?? join(tmpdir(), `chaos-soak-${options.seed}-${Date.now()}`);
  const crashes: Record<string, number> = {};
  const crashLog: string[] = [];
  const windows: FaultWindow[] = [];
  const faultCounts: Record<string, number> = {};
  const faultErrors: string[] = [];
  const failures: string[] = [];
  let harnessError: string | undefined;
  let supervising = true;

  const stack = new Stack({
    root: ROOT,
    runDir,
    seed: options.seed,
    intervalMs,
    leaseTtlMs: 5_000,
    logLevel: options.logLevel ?? 'warn',
    onUnexpectedExit: (s: ServiceProcess, inst: Instance) => {
      // a crash is a finding (nothing may end a service but a signal); the supervisor restarts it like any other
      crashes[s.spec.service] = (crashes[s.spec.service] ?? 0) + 1;
      const line = `${s.name} (pid ${inst.pid}) exited on its own: ${inst.exit?.signal ?? `code ${inst.exit?.code}`} — see ${s.spec.logFile}`;
      if (crashLog.length < 20) crashLog.push(line);
      log(line);
      if (supervising) s.restartIn(1_000);
    },
  });
  const probe = new HealthProbe(stack, intervalMs, harnessLog);
  const rss: Record<string, { start?: number; end?: number; max?: number }> = {};
  let tickFrom = 0;
  let tickTo = 0;
  let trades: ReturnType<typeof judgeTrades> | undefined;
  let replayVerdict: Awaited<ReturnType<typeof judgeReplay>> | undefined;
  let ticks: ReturnType<typeof judgeTicks> | undefined;
  let recoveryMs: number | null = null;
  let orphans: { pid: number; cmd: string }[] = [];
  const startedAt = Date.now();

  try {
    log(`chaos soak: seed ${options.seed}, ${options.minutes} min of faults, logs in ${runDir}`);
    await withDeadline(stack.start(), 90_000, 'stack start');
    probe.start();
    // warm-up: a prediction from live features, i.e. the whole pipeline works before anything is broken
    await until(() => livePrediction(stack), 180_000, 'a first prediction from live features');
    for (const s of stack.services) rss[s.spec.service] ??= { start: rssMb(s.current?.pid ?? -1) };
    tickFrom = (Math.floor(Date.now() / intervalMs) + 1) * intervalMs;
    log(`stack up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; faults begin`);

    const oversized = await simulatorHasOversized(stack);
    if (!oversized) log('the simulator has no oversized-frame fault: malformed and truncated frames are injected instead');
    const deck = new FaultDeck(faultKinds(intervalMs, oversized), rng);
    const ctx: FaultContext = {
      stack,
      rng,
      window: (reason, startMs, endMs) => windows.push({ reason, startMs, endMs }),
      error: (kind, detail) => faultErrors.length < 50 && faultErrors.push(`${kind}: ${detail}`),
      log: (l) => log(`  ${l}`),
    };
    const [gapMin, gapMax] = options.gapMs ?? (options.minutes < 5 ? [1_500, 4_000] : [3_000, 12_000]);
    const faultsEnd = Date.now() + options.minutes * 60_000;
    while (Date.now() < faultsEnd && !options.signal?.aborted) {
      const kind = deck.next();
      faultCounts[kind.name] = (faultCounts[kind.name] ?? 0) + 1;
      log(`fault ${kind.name} at ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
      await withDeadline(kind.run(ctx), 60_000, kind.name).catch((err: Error) => ctx.error(kind.name, err.message));
      await sleep(Math.min(rng.int(gapMin, gapMax), Math.max(0, faultsEnd - Date.now())));
    }

    // recovery: everything back (as a supervisor would), then healthy within a deadline
    log('faults over: recovering');
    const recoverFrom = Date.now();
    await recoverAll(stack, harnessLog);
    const healthy = await until(() => allHealthy(stack), 120_000, 'every service healthy after the faults').then(
      () => true,
      () => false,
    );
    recoveryMs = healthy ? Date.now() - recoverFrom : null;
    if (healthy) {
      // two predictions after recovery: the pipeline works again, end to end
      const mark = Date.now();
      await until(async () => (await newestTick(stack)) >= mark + intervalMs, 10 * intervalMs + 10_000, 'predictions after recovery').catch(
        ignoreRejection(harnessLog, 'predictions that did not come back in time fail the tick invariants judged below'),
      );
    }
    for (const s of stack.services) (rss[s.spec.service] ??= {}).end = rssMb(s.current?.pid ?? -1);
    supervising = false;

    // the end: the ingestor first (nothing new enters Kinesis), then the aggregators once they applied everything
    log('stopping the ingestor; replaying the stream');
    await stack.ingestor.terminate(HARD_STOP_MS);
    const records = await withDeadline(readStream(stack.kinesis.client(), STREAM), 120_000, 'reading the whole stream');
    const r = replay(records, SYMBOL);
    await until(async () => (await liveVersion(stack)) >= r.processor.version, 60_000, `the live vector at the replay's version`).catch((err: Error) => log(err.message));
    await Promise.all(stack.aggregators.map((a) => a.terminate(HARD_STOP_MS)));
    replayVerdict = await judgeReplay(r, stack.admin, SYMBOL, harnessLog);
    trades = judgeTrades(r.trades);

    tickTo = (Math.floor(Date.now() / intervalMs) - 1) * intervalMs;
    await Promise.all(stack.inference.map((s) => s.terminate(HARD_STOP_MS)));
    const entries = (await withDeadline(stack.admin.xrange(`pred:{${SYMBOL}}:stream`, String(tickFrom), String(tickTo + 1)), 5_000, 'reading predictions')).map(([id, f]) => toEntry(id, f));
    // both replicas down = nobody could have written the tick
    windows.push(...inferenceDownWindows(stack, intervalMs));
    ticks = judgeTicks(entries, tickFrom, tickTo, intervalMs, windows, probe.countedMisses, intervalMs + 2 * PROBE_PERIOD_MS + 1_000);
  } catch (err) {
    harnessError = (err as Error).message;
    log(`harness error: ${(err as Error).stack ?? String(err)}`);
  } finally {
    supervising = false;
    await probe.stop().catch(ignoreRejection(harnessLog, 'the probe only observes: its figures so far are reported as they are'));
    await stopEverything(stack, harnessLog);
    orphans = await survivorsAfter(stack, 3_000);
  }

  // invariants
  const fail = (name: string, bad: boolean): void => void (bad && failures.push(name));
  fail('harness_completed', harnessError !== undefined);
  fail('no_trade_lost', trades === undefined || trades.lost > 0);
  fail('no_trade_duplicated', trades === undefined || trades.duplicated > 0);
  fail('live_equals_replay', replayVerdict === undefined || !replayVerdict.vector_equal || !replayVerdict.engine_state_equal);
  fail('no_silent_tick', ticks === undefined || ticks.silent > 0 || ticks.misaligned > 0);
  const brokenMax = Math.max(0, ...probe.brokenMaxStreakMs.values(), ...probe.brokenTotalMs.values());
  fail('never_healthy_while_broken', brokenMax > 0);
  const shutdowns = stack.ledger.shutdowns;
  fail(
    'shutdowns_within_deadline',
    shutdowns.some((s) => s.killed || s.ms > SHUTDOWN_DEADLINE_MS),
  );
  fail('no_crash', Object.keys(crashes).length > 0);
  fail('recovered', recoveryMs === null);
  fail('no_orphan', orphans.length > 0);

  const perService = <T>(f: (service: string) => T): Record<string, T> => Object.fromEntries([...new Set(stack.services.map((s) => s.spec.service).concat('redis'))].map((s) => [s, f(s)]));
  const byName = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].map(([k, v]) => [k, Math.round(v / 100) / 10]));
  for (const [service, max] of probe.rssMax) (rss[service] ??= {}).max = max;
  const line = {
    soak: 'chaos',
    seed: options.seed,
    minutes: options.minutes,
    interval_ms: intervalMs,
    ok: failures.length === 0,
    failed: failures,
    ...(harnessError !== undefined ? { harness_error: harnessError } : {}),
    faults: faultCounts,
    fault_kinds: Object.keys(faultCounts).length,
    fault_errors: faultErrors.length,
    fault_errors_sample: faultErrors.slice(0, 5),
    trades,
    replay: replayVerdict,
    ticks,
    healthy_while_broken_s: {
      max_streak: byName(probe.brokenMaxStreakMs),
      total: byName(probe.brokenTotalMs),
      grace_ms: GRACE_MS,
      broken_and_reported: byName(probe.brokenReportedMs),
      episodes: probe.episodes.slice(0, 10).map((e) => ({
        service: e.service,
        at_s: Math.round((e.fromMs - startedAt) / 1000),
        for_s: Math.round((e.toMs - e.fromMs) / 100) / 10,
        why: e.why,
        ...(e.said === undefined ? {} : { said: e.said }),
      })),
    },
    health_answer_max_ms: Object.fromEntries(probe.maxHealthAnswerMs),
    health_timeouts: Object.fromEntries(probe.healthTimeouts),
    shutdown_ms: {
      deadline_ms: SHUTDOWN_DEADLINE_MS,
      count: shutdowns.length,
      max: perService((s) => Math.max(0, ...shutdowns.filter((x) => x.service === s).map((x) => x.ms))),
      over_deadline: shutdowns.filter((s) => s.ms > SHUTDOWN_DEADLINE_MS).length,
      sigkilled: shutdowns.filter((s) => s.killed).length,
    },
    rss_mb: rss,
    crashes,
    crash_log: crashLog.slice(0, 5),
    recovery_ms: recoveryMs,
    orphans: orphans.length,
    orphan_sample: orphans.slice(0, 5),
    probe_rounds: probe.rounds,
    duration_s: Math.round((Date.now() - startedAt) / 1000),
    log_dir: runDir,
  };
  return { ok: failures.length === 0, failed: failures, line };
}

/** Polls `cond` until true; throws at the deadline (no wait in the harness is unbounded). */
async function until(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (
      await Promise.resolve()
        .then(cond)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

async function livePrediction(stack: Stack): Promise<boolean> {
  const last = await stack.admin.xrevrange(`pred:{${SYMBOL}}:stream`, '+', '-', 'COUNT', 1);
  return last.length > 0 && toEntry(last[0]![0], last[0]![1]).fallback === false;
}

async function newestTick(stack: Stack): Promise<number> {
  const last = await stack.admin.xrevrange(`pred:{${SYMBOL}}:stream`, '+', '-', 'COUNT', 1);
  return last.length > 0 ? Number(last[0]![0].split('-')[0]) : 0;
}

async function liveVersion(stack: Stack): Promise<number> {
  const b = await stack.admin.getBuffer(`feat:{${SYMBOL}}`);
  return b === null ? -1 : decodeVector(b).version;
}

function toEntry(id: string, fields: string[]): PredictionEntry {
  const i = fields.findIndex((_, k) => k % 2 === 1);
  try {
    const p = JSON.parse(fields[i] ?? '{}') as { tickMs?: number; fallback?: boolean; reason?: string | null };
    return { id, tickMs: Number(p.tickMs ?? id.split('-')[0]), fallback: p.fallback === true, reason: p.reason ?? null };
  } catch {
    return { id, tickMs: Number(id.split('-')[0]), fallback: true, reason: 'unparseable' };
  }
}

/** Every service that is down comes back now; Redis writable and running; Kinesis up. */
async function recoverAll(stack: Stack, log: DebugLogger): Promise<void> {
  if (stack.redis.current === undefined) await stack.redis.start();
  if (stack.redis.paused) stack.redis.resume();
  await stack.admin.call('REPLICAOF', 'NO', 'ONE').catch(ignoreRejection(log, 'Redis still read-only fails the health wait that follows'));
  for (const s of stack.services) {
    s.cancelRestart();
    if (s.current === undefined) s.start();
  }
}

async function allHealthy(stack: Stack): Promise<boolean> {
  const answers = await Promise.all(
    stack.services.map((s) =>
      fetch(`${s.url}/health`, { signal: AbortSignal.timeout(1_000) }).then(
        async (r) => {
          await r.arrayBuffer();
          return r.status === 200;
        },
        () => false,
      ),
    ),
  );
  return answers.every(Boolean);
}

/** Tick windows in which no inference replica was serving (none started, or all stopping/dead). */
function inferenceDownWindows(stack: Stack, intervalMs: number): FaultWindow[] {
  const serving = stack.inference.flatMap((s) => s.instances.map((i) => [i.readyAtMs ?? Number.POSITIVE_INFINITY, i.stoppingAtMs ?? i.exitedAtMs ?? Number.POSITIVE_INFINITY] as const));
  const out: FaultWindow[] = [];
  const from = Math.min(...stack.inference.flatMap((s) => s.instances.map((i) => i.spawnedAtMs)));
  const to = Date.now();
  let open: number | undefined;
  for (let t = Math.ceil(from / intervalMs) * intervalMs; t <= to; t += intervalMs) {
    const up = serving.some(([a, b]) => a <= t && t < b);
    if (!up && open === undefined) open = t;
    if (up && open !== undefined) {
      out.push({ reason: 'no_inference_replica_serving', startMs: open, endMs: t - 1 });
      open = undefined;
    }
  }
  if (open !== undefined) out.push({ reason: 'no_inference_replica_serving', startMs: open, endMs: to });
  return out;
}

/** The end, also on error: SIGTERM in reverse order with deadlines, SIGKILL for what remains; Redis and Kinesis last. */
async function stopEverything(stack: Stack, log: DebugLogger): Promise<void> {
  const services = [...(stack.inference ?? []), ...(stack.aggregators ?? []), stack.ingestor, stack.sim].filter((s): s is ServiceProcess => s !== undefined);
  for (const s of services) s.cancelRestart();
  await Promise.all(services.map((s) => s.terminate(HARD_STOP_MS).catch(ignoreRejection(log, `${s.spec.name} not stopped by SIGTERM: SIGKILL follows`))));
  const killFailed = ignoreRejection(log, 'a process that survives SIGKILL is reported by the orphan check after this');
  for (const s of services) await s.forceKill().catch(killFailed);
  stack.admin?.disconnect();
  await withDeadline(stack.redis.stop(HARD_STOP_MS), HARD_STOP_MS + 6_000, 'redis stop').catch(ignoreRejection(log, 'a redis-server left running is reported by the orphan check'));
  await withDeadline(stack.kinesis.stop(), 10_000, 'kinesis stop').catch(ignoreRejection(log, 'the Kinesis emulator runs in this process: one that does not close in time ends with it'));
}

async function survivorsAfter(stack: Stack, ms: number): Promise<{ pid: number; cmd: string }[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = stack.ledger.survivors();
    if (left.length === 0 || Date.now() > deadline) {
      // the harness leaves nothing behind even when it reports orphans
      for (const p of left) if (isAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
      return left;
    }
    await sleep(200);
  }
}
