/**
 * exchange-sim → ingestor → kinesalite, through injected faults, one at a
 * time: a depth gap, a trade gap, serverShutdown and a lifetime rotation (both
 * make-before-break), dropped connections with a REST 429 on re-anchoring, and
 * a Kinesis outage; every fifth PutRecords request is throttled throughout. Each phase
 * injects its fault and waits until a reader of the stream sees its effect
 * repaired (conditions, no pauses); what each phase published — the envelopes
 * between the writer sequence at its start and at the next one's — is checked
 * on its own, and the whole stream once more for what spans the phases.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readStream } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { Ingestor, ingestorConfigFromEnv } from '../src/index.ts';
import { checkRepairs } from './support/repairs.ts';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const TRADE_TEMPLATE = spot.TradesStreamEventDecoder.TEMPLATE_ID;
const DIFF_TEMPLATE = spot.DepthDiffStreamEventDecoder.TEMPLATE_ID;

interface Decoded {
  epoch: number;
  sequence: number;
  kind: number;
  symbol: string;
  payload: Buffer;
}

type Metrics = Awaited<ReturnType<Ingestor['registry']['getMetricsAsJSON']>>;

/** Where a phase starts: the writer's last sequence (= envelopes published so far) and the counters, read before its fault. */
interface Mark {
  published: number;
  metrics: Metrics;
}

interface Phase {
  name: string;
  start: Mark;
  end: Mark;
}

/** One symbol's connection events, gaps and repairs in a list of envelopes. */
function tally(list: readonly Decoded[], symbol: string) {
  const conn = new hotpath.ConnectionEventDecoder();
  const gap = new hotpath.GapNoticeDecoder();
  const t = { connected: 0, switchedOver: 0, disconnected: 0, depthGaps: 0, tradeGaps: 0, snapshots: 0, backfills: 0 };
  for (const e of list) {
    if (e.symbol !== symbol) continue;
    if (e.kind === hotpath.EnvelopeKind.ConnectionEvent) {
      expect(conn.wrap(e.payload)).toBe(DecodeStatus.Ok);
      if (conn.type === hotpath.ConnectionEventType.Connected) t.connected++;
      else if (conn.type === hotpath.ConnectionEventType.SwitchedOver) t.switchedOver++;
      else if (conn.type === hotpath.ConnectionEventType.Disconnected) t.disconnected++;
    } else if (e.kind === hotpath.EnvelopeKind.GapNotice) {
      expect(gap.wrap(e.payload)).toBe(DecodeStatus.Ok);
      if (gap.kind === hotpath.GapKind.DepthUpdateId) t.depthGaps++;
      else if (gap.kind === hotpath.GapKind.TradeId) t.tradeGaps++;
    } else if (e.kind === hotpath.EnvelopeKind.DepthSnapshot) t.snapshots++;
    else if (e.kind === hotpath.EnvelopeKind.TradeBackfill) t.backfills++;
  }
  return t;
}

const isFrame = (e: Decoded, template: number): boolean => e.kind === hotpath.EnvelopeKind.StreamFrame && e.payload.readUInt16LE(2) === template;

const counter = (metrics: Metrics, name: string, labels: Record<string, string> = {}): number =>
  metrics
    .find((m) => m.name === name)
    ?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((a, v) => a + v.value, 0) ?? 0;

/** A counter's growth over a phase, by one label (labels that did not move left out). */
function deltaBy(phase: Phase, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of phase.end.metrics.find((m) => m.name === name)?.values ?? []) {
    const key = String(v.labels[label]);
    const d = v.value - counter(phase.start.metrics, name, { [label]: key });
    if (d !== 0) out[key] = d;
  }
  return out;
}

