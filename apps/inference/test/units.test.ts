import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SCHEMA_HASH } from '@hotpath/features';
import { VectorStatus, type FeatureVectorRecord } from '@hotpath/state';
import { Grader, type Figures } from '../src/grading.ts';
import { InferenceConfigSchema } from '../src/config.ts';
import { buildPrediction, parsePrediction, PredictionFormatError, vetVector, type Prediction } from '../src/prediction.ts';
import { TickScheduler, type TickTimers } from '../src/schedule.ts';
import { parseStageBuckets, stageFigures } from '../src/stages.ts';

function vector(over: Partial<FeatureVectorRecord> = {}, nowMs = Date.now()): FeatureVectorRecord {
  const features = new Float64Array(FEATURE_COUNT).fill(1);
  features[FEATURE_NAMES.indexOf('microprice_dev_bps')] = 2;
  return { status: VectorStatus.Live, version: 7, eventTimeUs: (nowMs - 100) * 1000, writtenAtUs: nowMs * 1000, bestBid: 99.99, bestAsk: 100.01, schemaHash: FEATURE_SCHEMA_HASH, features, ...over };
}

/**
 * Time under the test's control for TickScheduler: `now` only moves when the test says so, and the
 * scheduler's timers fire in due order as it moves (a responsive process) or all at once after a
 * jump (a process that stalled). Each firing is followed by a turn of the event loop, so the
 * tick's promise chain settles before time moves on.
 */
type ManualTimer = { dueMs: number; fire: () => void };

class ManualClock {
  private pending: ManualTimer[] = [];

  constructor(private nowMs: number) {}

  readonly now = (): number => this.nowMs;

  readonly timers: TickTimers = {
    set: (fire, delayMs) => {
      const timer = { dueMs: this.nowMs + delayMs, fire };
      this.pending.push(timer);
      return timer;
    },
    clear: (timer) => {
      this.pending = this.pending.filter((t) => t !== timer);
    },
  };

  get armed(): number {
    return this.pending.length;
  }

  /** Time runs to `untilMs`, each timer firing at its due time. */
  async runTo(untilMs: number): Promise<void> {
    for (;;) {
      const next = this.pending.reduce<ManualTimer | undefined>((a, t) => (a === undefined || t.dueMs < a.dueMs ? t : a), undefined);
      if (next === undefined || next.dueMs > untilMs) break;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      await this.fire(next);
    }
    this.nowMs = Math.max(this.nowMs, untilMs); // time never runs backwards
  }

  /** The process is frozen for `ms` (no timer fires meanwhile); then the overdue timers fire. */
  async stall(ms: number): Promise<void> {
    this.nowMs += ms;
    await this.runTo(this.nowMs);
  }

  /** A timer firing a little before its due time (real timers may): time does not move. */
  async fireEarly(): Promise<void> {
    const [first] = this.pending;
    if (first) await this.fire(first);
  }

  private async fire(timer: ManualTimer): Promise<void> {
    this.pending = this.pending.filter((t) => t !== timer);
    timer.fire();
    await new Promise((r) => setImmediate(r));
  }
}

