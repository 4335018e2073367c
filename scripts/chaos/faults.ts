/**
 * The fault catalogue. Each kind runs to its end (a Redis read-only window
 * lasts its 10 s) before the next is drawn; a killed service comes back on
 * its own after a seeded delay, so restarts overlap later faults. Windows
 * during which a tick may legitimately have no prediction (Redis down, read
 * only or hung; both inference replicas down) are recorded, with the time
 * the services need to notice the end.
 */
import { sleep, type ServiceProcess } from './processes.ts';
import type { SeededRandom } from './random.ts';
import { SYMBOL, type Stack } from './stack.ts';

/** SIGTERM → SIGKILL deadline the harness gives a graceful stop (compose's grace). */
export const HARD_STOP_MS = 10_000;

export interface FaultWindow {
  reason: string;
  startMs: number;
  endMs: number;
}

export interface FaultContext {
  stack: Stack;
  rng: SeededRandom;
  /** A window in which ticks may go unwritten for `reason`. */
  window(reason: string, startMs: number, endMs: number): void;
  /** A failure of the injection itself (the simulator refused a fault, ...). */
  error(kind: string, detail: string): void;
  log(line: string): void;
}

export interface FaultKind {
  name: string;
  run(ctx: FaultContext): Promise<void>;
}

/** Share of service restarts that are graceful (SIGTERM, shutdown time measured) rather than kill -9. */
const GRACEFUL_SHARE = 0.3;

async function restartService(ctx: FaultContext, s: ServiceProcess): Promise<void> {
  const graceful = ctx.rng.chance(GRACEFUL_SHARE);
  const delay = ctx.rng.int(500, 3_000);
  const pid = s.current?.pid;
  if (graceful) {
    const r = await s.terminate(HARD_STOP_MS);
    ctx.log(`${s.name} (pid ${pid}) SIGTERM: exited in ${r?.ms} ms${r?.killed ? ' — SIGKILLed at the deadline' : ''}; back in ${delay} ms`);
  } else {
    await s.kill();
    ctx.log(`${s.name} (pid ${pid}) kill -9; back in ${delay} ms`);
  }
  s.restartIn(delay);
}

async function sim(ctx: FaultContext, kind: string, fault: Record<string, unknown>): Promise<void> {
  const r = await ctx.stack.simFault(fault);
  if (!r.ok) ctx.error(kind, `POST /admin/faults ${JSON.stringify(fault)} → ${r.status}`);
}

/** Time the services need to see Redis again once it is back (ioredis backoff ≤ 1 s, then a tick). */
const redisRecoveryMs = (intervalMs: number): number => 2 * intervalMs + 2_000;

