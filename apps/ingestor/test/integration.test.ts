/**
 * exchange-sim → ingestor → kinesalite, through injected faults: a depth gap,
 * a trade gap, serverShutdown (make-before-break), a forced lifetime
 * rotation, dropped connections with a REST 429 on re-anchoring, and a Kinesis
 * outage. Then the whole stream is read back and checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream } from '@hotpath/kinesis';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { DecodeStatus, hotpath, spot } from '@hotpath/sbe';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { Ingestor, loadConfig } from '../src/index.ts';
import { checkRepairs } from './support/repairs.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

interface Decoded {
  epoch: number;
  sequence: number;
  kind: number;
  symbol: string;
  payload: Buffer;
}

describe('ingestor end to end', () => {
  // (the stream is read back after ingestor.stop(); the registry stays readable)
  const emu = new KinesisEmulator();
  let sim: ExchangeSimulator;
  let ingestor: Ingestor;
  const envelopes: Decoded[] = [];
  let rawCount = 0;

  beforeAll(async () => {
    await emu.start();
    await emu.createStream('market-events', 2);
    sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 20, seed: 21, symbols: SYMBOLS, apiKeys: ['test-key'], logLevel: 'silent' }));
    await sim.start();
    // kinesalite enforces no shard limits: throttle every 5th PutRecord the way Kinesis would answer.
    const client = emu.client();
    let puts = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutRecordCommand' && ++puts % 5 === 0) {
          const err = new Error('Rate exceeded for shard');
          err.name = 'ProvisionedThroughputExceededException';
          throw err;
        }
        return next(args);
      },
      { step: 'initialize', name: 'throttle' },
    );
    ingestor = new Ingestor(
      loadConfig(
        {},
        {
          streamUrl: sim.urls.ws,
          restUrl: sim.urls.rest,
          symbols: SYMBOLS,
          apiKey: 'test-key',
          kinesisEndpoint: emu.endpoint,
          port: 0,
          host: '127.0.0.1',
          watchdogMs: 3000,
          rotateAfterSeconds: 1.2,
          reconnectBaseMs: 20,
          logLevel: 'silent',
        },
      ),
      { kinesisClient: client },
    );
    await ingestor.start();

    await sleep(700);
    sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 2 });
    await sleep(400);
    sim.inject({ type: 'dropTrades', symbol: 'ETHUSDT', count: 2 });
    await sleep(400);
    sim.inject({ type: 'serverShutdown', closeAfterMs: 200 });
    await sleep(700);
    sim.inject({ type: 'restFail', status: 429, count: 1 });
    sim.inject({ type: 'closeConnections' });
    await sleep(1500); // the 429's Retry-After is 1 s
    await emu.restart(300);
    await sleep(800); // rotations every 1.2 s of connection age happen throughout
    await ingestor.stop();
    await sim.stop();

    const dec = new hotpath.EnvelopeDecoder();
    const seen = new Set<string>();
    for (const r of await readStream(emu.client(), 'market-events')) {
      rawCount++;
      expect(dec.wrap(r.data)).toBe(DecodeStatus.Ok);
      const key = `${dec.connectionEpoch}:${dec.sequence}`;
      if (seen.has(key)) continue; // at-least-once on the wire; (epoch, sequence) identifies an envelope
      seen.add(key);
      envelopes.push({ epoch: dec.connectionEpoch, sequence: dec.sequence, kind: dec.kind, symbol: dec.symbol(), payload: Buffer.from(dec.payload()) });
    }
  }, 60_000);

  afterAll(async () => emu.stop());

  const of = (symbol: string, kind: number): Decoded[] => envelopes.filter((e) => e.symbol === symbol && e.kind === kind);

  it('carried thousands of frames, each envelope from one connection in sequence order', () => {
    expect(envelopes.length).toBeGreaterThan(2000);
    expect(rawCount).toBeGreaterThanOrEqual(envelopes.length);
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
      expect(ids.length).toBeGreaterThan(100);
      expect(ids[ids.length - 1]! - ids[0]! + 1).toBe(ids.length); // contiguous and no duplicates
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(of('ETHUSDT', hotpath.EnvelopeKind.TradeBackfill).length).toBeGreaterThanOrEqual(1);
  });

  it('depth diffs are continuous except at announced gaps and reconnects, each re-anchored by exactly one snapshot', () => {
    const d = new spot.DepthDiffStreamEventDecoder();
    const gapDec = new hotpath.GapNoticeDecoder();
    for (const symbol of SYMBOLS) {
      let lastU = -1;
      let breaks = 0;
      let lastEpoch = -1;
      for (const e of envelopes.filter((x) => x.symbol === symbol)) {
        if (e.kind === hotpath.EnvelopeKind.GapNotice) {
          expect(gapDec.wrap(e.payload)).toBe(DecodeStatus.Ok);
          if (gapDec.kind === hotpath.GapKind.DepthUpdateId) breaks++;
        }
        if (e.kind !== hotpath.EnvelopeKind.StreamFrame || d.wrap(e.payload) !== DecodeStatus.Ok) continue;
        if (lastU >= 0 && d.firstBookUpdateId > lastU + 1) {
          // allowed only after an announced gap or on a new (non-switch-over) connection
          expect(breaks > 0 || e.epoch !== lastEpoch).toBe(true);
        }
        expect(d.lastBookUpdateId).toBeGreaterThan(lastU);
        lastU = d.lastBookUpdateId;
        lastEpoch = e.epoch;
      }
    }
    const connected = (symbol: string): number =>
      of(symbol, hotpath.EnvelopeKind.ConnectionEvent).filter((e) => {
        const c = new hotpath.ConnectionEventDecoder();
        c.wrap(e.payload);
        return c.type === hotpath.ConnectionEventType.Connected;
      }).length;
    const depthGaps = (symbol: string): number =>
      of(symbol, hotpath.EnvelopeKind.GapNotice).filter((e) => {
        gapDec.wrap(e.payload);
        return gapDec.kind === hotpath.GapKind.DepthUpdateId;
      }).length;
    expect(depthGaps('BTCUSDT')).toBe(1);
    expect(depthGaps('ETHUSDT')).toBe(0);
    for (const symbol of SYMBOLS) expect(connected(symbol)).toBe(2); // start and the dropped connections; none for switch-overs
  });

  it('every break is repaired by a snapshot that reaches it, and no snapshot is fetched without a break to repair', () => {
    for (const symbol of SYMBOLS) {
      const r = checkRepairs(envelopes.filter((x) => x.symbol === symbol));
      expect(r.unreasonedSnapshots).toBe(0);
      expect(r.unrepairedFrom).toBe(-1);
      expect(r.snapshots).toBeGreaterThanOrEqual(2);
    }
  });

  it('Kinesis throttling was retried (and lost nothing, as the checks above show)', async () => {
    const m = (await ingestor.registry.getMetricsAsJSON()).find((x) => x.name === 'ingestor_kinesis_retries_total')!;
    expect(m.values.find((v) => v.labels['reason'] === 'throttled')?.value ?? 0).toBeGreaterThan(0);
  });

  it('serverShutdown and the lifetime rotation switched over without a reconnect', () => {
    const switched = of('BTCUSDT', hotpath.EnvelopeKind.ConnectionEvent).filter((e) => {
      const c = new hotpath.ConnectionEventDecoder();
      c.wrap(e.payload);
      return c.type === hotpath.ConnectionEventType.SwitchedOver;
    });
    expect(switched.length).toBeGreaterThanOrEqual(2);
  });
});