describe('ingestor end to end, one fault at a time', () => {
  // (the stream is read back after ingestor.stop(); the registry stays readable)
  const emu = new KinesisEmulator();
  let sim: ExchangeSimulator;
  let ingestor: Ingestor;
  /** Every envelope once, in stream order, read after the stop. */
  const envelopes: Decoded[] = [];
  let rawCount = 0;
  let puts = 0;
  const phases: Phase[] = [];

  const mark = async (): Promise<Mark> => {
    // (a copy: the registry hands out its live value objects, which later increments would change)
    const metrics = structuredClone(await ingestor.registry.getMetricsAsJSON());
    return { published: counter(metrics, 'ingestor_envelopes_total'), metrics };
  };

  /** The stream as a consumer reads it now: every envelope once (at-least-once on the wire: the writer's sequence identifies one), in stream order. */
  const read = async (): Promise<{ list: Decoded[]; raw: number }> => {
    const dec = new hotpath.EnvelopeDecoder();
    const list: Decoded[] = [];
    const once = new Set<number>();
    const records = await readStream(emu.client(), 'market-events');
    for (const r of records) {
      expect(dec.wrap(r.data)).toBe(DecodeStatus.Ok);
      if (once.has(dec.sequence)) continue;
      once.add(dec.sequence);
      list.push({ epoch: dec.connectionEpoch, sequence: dec.sequence, kind: dec.kind, symbol: dec.symbol(), payload: Buffer.from(dec.payload()) });
    }
    return { list, raw: records.length };
  };

  /**
   * Nothing of the phase left in flight, as a consumer of the stream sees it:
   * every break repaired by a snapshot that reaches it, every trade gap
   * backfilled, and on the connection live now a trade and a diff of each
   * symbol (a hole the fault left shows in them).
   */
  const expectSettled = (all: readonly Decoded[], from: number): void => {
    for (const symbol of SYMBOLS) {
      const mine = all.filter((e) => e.symbol === symbol);
      expect(checkRepairs(mine).unrepairedFrom, `${symbol} repaired`).toBe(-1);
      const t = tally(mine, symbol);
      expect(t.backfills, `${symbol} trade gaps backfilled`).toBe(t.tradeGaps);
      const phase = mine.filter((e) => e.sequence > from);
      const current = phase.slice(phase.findLastIndex((e) => e.kind === hotpath.EnvelopeKind.ConnectionEvent) + 1);
      expect(
        current.some((e) => isFrame(e, TRADE_TEMPLATE)),
        `${symbol} trades flow`,
      ).toBe(true);
      expect(
        current.some((e) => isFrame(e, DIFF_TEMPLATE)),
        `${symbol} diffs flow`,
      ).toBe(true);
    }
  };

  /**
   * Injects a fault and waits until the stream shows `effect` (on the phase's own envelopes) and the phase settled;
   * what the phase published is asserted by the tests below, once every phase is over.
   */
  const phase = async (name: string, inject: () => unknown, effect: (mine: Decoded[]) => void, extra: () => Promise<void> = async () => undefined): Promise<void> => {
    const start = await mark();
    if (phases.length > 0) phases.at(-1)!.end = start;
    phases.push({ name, start, end: start });
    await inject();
    await vi
      .waitFor(
        async () => {
          await extra();
          const all = (await read()).list;
          effect(all.filter((e) => e.sequence > start.published));
          expectSettled(all, start.published);
        },
        { timeout: 45_000, interval: 250 },
      )
      .catch((err: Error) => {
        throw new Error(`phase "${name}" did not settle: ${err.message}`, { cause: err });
      });
  };

  const symbolTally = (mine: readonly Decoded[]) => Object.fromEntries(SYMBOLS.map((s) => [s, tally(mine, s)]));

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 2);
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 2, seed: 21, symbols: SYMBOLS, apiKeys: ['test-key'], logLevel: 'silent' }));
    await sim.start();
    // kinesalite enforces no shard limits: throttle every 5th PutRecords request the way Kinesis would answer.
    const client = emu.client();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutRecordsCommand' && ++puts % 5 === 0) {
          const err = new Error('Rate exceeded for shard');
          err.name = 'ProvisionedThroughputExceededException';
          throw err;
        }
        return next(args);
      },
      { step: 'initialize', name: 'throttle' },
    );
    ingestor = new Ingestor(
      ingestorConfigFromEnv(
        {},
        // (no lifetime rotation by the clock: one in the middle of another phase's fault would change what that phase publishes)
        {
          streamUrl: sim.urls.ws,
          restUrl: sim.urls.rest,
          symbols: SYMBOLS,
          apiKey: 'test-key',
          kinesisEndpoint: emu.endpoint,
          port: 0,
          host: '127.0.0.1',
          reconnectBaseMs: 20,
          resumeLookbackSeconds: 0,
          logLevel: 'silent',
        },
      ),
      { kinesisClient: client },
    );
    await phase(
      'start',
      () => ingestor.start(),
      (mine) => {
        for (const s of SYMBOLS) expect(tally(mine, s).connected).toBeGreaterThanOrEqual(1);
      },
    );

    await phase(
      'depth gap',
      () => sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 2 }),
      (mine) => expect(tally(mine, 'BTCUSDT').depthGaps).toBeGreaterThanOrEqual(1),
    );
    await phase(
      'trade gap',
      () => sim.inject({ type: 'dropTrades', symbol: 'ETHUSDT', count: 2 }),
      (mine) => expect(tally(mine, 'ETHUSDT').tradeGaps).toBeGreaterThanOrEqual(1),
    );
    // (the server closes the notified connection after a grace the switch needs only a fraction of)
    const switched = (mine: Decoded[]) => {
      for (const s of SYMBOLS) expect(tally(mine, s).switchedOver).toBeGreaterThanOrEqual(1);
    };
    await phase('serverShutdown', () => sim.inject({ type: 'serverShutdown', closeAfterMs: 5_000 }), switched);
    // what the 23.5 h lifetime timer calls (connection.test.ts checks the timer calls it)
    await phase('lifetime rotation', () => ingestor.switchOver('rotation'), switched);
    await phase(
      'dropped connections, a 429 on re-anchoring',
      () => {
        sim.inject({ type: 'restFail', status: 429, count: 1 });
        sim.inject({ type: 'closeConnections' });
      },
      (mine) => {
        for (const s of SYMBOLS) expect(tally(mine, s).connected).toBeGreaterThanOrEqual(1);
      },
    );
    // the outage is over when records put after it are read back
    let afterOutage = Number.POSITIVE_INFINITY;
    await phase(
      'Kinesis outage',
      async () => {
        await emu.restart(1_000);
        afterOutage = (await mark()).published;
      },
      (mine) => expect(mine.some((e) => e.sequence > afterOutage)).toBe(true),
      async () =>
        expect(counter((await mark()).metrics, 'ingestor_kinesis_retries_total', { reason: 'error' })).toBeGreaterThan(
          counter(phases.at(-1)!.start.metrics, 'ingestor_kinesis_retries_total', { reason: 'error' }),
        ),
    );
    await ingestor.stop();
    phases.at(-1)!.end = await mark();
    await sim.stop();
    const all = await read();
    envelopes.push(...all.list);
    rawCount = all.raw;
  }, 300_000);

  afterAll(async () => emu.stop());

  const of = (p: Phase): Decoded[] => envelopes.filter((e) => e.sequence > p.start.published && e.sequence <= p.end.published);
  const named = (name: string): Phase => phases.find((p) => p.name === name)!;
  const quiet = { connected: 0, switchedOver: 0, disconnected: 0, depthGaps: 0, tradeGaps: 0, snapshots: 0, backfills: 0 };

  it('every envelope published was read back, once each: nothing lost to the throttling, the outage or the reconnects', () => {
    const published = phases.at(-1)!.end.published;
    expect(envelopes).toHaveLength(published);
    expect(Math.max(...envelopes.map((e) => e.sequence))).toBe(published);
    expect(rawCount).toBeGreaterThanOrEqual(envelopes.length);
  });

  it('each phase carried trades and diffs of both symbols', () => {
    for (const p of phases)
      for (const s of SYMBOLS) {
        expect(
          of(p).some((e) => e.symbol === s && isFrame(e, TRADE_TEMPLATE)),
          `${p.name}: ${s} trades`,
        ).toBe(true);
        expect(
          of(p).some((e) => e.symbol === s && isFrame(e, DIFF_TEMPLATE)),
          `${p.name}: ${s} diffs`,
        ).toBe(true);
      }
  });

  // What each phase published, by symbol, and the connections it opened (by reason). A new connection re-anchors
  // with one snapshot or more (another when the first is older than the first diff) and may reveal a trade gap:
  // those counts are checked for what they must be (each snapshot had a break to repair, each trade gap a backfill).
  it.each([
    { name: 'start', opened: { initial: 1 }, BTCUSDT: { ...quiet, connected: 1 }, ETHUSDT: { ...quiet, connected: 1 } },
    { name: 'depth gap', opened: {}, BTCUSDT: { ...quiet, depthGaps: 1, snapshots: 1 }, ETHUSDT: quiet },
    { name: 'trade gap', opened: {}, BTCUSDT: quiet, ETHUSDT: { ...quiet, tradeGaps: 1, backfills: 1 } },
    { name: 'serverShutdown', opened: { serverShutdown: 1 }, BTCUSDT: { ...quiet, switchedOver: 1 }, ETHUSDT: { ...quiet, switchedOver: 1 } },
    { name: 'lifetime rotation', opened: { rotation: 1 }, BTCUSDT: { ...quiet, switchedOver: 1 }, ETHUSDT: { ...quiet, switchedOver: 1 } },
    { name: 'dropped connections, a 429 on re-anchoring', opened: { closed_1001: 1 }, BTCUSDT: { ...quiet, disconnected: 1, connected: 1 }, ETHUSDT: { ...quiet, disconnected: 1, connected: 1 } },
    { name: 'Kinesis outage', opened: {}, BTCUSDT: quiet, ETHUSDT: quiet },
  ])('phase "$name": its own connection events, gaps and repairs', ({ name, opened, ...want }) => {
    const p = named(name);
    const got = symbolTally(of(p));
    const connects = name === 'start' || name.startsWith('dropped');
    for (const s of SYMBOLS) {
      const t = got[s]!;
      if (connects) {
        expect(t.snapshots, `${s} re-anchored`).toBeGreaterThanOrEqual(1);
        expect(t.backfills, `${s} trade gaps backfilled`).toBe(t.tradeGaps);
        t.snapshots = 0;
        t.tradeGaps = 0;
        t.backfills = 0;
      }
    }
    expect(got).toEqual(want);
    expect(deltaBy(p, 'ingestor_sbe_reconnections_total', 'reason')).toEqual(opened);
    // the counters agree with what was published, and nothing failed
    const published = (field: 'depthGaps' | 'tradeGaps' | 'snapshots' | 'backfills'): number => SYMBOLS.reduce((n, s) => n + tally(of(p), s)[field], 0);
    const gaps = deltaBy(p, 'ingestor_sbe_sequence_gaps_total', 'kind');
    expect(gaps['depth'] ?? 0).toBe(published('depthGaps'));
    expect(gaps['trade'] ?? 0).toBe(published('tradeGaps'));
    expect(deltaBy(p, 'ingestor_snapshots_total', 'result')).toEqual(published('snapshots') > 0 ? { ok: published('snapshots') } : {});
    expect(deltaBy(p, 'ingestor_backfills_total', 'result')).toEqual(published('backfills') > 0 ? { complete: published('backfills') } : {});
  });

  it('the 429 was met once, in the re-anchoring after the dropped connections, and waited out', () => {
    for (const p of phases) {
      const limited = counter(p.end.metrics, 'ingestor_rest_api_calls_total', { status: '429' }) - counter(p.start.metrics, 'ingestor_rest_api_calls_total', { status: '429' });
      expect(limited, p.name).toBe(p.name.startsWith('dropped') ? 1 : 0);
    }
  });

  it('the Kinesis outage was felt (puts retried) and only then', () => {
    for (const p of phases) {
      const failed = counter(p.end.metrics, 'ingestor_kinesis_retries_total', { reason: 'error' }) - counter(p.start.metrics, 'ingestor_kinesis_retries_total', { reason: 'error' });
      if (p.name === 'Kinesis outage') expect(failed).toBeGreaterThan(0);
      else expect(failed, p.name).toBe(0);
    }
  });

  it('every throttled PutRecords request was retried', async () => {
    const m = await ingestor.registry.getMetricsAsJSON();
    expect(puts).toBeGreaterThanOrEqual(5);
    expect(counter(m, 'ingestor_kinesis_retries_total', { reason: 'throttled' })).toBe(Math.floor(puts / 5));
  });

  it('each envelope from one connection in sequence order', () => {
    for (const symbol of SYMBOLS) {
      const byEpoch = new Map<number, number[]>();
      for (const e of envelopes.filter((x) => x.symbol === symbol)) byEpoch.set(e.epoch, [...(byEpoch.get(e.epoch) ?? []), e.sequence]);
      for (const seqs of byEpoch.values()) expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    }
  });

  it('every trade id exactly once: stream frames plus backfills cover a contiguous range', () => {
    const d = new spot.TradesStreamEventDecoder();
    const b = new hotpath.TradeBackfillDecoder();
    for (const symbol of SYMBOLS) {
      const ids: number[] = [];
      let lastStreamId = -1;
      for (const e of envelopes.filter((x) => x.symbol === symbol)) {
        if (e.kind === hotpath.EnvelopeKind.StreamFrame && d.wrap(e.payload) === DecodeStatus.Ok) {
          const g = d.trades();
          while (g.next()) {
            expect(g.id).toBeGreaterThan(lastStreamId); // in order on the stream
            lastStreamId = g.id;
            ids.push(g.id);
          }
        } else if (e.kind === hotpath.EnvelopeKind.TradeBackfill) {
          expect(b.wrap(e.payload)).toBe(DecodeStatus.Ok);
          expect(b.complete).toBe(hotpath.BoolEnum.True);
          const g = b.trades();
          while (g.next()) ids.push(g.id);
        }
      }
      ids.sort((x, y) => x - y);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids[ids.length - 1]! - ids[0]! + 1).toBe(ids.length); // contiguous and no duplicates
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('depth diffs are continuous except right after an announced gap or a new connection (a switch-over loses none)', () => {
    const d = new spot.DepthDiffStreamEventDecoder();
    const gap = new hotpath.GapNoticeDecoder();
    const conn = new hotpath.ConnectionEventDecoder();
    for (const symbol of SYMBOLS) {
      let lastU = -1;
      let announced = false;
      let reconnected = false;
      for (const e of envelopes.filter((x) => x.symbol === symbol)) {
        if (e.kind === hotpath.EnvelopeKind.GapNotice && gap.wrap(e.payload) === DecodeStatus.Ok && gap.kind === hotpath.GapKind.DepthUpdateId) announced = true;
        if (e.kind === hotpath.EnvelopeKind.ConnectionEvent && conn.wrap(e.payload) === DecodeStatus.Ok && conn.type === hotpath.ConnectionEventType.Connected) reconnected = true;
        if (!isFrame(e, DIFF_TEMPLATE)) continue;
        expect(d.wrap(e.payload)).toBe(DecodeStatus.Ok);
        if (lastU >= 0 && d.firstBookUpdateId > lastU + 1) {
          expect(announced || reconnected, `${symbol}: diffs jump from ${lastU} to ${d.firstBookUpdateId} unannounced`).toBe(true);
          announced = false;
        }
        reconnected = false;
        expect(d.lastBookUpdateId).toBeGreaterThan(lastU);
        lastU = d.lastBookUpdateId;
      }
    }
  });

  it('every break is repaired by a snapshot that reaches it, and no snapshot is fetched without a break to repair', () => {
    for (const symbol of SYMBOLS) {
      const r = checkRepairs(envelopes.filter((x) => x.symbol === symbol));
      expect(r.unreasonedSnapshots).toBe(0);
      expect(r.unrepairedFrom).toBe(-1);
    }
  });
});
