/**
 * bench:scale part 3, `tick_driven`: a tick of N symbols driven back to back (as bench:inference drives one
 * symbol's), batched and unbatched replicas on the same redis-server alternately, every symbol fed fresh vectors.
 * A tick's makespan = from its start until the last symbol's prediction is written: what the slowest subscriber
 * waits for. Many ticks in seconds, so its p99 is not two or three samples as in a 20 s window of 2 s ticks.
 */
import { InferenceConfigSchema, InferenceServer } from 'inference';
import { Feeder, sleep } from '../../apps/inference/test/harness.ts';
import { startBenchRedis } from '../redis-targets.ts';

export interface TickDriven {
  symbols: number;
  ticks: number;
  batched_p50_ms: number;
  batched_p99_ms: number;
  unbatched_p50_ms: number;
  unbatched_p99_ms: number;
  /** unbatched / batched. */
  p50_speedup: number;
  p99_speedup: number;
}

const at = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round = (x: number, d = 3): number => Number(x.toFixed(d));

export async function driveTicks(symbols: string[], ticks: number): Promise<TickDriven> {
  const redis = await startBenchRedis('single', 'everysec');
  const feeders = symbols.map((s) => new Feeder(redis.client, s, 100).start());
  await sleep(300);
  const servers = [true, false].map((batch) => {
    // (the scheduler parked on an hour: the ticks are driven here; deps in a variable, InferenceService takes `batch`)
    const deps = { tracingEnv: {}, batch };
    return new InferenceServer(
      InferenceConfigSchema.parse({ ...redis.fields, symbols, intervalMs: 3_600_000, redisTimeoutMs: 5_000, port: 0, host: '127.0.0.1', logLevel: 'silent', replica: batch ? 'batched' : 'unbatched' }),
      deps,
    );
  });
  for (const s of servers) await s.start();
  const times: [number[], number[]] = [[], []];
  const base = Math.floor(Date.now() / 2_000) * 2_000 - (2 * ticks + 1) * 2_000;
  let next = 0;
  try {
    for (let i = 0; i < ticks; i++) {
      // each replica its own ticks, later every time (the stream refuses a tick at or before the last written), the
      // order flipped every round
      for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) {
        const tickMs = base + next++ * 2_000;
        const t0 = performance.now();
        const results = await Promise.all(symbols.map((s) => servers[k]!.service.tickSymbol(s, tickMs, false)));
        times[k]!.push(performance.now() - t0);
        for (const r of results) if (r.outcome !== 'predicted') throw new Error(`driven tick ${i} (${k === 0 ? 'batched' : 'unbatched'}): ${r.outcome} ${r.reason ?? ''}`);
      }
    }
  } finally {
    for (const s of servers) await s.stop();
    for (const f of feeders) f.stop();
    await redis.stop();
  }
  const [b, u] = times;
  return {
    symbols: symbols.length,
    ticks,
    batched_p50_ms: round(at(b, 0.5)),
    batched_p99_ms: round(at(b, 0.99)),
    unbatched_p50_ms: round(at(u, 0.5)),
    unbatched_p99_ms: round(at(u, 0.99)),
    p50_speedup: round(at(u, 0.5) / at(b, 0.5), 2),
    p99_speedup: round(at(u, 0.99) / at(b, 0.99), 2),
  };
}