export function faultKinds(intervalMs: number, oversizedSupported: boolean): FaultKind[] {
  const kinds: FaultKind[] = [
    {
      // finding 1's repro: a burst of reconnects (the epoch used to run ahead of the clock), then the process dies
      name: 'kill_ingestor_after_reconnect_burst',
      run: async (ctx) => {
        const n = ctx.rng.int(3, 8);
        for (let i = 0; i < n; i++) {
          await sim(ctx, 'kill_ingestor_after_reconnect_burst', { type: 'closeConnections' });
          await sleep(250);
        }
        if (ctx.stack.ingestor.up) await restartService(ctx, ctx.stack.ingestor);
      },
    },
    {
      name: 'kill_aggregator',
      run: async (ctx) => {
        const up = ctx.stack.aggregators.filter((a) => a.up);
        if (up.length > 0) await restartService(ctx, ctx.rng.pick(up));
      },
    },
    {
      name: 'kill_inference',
      run: async (ctx) => {
        const up = ctx.stack.inference.filter((a) => a.up);
        if (up.length > 0) await restartService(ctx, ctx.rng.pick(up));
      },
    },
    {
      name: 'redis_kill_restart',
      run: async (ctx) => {
        const t0 = Date.now();
        await ctx.stack.redis.kill();
        await sleep(ctx.rng.int(500, 3_000));
        await ctx.stack.redis.start();
        ctx.window('redis_down', t0, Date.now() + redisRecoveryMs(intervalMs));
        ctx.log(`redis kill -9, back after ${Date.now() - t0} ms`);
      },
    },
    {
      name: 'redis_readonly',
      run: async (ctx) => {
        const t0 = Date.now();
        // a replica of a master that does not exist: every write answers READONLY, reads still work
        const on = await ctx.stack.admin.call('REPLICAOF', '127.0.0.1', '1').then(
          () => true,
          (err: Error) => {
            ctx.error('redis_readonly', `REPLICAOF: ${err.message}`);
            return false;
          },
        );
        if (!on) return;
        await sleep(10_000);
        const deadline = Date.now() + 10_000;
        while (
          !(await ctx.stack.admin.call('REPLICAOF', 'NO', 'ONE').then(
            () => true,
            () => false,
          ))
        ) {
          if (Date.now() > deadline) throw new Error('REPLICAOF NO ONE failed for 10 s: Redis stays read-only');
          await sleep(200);
        }
        ctx.window('redis_readonly', t0, Date.now() + redisRecoveryMs(intervalMs));
        ctx.log(`redis read-only for ${Date.now() - t0} ms`);
      },
    },
    {
      name: 'redis_pause',
      run: async (ctx) => {
        const t0 = Date.now();
        const ms = ctx.rng.int(1_000, 4_000);
        ctx.stack.redis.pause();
        await sleep(ms);
        ctx.stack.redis.resume();
        ctx.window('redis_hung', t0, Date.now() + redisRecoveryMs(intervalMs));
      },
    },
    {
      name: 'kinesis_outage',
      run: async (ctx) => {
        const ms = ctx.rng.int(2_000, 8_000);
        await ctx.stack.kinesisOutage(ms);
        ctx.log(`kinesis down ${ms} ms`);
      },
    },
    { name: 'exchange_disconnect', run: (ctx) => sim(ctx, 'exchange_disconnect', { type: 'closeConnections' }) },
    { name: 'exchange_server_shutdown', run: (ctx) => sim(ctx, 'exchange_server_shutdown', { type: 'serverShutdown', closeAfterMs: ctx.rng.int(200, 2_000) }) },
    { name: 'exchange_stall', run: (ctx) => sim(ctx, 'exchange_stall', { type: 'stall', ms: ctx.rng.int(1_000, 8_000) }) },
    { name: 'depth_gap', run: (ctx) => sim(ctx, 'depth_gap', { type: 'dropDepthDiffs', symbol: SYMBOL, count: ctx.rng.int(1, 5) }) },
    { name: 'trade_gap', run: (ctx) => sim(ctx, 'trade_gap', { type: 'dropTrades', symbol: SYMBOL, count: ctx.rng.int(1, 5) }) },
    {
      // REST failures only matter when REST is called: a gap of each kind right after
      name: 'rest_fail',
      run: async (ctx) => {
        await sim(ctx, 'rest_fail', { type: 'restFail', status: ctx.rng.pick([429, 500, 502, 503]), count: ctx.rng.int(1, 4) });
        await sim(ctx, 'rest_fail', { type: 'dropDepthDiffs', symbol: SYMBOL, count: 1 });
        await sim(ctx, 'rest_fail', { type: 'dropTrades', symbol: SYMBOL, count: ctx.rng.int(1, 3) });
      },
    },
    {
      name: 'malformed_frames',
      run: async (ctx) => {
        await sim(ctx, 'malformed_frames', { type: 'malformed', count: ctx.rng.int(1, 5) });
        await sim(ctx, 'malformed_frames', { type: 'truncated', count: ctx.rng.int(1, 5) });
      },
    },
    {
      name: 'duplicate_reorder_frames',
      run: async (ctx) => {
        await sim(ctx, 'duplicate_reorder_frames', { type: 'duplicate', count: ctx.rng.int(1, 20) });
        await sim(ctx, 'duplicate_reorder_frames', { type: 'reorder', count: ctx.rng.int(1, 10) });
      },
    },
  ];
  if (oversizedSupported) kinds.push({ name: 'oversized_frames', run: (ctx) => sim(ctx, 'oversized_frames', { type: 'oversized', count: ctx.rng.int(1, 3) }) });
  return kinds;
}

/** Whether the simulator can send oversized frames (a fault type it may not have): a refused request arms nothing. */
export async function simulatorHasOversized(stack: Stack): Promise<boolean> {
  const r = await stack.simFault({ type: 'oversized', count: 1 });
  return r.ok;
}

/** Draws kinds from a shuffled deck of all of them, reshuffled when empty: each kind comes up evenly often. */
export class FaultDeck {
  private deck: FaultKind[] = [];
  constructor(
    private readonly kinds: FaultKind[],
    private readonly rng: SeededRandom,
  ) {}

  next(): FaultKind {
    if (this.deck.length === 0) this.deck = this.rng.shuffle(this.kinds);
    return this.deck.pop()!;
  }
}
