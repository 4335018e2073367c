/**
 * The start timeline's bookkeeping (what `first prediction X s after start —
 * timeline: …` prints) and the children's environment allowlist, in process:
 * the launcher itself runs only as a child process in the e2e tests.
 */
import { describe, expect, it } from 'vitest';
import { childEnv } from '../src/child-env.ts';
import { CAUSES, PHASES, StartTimeline, sinceStart } from '../src/timeline.ts';

describe('start timeline', () => {
  it('the first mark of a phase wins, an exact later time lowers a polled one, output is in time order', () => {
    const t = new StartTimeline();
    expect(t.has('redis up')).toBe(false);
    t.mark('redis up', 310);
    t.mark('redis up', 900); // a later poll of the same phase does not move it
    t.mark('kinesis up', 360);
    t.mark('inference first tick', 5_400);
    t.lower('inference first tick', 5_334); // the exact boundary, known from the first prediction
    t.lower('inference first tick', 6_000); // never raised
    t.lower('first prediction', 6_003); // lower() of an unseen phase sets it
    t.mark('launcher loaded', -5); // clamped at the process start
    expect(t.get('redis up')).toBe(310);
    expect(t.get('inference first tick')).toBe(5_334);
    expect(t.get('first model prediction')).toBeUndefined();
    expect(Object.keys(t.seconds())).toEqual(['launcher loaded', 'redis up', 'kinesis up', 'inference first tick', 'first prediction']);
    expect(t.seconds()['first prediction']).toBe(6.003);
    expect(t.format()).toBe('launcher loaded 0.00 · redis up 0.31 · kinesis up 0.36 · inference first tick 5.33 · first prediction 6.00');
    // now by default
    const before = performance.now();
    t.mark('ingestor up');
    expect(t.get('ingestor up')!).toBeGreaterThanOrEqual(before);
  });

  it('every cause names known phases, and the process clock is the epoch less the time origin', () => {
    for (const [a, b] of CAUSES) {
      expect(PHASES).toContain(a);
      expect(PHASES).toContain(b);
      expect(PHASES.indexOf(a)).toBeLessThan(PHASES.indexOf(b));
    }
    expect(sinceStart(performance.timeOrigin + 1_234)).toBeCloseTo(1_234, 6);
  });
});

describe('child environment', () => {
  it('takes the base variables and the inherited patterns only; set wins, undefined removes', () => {
    const parent = { PATH: '/bin', HOME: '/root', SECRET: 's', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_SERVICE_NAME: 'all', SIM_SEED: '3', SIMX: 'no', UNSET: undefined };
    const env = childEnv(parent, ['OTEL_*', 'SIM_SEED'], { OTEL_SERVICE_NAME: undefined, LOG_LEVEL: 'info', PATH: '/usr/bin' });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', SIM_SEED: '3', LOG_LEVEL: 'info' });
  });
});