/** A scheduler on a manual clock, recording what it did; `hold` makes the next tick run until `release()`. */
function scheduled(intervalMs: number, startMs: number) {
  const clock = new ManualClock(startMs);
  const ticks: { tickMs: number; lateMs: number }[] = [];
  const skipped: { tickMs: number; reason: string }[] = [];
  let held: (() => void) | undefined;
  let holdNext = false;
  let failNext = false;
  const ignored: { err: unknown; msg: string }[] = [];
  const scheduler = new TickScheduler(
    intervalMs,
    {
      tick: (tickMs, lateMs) => {
        ticks.push({ tickMs, lateMs });
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('tick failed'));
        }
        if (!holdNext) return Promise.resolve();
        holdNext = false;
        return new Promise<void>((r) => (held = r));
      },
      skipped: (tickMs, reason) => skipped.push({ tickMs, reason }),
    },
    { debug: (o, msg) => void ignored.push({ err: o.err, msg }) },
    clock.now,
    clock.timers,
  );
  return {
    clock,
    scheduler,
    ticks,
    skipped,
    ignored,
    holdNextTick: () => (holdNext = true),
    failNextTick: () => (failNext = true),
    release: async () => {
      held?.();
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('TickScheduler (on a manual clock)', () => {
  it('ticks on multiples of the interval from the first boundary after start, on time', async () => {
    const s = scheduled(100, 1_234_567);
    s.scheduler.start();
    await s.clock.runTo(1_235_000);
    expect(s.ticks).toEqual([1_234_600, 1_234_700, 1_234_800, 1_234_900, 1_235_000].map((tickMs) => ({ tickMs, lateMs: 0 })));
    expect(s.skipped).toEqual([]);
  });

  it('a timer that fires early runs nothing and waits for its boundary', async () => {
    const s = scheduled(100, 1_000);
    s.scheduler.start();
    await s.clock.runTo(1_060);
    await s.clock.fireEarly();
    expect(s.ticks).toEqual([]);
    expect(s.clock.armed).toBe(1);
    await s.clock.runTo(1_100);
    expect(s.ticks).toEqual([{ tickMs: 1_100, lateMs: 0 }]);
  });

  it('a late timer (less than an interval) runs its tick and reports how late; the next tick is back on the grid', async () => {
    const s = scheduled(100, 1_000);
    s.scheduler.start();
    await s.clock.runTo(1_100);
    await s.clock.stall(140); // the 1200 boundary fires at 1240
    await s.clock.runTo(1_300);
    expect(s.ticks).toEqual([
      { tickMs: 1_100, lateMs: 0 },
      { tickMs: 1_200, lateMs: 40 },
      { tickMs: 1_300, lateMs: 0 },
    ]);
    expect(s.skipped).toEqual([]);
  });

  it('boundaries that arrive while a tick still runs are skipped as overlap, never queued or run late', async () => {
    const s = scheduled(100, 1_000);
    s.scheduler.start();
    await s.clock.runTo(1_100);
    s.holdNextTick();
    await s.clock.runTo(1_450); // the 1200 tick runs until 1450: 1300 and 1400 arrive meanwhile
    expect(s.skipped).toEqual([
      { tickMs: 1_300, reason: 'overlap' },
      { tickMs: 1_400, reason: 'overlap' },
    ]);
    await s.release();
    await s.clock.runTo(1_600);
    expect(s.ticks.map((t) => t.tickMs)).toEqual([1_100, 1_200, 1_500, 1_600]);
    expect(s.ticks.every((t) => t.lateMs === 0)).toBe(true);
    expect(s.skipped).toHaveLength(2);
  });

  it('a stalled process skips every boundary it slept through, each counted as late, and resumes on the grid', async () => {
    const s = scheduled(100, 1_000);
    s.scheduler.start();
    await s.clock.runTo(1_100);
    await s.clock.stall(350); // frozen from 1100 to 1450: 1200, 1300 and 1400 pass unseen
    expect(s.skipped.map((x) => x.reason)).toEqual(['late', 'late', 'late']);
    expect(s.skipped.map((x) => x.tickMs).sort()).toEqual([1_200, 1_300, 1_400]);
    await s.clock.runTo(1_600);
    expect(s.ticks).toEqual([1_100, 1_500, 1_600].map((tickMs) => ({ tickMs, lateMs: 0 })));
  });

  it('a failing tick does not stop the schedule', async () => {
    const s = scheduled(100, 1_000);
    s.scheduler.start();
    s.failNextTick();
    await s.clock.runTo(1_300);
    expect(s.ticks.map((t) => t.tickMs)).toEqual([1_100, 1_200, 1_300]);
    expect(s.skipped).toEqual([]);
    // not silent: the rejection is logged whole at debug, with why the schedule may ignore it
    expect(s.ignored).toHaveLength(1);
    expect(s.ignored[0]!.msg).toMatch(/^ignored: a tick counts and logs its own failures/);
    expect((s.ignored[0]!.err as Error).message).toBe('tick failed');
  });

  it('stopped means stopped: no timer left armed, no tick afterwards, also when stopped during a tick', async () => {
    const s = scheduled(100, 1_000);
    s.scheduler.start();
    await s.clock.runTo(1_100);
    s.holdNextTick();
    await s.clock.runTo(1_200);
    s.scheduler.stop();
    expect(s.clock.armed).toBe(0);
    await s.release();
    await s.clock.runTo(2_000);
    expect(s.ticks.map((t) => t.tickMs)).toEqual([1_100, 1_200]);
    expect(s.skipped).toEqual([]);
  });
});

describe('checks and fallbacks', () => {
  const checks = { maxFeatureAgeMs: 5_000, minCompleteness: 0.9 };
  const now = Date.now();
  it('names the first reason a vector must not reach the model', () => {
    expect(vetVector(vector({}, now), now, checks, FEATURE_SCHEMA_HASH)).toBeNull();
    expect(vetVector(vector({ status: VectorStatus.Reanchoring }, now), now, checks, FEATURE_SCHEMA_HASH)).toBe('reanchoring');
    expect(vetVector(vector({ status: VectorStatus.Stale }, now), now, checks, FEATURE_SCHEMA_HASH)).toBe('stale_features');
    expect(vetVector(vector({ eventTimeUs: (now - 6_000) * 1000 }, now), now, checks, FEATURE_SCHEMA_HASH)).toBe('stale_features');
    expect(vetVector(vector({ schemaHash: '0123456789abcdef' }, now), now, checks, FEATURE_SCHEMA_HASH)).toBe('schema_mismatch');
    expect(vetVector(vector({}, now), now, checks, '0123456789abcdef')).toBe('schema_mismatch');
    const holes = vector({}, now);
    holes.features.fill(Number.NaN, 0, 10);
    expect(vetVector(holes, now, checks, FEATURE_SCHEMA_HASH)).toBe('incomplete_features');
    expect(vetVector(vector({}, now), now, checks, undefined)).toBe('model_unavailable');
  });

  it('a fallback predicts the microprice, claims no edge, and says why; no book means no prediction', () => {
    const v = vector({}, now);
    const p = buildPrediction('BTCUSDT', 2_000, now, 10, 'r1', v, { returnBps: 9, pUp: 0.9, modelVersion: 'm@1', reason: 'stale_features' })!;
    expect(p).toMatchObject({ fallback: true, reason: 'stale_features', predictedReturnBps: 2, pUp: 0.5, confidence: 0.5, modelVersion: null, mid: 100, targetMs: 12_000 });
    expect(p.predictedPrice).toBeCloseTo(100.02, 10);
    const m = buildPrediction('BTCUSDT', 2_000, now, 10, 'r1', v, { returnBps: -3, pUp: 0.2, modelVersion: 'm@1', reason: null })!;
    expect(m).toMatchObject({ fallback: false, predictedReturnBps: -3, confidence: 0.8, modelVersion: 'm@1', baseline: { returnBps: 2 } });
    expect(buildPrediction('BTCUSDT', 2_000, now, 10, 'r1', vector({ bestBid: Number.NaN }), { returnBps: 0, pUp: 0.5, modelVersion: null, reason: null })).toBeUndefined();
  });
});

describe('Grader', () => {
  const pred = (tickMs: number, mid: number, returnBps: number, pUp: number, fallback = false): Prediction =>
    ({
      symbol: 'X',
      tickMs,
      targetMs: tickMs + 10_000,
      horizonS: 10,
      mid,
      predictedReturnBps: returnBps,
      predictedPrice: mid * (1 + returnBps / 1e4),
      pUp,
      confidence: Math.max(pUp, 1 - pUp),
      fallback,
      baseline: { returnBps: 0, price: mid },
    }) as Prediction;

  it('grades each prediction with the mid at its target tick: accuracy, MAE, correlation, calibration, baseline alongside', () => {
    let last: { model: Figures; baseline: Figures } | undefined;
    const g = new Grader(
      2_000,
      100,
      (_s, model, baseline) => (last = { model, baseline }),
      () => undefined,
    );
    // realized: +10 bps, −10 bps, +10 bps, 0; model says +, +, +, − (2 of 3 non-zero moves right)
    const mids = [100, 100.1, 99.9, 100.1, 100];
    g.add(pred(0, 100, 5, 0.7));
    g.add(pred(2_000, 100.1, 5, 0.7));
    g.add(pred(4_000, 99.9, 5, 0.7));
    g.add(pred(6_000, 100.1, -5, 0.3, true)); // a fallback: baseline only
    for (let k = 0; k < 4; k++) g.observe('X', 10_000 + k * 2_000, mids[k + 1]!, true);
    expect(last!.model.n).toBe(3);
    expect(last!.model.directionalAccuracy).toBeCloseTo(2 / 3, 10);
    expect(last!.baseline.n).toBe(4);
    expect(last!.baseline.directionalAccuracy).toBeNull(); // persistence never names a direction
    // MAE: |100.05 − 100.1| + |100.15005 − 99.9| + |99.94995 − 100.1| over 3
    expect(last!.model.maeUsd).toBeCloseTo((0.05 + 0.25005 + 0.15005) / 3, 6);
    expect(last!.model.calibration).toBeCloseTo(1 - Math.abs(0.7 - 2 / 3), 10);
    expect(last!.model.correlation).toBeNull(); // the model's predicted returns are constant: no correlation is defined
  });

  it('a stale or late mid does not grade: counted ungradable instead', () => {
    let graded = 0;
    let ungradable = 0;
    const g = new Grader(
      2_000,
      100,
      () => graded++,
      () => ungradable++,
    );
    g.add(pred(0, 100, 5, 0.7));
    g.add(pred(2_000, 100, 5, 0.7));
    g.observe('X', 10_000, 100.1, false); // stale at the target
    g.observe('X', 14_000, 100.1, true); // the 12 s target tick was not observed; 14 s is too late for it
    expect(graded).toBe(0);
    expect(ungradable).toBe(2);
    g.observe('X', 14_000, 100.1, true); // the same tick again changes nothing
    expect(ungradable).toBe(2);
  });

  it('pending predictions are bounded when no mid ever arrives', () => {
    let ungradable = 0;
    const g = new Grader(
      2_000,
      100,
      () => undefined,
      () => ungradable++,
    );
    for (let k = 0; k < 1000; k++) g.add(pred(k * 2_000, 100, 1, 0.6));
    expect(ungradable).toBeGreaterThan(900);
  });
});

describe('stage budget', () => {
  it('merges stage histograms from several expositions and interpolates quantiles inside buckets', () => {
    const a =
      'pipeline_stage_latency_seconds_bucket{le="0.001",stage="exchange_to_ingestor",service="ingestor"} 0\npipeline_stage_latency_seconds_bucket{le="0.01",stage="exchange_to_ingestor",service="ingestor"} 100\npipeline_stage_latency_seconds_bucket{le="+Inf",stage="exchange_to_ingestor",service="ingestor"} 100\n';
    const b =
      'pipeline_stage_latency_seconds_bucket{le="0.001",stage="exchange_to_ingestor"} 0\npipeline_stage_latency_seconds_bucket{le="0.01",stage="exchange_to_ingestor"} 100\npipeline_stage_latency_seconds_bucket{le="+Inf",stage="exchange_to_ingestor"} 100\nother_metric_bucket{le="1"} 5\n';
    const f = stageFigures(parseStageBuckets(b, parseStageBuckets(a)));
    const s = f.find((x) => x.stage === 'exchange_to_ingestor')!;
    expect(s.count).toBe(200);
    expect(s.p50Ms).toBeCloseTo(5.5, 6); // halfway through (1 ms, 10 ms]
    expect(s.p99Ms).toBeCloseTo(9.91, 6);
    expect(f.find((x) => x.stage === 'kinesis_to_aggregator')).toMatchObject({ count: 0, p50Ms: null });
  });
});

describe('untrusted input, defaults', () => {
  it('parsePrediction takes what buildPrediction makes and refuses anything else with a PredictionFormatError', () => {
    const p = buildPrediction('BTCUSDT', 1_000_000, 1_000_010, 10, 'r', vector({}, 1_000_000), { returnBps: 1, pUp: 0.6, modelVersion: 'm@1', reason: null })!;
    expect(parsePrediction(JSON.stringify(p))).toEqual(p);
    for (const bad of [
      'null',
      '',
      '{',
      '[]',
      '"x"',
      JSON.stringify({ ...p, pUp: 2 }),
      JSON.stringify({ ...p, reason: 'other' }),
      JSON.stringify({ ...p, symbol: 'btc<usdt>' }),
      JSON.stringify({ ...p, mid: null }),
      JSON.stringify({ ...p, modelVersion: 'v'.repeat(300) }),
    ]) {
      expect(() => parsePrediction(bad)).toThrow(PredictionFormatError);
    }
  });

  it('a vector with a non-finite event time is never fresh', () => {
    expect(vetVector(vector({ eventTimeUs: Number.NaN }), Date.now(), { maxFeatureAgeMs: 5_000, minCompleteness: 0.9 }, FEATURE_SCHEMA_HASH)).toBe('stale_features');
  });

  it('binds to loopback unless told otherwise', () => {
    expect(InferenceConfigSchema.parse({}).host).toBe('127.0.0.1');
  });
});
