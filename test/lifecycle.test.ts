/**
 * Issue 19 item 7, compressed: the simulator's informed flow reverses, the
 * champion's live accuracy falls, the retraining job's candidate is shadowed,
 * wins the SPRT and is promoted by itself, and accuracy recovers
 * (scripts/lifecycle-scenario.ts; `pnpm soak:lifecycle` runs it in full).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '@hotpath/state/testing';
import { FULL_SCENARIO, runLifecycleScenario } from '../scripts/lifecycle-scenario.ts';

describe('model lifecycle on a regime change', () => {
  const server = new RedisServer('everysec');
  let redis: Redis;
  beforeAll(async () => {
    await server.start();
    redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server.stop();
  });

  it('the champion decays, a retrained challenger wins in shadow and is promoted, accuracy recovers', async () => {
    const r = await runLifecycleScenario({ ...FULL_SCENARIO, minutesAfter: 90 }, redis);
    console.log(JSON.stringify(r));
    // regime A: the champion has an edge; regime B: it has lost it
    expect(r.accuracy_before).toBeGreaterThan(0.55);
    expect(r.accuracy_during).toBeLessThan(r.accuracy_before! - 0.05);
    expect(r.detect_decay_s).not.toBeNull();
    // promoted by the SPRT, through the registry, and serving better than the decayed champion
    expect(r.promote_s).not.toBeNull();
    expect(r.decisions).toEqual(expect.arrayContaining(['challenger_loaded', 'promoted']));
    expect(r.decisions.indexOf('challenger_loaded')).toBeLessThan(r.decisions.indexOf('promoted'));
    expect(r.champion_after).not.toBeNull();
    expect(r.ticks.after).toBeGreaterThan(100);
    expect(r.accuracy_after).toBeGreaterThan(r.accuracy_during! + 0.05);
    // (a deadline, not a window: the scenario is CPU-bound simulation and training — ~60 s alone, 208 s at load 11
    // on 2 cores, where the 120 s deadline cut it short)
  }, 600_000);
});
