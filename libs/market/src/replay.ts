/**
 * Replays recorded market data as SBE stream frames with their original trade
 * ids and book update ids, at any speed: hftbacktest recordings (receive
 * time, then the JSON stream payload or a REST depth snapshot), ingestor
 * capture files (*.capture[.gz]: envelopes with the raw frames) and
 * data.binance.vision trade/aggTrade CSVs (*.csv[.gz]: trades only).
 *
 * The replay keeps its own book from the recorded REST snapshot plus every
 * later diff, and serves REST depth from it, so a snapshot fetched during the
 * replay always joins the replayed diff stream (Binance's procedure works).
 * The recordings have no @depth20; one is derived from that book every 50 ms
 * of replayed time so clients can check themselves against it.
 */
import { futuresFirstUpdateId, readArchiveTrades, readCapture, readRecording } from '@hotpath/recordings';
import {
  BinanceJsonTranscoder,
  DecodeStatus,
  classifyPayload,
  decimalStringToMantissa,
  hotpath,
  spot,
  type JsonBookTicker,
  type JsonDepthSnapshot,
  type JsonDepthUpdate,
  type JsonTrade,
} from '@hotpath/sbe';
import type { Level } from './book.ts';
import type { AggTradeRecord, Frame, MarketSource, TradeRecord } from './feed.ts';
import { SYMBOLS, type SymbolSpec } from './symbols.ts';

type Event =
  | { kind: 'frame'; timeUs: number; bytes: Buffer }
  | { kind: 'snapshotFrame'; timeUs: number; bytes: Buffer }
  | { kind: 'trade'; timeUs: number; data: JsonTrade }
  | { kind: 'bookTicker'; timeUs: number; data: JsonBookTicker }
  | { kind: 'depthUpdate'; timeUs: number; data: JsonDepthUpdate }
  | { kind: 'snapshot'; timeUs: number; data: JsonDepthSnapshot };

const EXPONENT = -8;
const DEPTH20_EVERY_US = 50_000;

export class ReplayFeed implements MarketSource {
  readonly symbols: readonly string[];
  simTimeUs: number;
  readonly firstTimeUs: number;
  readonly lastTimeUs: number;
  private readonly events: Event[] = [];
  private next = 0;
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();
  private lastUpdateId = 0;
  private readonly trades: TradeRecord[] = [];
  private readonly aggTrades: AggTradeRecord[] = [];
  private readonly transcoder = new BinanceJsonTranscoder(EXPONENT, EXPONENT);
  private readonly scratch = Buffer.alloc(512 * 1024);
  private readonly snap = new spot.DepthSnapshotStreamEventEncoder();
  private nextDepth20Us: number;
  private frozen = false;
  private readonly frameDecoder = new spot.SpotStreamDecoder();

  constructor(
    files: string[],
    readonly symbol = 'BTCUSDT',
  ) {
    this.symbols = [symbol];
    for (const file of files) {
      if (/\.capture(\.gz)?$/.test(file)) this.loadCapture(file);
      else if (/\.csv(\.gz)?$/.test(file)) this.loadArchive(file);
      else this.loadHftbacktest(file);
    }
    if (this.events.length === 0) throw new Error(`no replayable events in ${files.join(', ')}`);
    this.firstTimeUs = this.events[0]!.timeUs;
    this.lastTimeUs = this.events[this.events.length - 1]!.timeUs;
    this.simTimeUs = this.firstTimeUs;
    this.nextDepth20Us = this.firstTimeUs;
    // The book starts from the recorded REST snapshot, wherever it sits in the file.
    const snapshot = this.events.find((e) => e.kind === 'snapshot' || e.kind === 'snapshotFrame');
    if (snapshot?.kind === 'snapshot') this.applySnapshot(snapshot.data);
    if (snapshot?.kind === 'snapshotFrame') this.applySnapshotFrame(snapshot.bytes);
  }

  private pushEvent(e: Event): void {
    const last = this.events[this.events.length - 1];
    if (last !== undefined && e.timeUs < last.timeUs) e.timeUs = last.timeUs; // keep replay time monotonic
    this.events.push(e);
  }

  /** hftbacktest captures: `<recv ts> <combined-stream JSON | REST snapshot>` per line. */
  private loadHftbacktest(file: string): void {
    const lines = readRecording(file);
    // Spot bookTicker has no exchange time: shift the recorder clock by its median offset to the exchange.
    const offsets: number[] = [];
    for (const l of lines) {
      const e = (l.data as { E?: number }).E;
      if (typeof e === 'number') offsets.push(e * 1000 - toUs(l.localTime));
    }
    offsets.sort((a, b) => a - b);
    const offset = offsets[Math.floor(offsets.length / 2)] ?? 0;
    for (const l of lines) {
      const kind = classifyPayload(l.data);
      if (kind === undefined) continue;
      const e = (l.data as { E?: number }).E;
      const t = typeof e === 'number' ? e * 1000 : toUs(l.localTime) + offset;
      if (kind === 'depthSnapshot') this.pushEvent({ kind: 'snapshot', timeUs: t, data: l.data as JsonDepthSnapshot });
      else if (kind === 'depthUpdate' && typeof (l.data as { pu?: unknown }).pu === 'number') {
        // a futures diff chains by pu: served as spot SBE with firstBookUpdateId = pu + 1, the spot procedure follows it (libs/recordings futures.ts)
        const d = l.data as JsonDepthUpdate & { pu: number };
        this.pushEvent({ kind, timeUs: t, data: { ...d, U: futuresFirstUpdateId(d) } } as Event);
      } else this.pushEvent({ kind, timeUs: t, data: l.data } as Event);
    }
  }

  /** Ingestor capture files: envelopes with the raw frames as received. */
  private loadCapture(file: string): void {
    for (const c of readCapture(file)) {
      if (c.symbol.toUpperCase() !== this.symbol) continue;
      if (c.kind === hotpath.EnvelopeKind.StreamFrame) this.pushEvent({ kind: 'frame', timeUs: c.receiveTimeUs, bytes: c.payload });
      else if (c.kind === hotpath.EnvelopeKind.DepthSnapshot) this.pushEvent({ kind: 'snapshotFrame', timeUs: c.receiveTimeUs, bytes: c.payload });
    }
  }

  /** data.binance.vision trade / aggTrade CSVs: trades only (no book). */
  private loadArchive(file: string): void {
    for (const t of readArchiveTrades(file)) {
      const ms = t.timeUs / 1000;
      this.pushEvent({ kind: 'trade', timeUs: t.timeUs, data: { e: 'trade', E: ms, s: this.symbol, t: t.id, p: t.price, q: t.qty, T: ms, m: t.isBuyerMaker } });
    }
  }

  get finished(): boolean {
    return this.next >= this.events.length;
  }

  has(symbol: string): boolean {
    return symbol.toUpperCase() === this.symbol;
  }

  spec(symbol: string): SymbolSpec {
    const s = SYMBOLS[symbol.toUpperCase()];
    if (s === undefined) throw new RangeError(`no spec for ${symbol}`);
    return s;
  }

  /** Levels are kept as raw mantissas: one "tick" is one mantissa unit. */
  units(): { tickMantissa: number; lotMantissa: number } {
    return { tickMantissa: 1, lotMantissa: 1 };
  }

  setFrozen(_symbol: string, frozen: boolean): void {
    this.frozen = frozen;
  }

  advanceTo(untilUs: number, emit: (frame: Frame) => void): void {
    if (this.frozen) {
      this.simTimeUs = untilUs;
      return;
    }
    while (this.next < this.events.length && this.events[this.next]!.timeUs < untilUs) {
      const ev = this.events[this.next++]!;
      const t = ev.timeUs;
      switch (ev.kind) {
        case 'trade': {
          const n = this.transcoder.encodeTrade(ev.data, this.scratch);
          this.recordTrade(ev.data);
          emit({ symbol: this.symbol, kind: 'trade', timeUs: t, bytes: Buffer.from(this.scratch.subarray(0, n)) });
          break;
        }
        case 'bookTicker': {
          const n = this.transcoder.encodeBookTicker(ev.data, t, this.scratch);
          emit({ symbol: this.symbol, kind: 'bestBidAsk', timeUs: t, bytes: Buffer.from(this.scratch.subarray(0, n)) });
          break;
        }
        case 'depthUpdate': {
          const n = this.transcoder.encodeDepthUpdate(ev.data, this.scratch);
          if (ev.data.u > this.lastUpdateId) this.applyDiff(ev.data);
          emit({ symbol: this.symbol, kind: 'depth', timeUs: t, bytes: Buffer.from(this.scratch.subarray(0, n)) });
          if (t >= this.nextDepth20Us && this.lastUpdateId > 0) {
            this.nextDepth20Us = t + DEPTH20_EVERY_US;
            emit({ symbol: this.symbol, kind: 'depth20', timeUs: t, bytes: this.encodeDepth20(t) });
          }
          break;
        }
        case 'snapshot':
        case 'snapshotFrame':
          break; // already the starting book; clients fetch their own through REST
        case 'frame': {
          const kind = this.absorbFrame(ev.bytes);
          if (kind !== undefined) emit({ symbol: this.symbol, kind, timeUs: t, bytes: ev.bytes });
          if (kind === 'depth' && t >= this.nextDepth20Us && this.lastUpdateId > 0) {
            this.nextDepth20Us = t + DEPTH20_EVERY_US;
            emit({ symbol: this.symbol, kind: 'depth20', timeUs: t, bytes: this.encodeDepth20(t) });
          }
          break;
        }
      }
      this.simTimeUs = t;
    }
    this.simTimeUs = Math.max(this.simTimeUs, untilUs);
  }

  /** Applies a captured stream frame to the replay book / trade tape; returns its stream, or undefined if undecodable. */
  private absorbFrame(bytes: Buffer): Frame['kind'] | undefined {
    const d = this.frameDecoder;
    if (d.wrap(bytes) !== DecodeStatus.Ok) return undefined;
    switch (d.templateId) {
      case spot.TradesStreamEventDecoder.TEMPLATE_ID: {
        const m = d.tradesStreamEvent;
        const g = m.trades();
        while (g.next()) {
          const rec = { id: g.id, tick: g.priceMantissa, lots: g.qtyMantissa, timeUs: m.transactTime, isBuyerMaker: g.isBuyerMaker === 1 };
          this.trades.push(rec);
          this.aggTrades.push({ aggId: rec.id, tick: rec.tick, lots: rec.lots, firstId: rec.id, lastId: rec.id, timeUs: rec.timeUs, isBuyerMaker: rec.isBuyerMaker });
        }
        return 'trade';
      }
      case spot.BestBidAskStreamEventDecoder.TEMPLATE_ID:
        return 'bestBidAsk';
      case spot.DepthSnapshotStreamEventDecoder.TEMPLATE_ID:
        return 'depth20';
      case spot.DepthDiffStreamEventDecoder.TEMPLATE_ID: {
        const m = d.depthDiffStreamEvent;
        if (m.lastBookUpdateId > this.lastUpdateId) {
          const b = m.bids();
          while (b.next()) setLevel(this.bids, b.priceMantissa, b.qtyMantissa);
          const a = m.asks();
          while (a.next()) setLevel(this.asks, a.priceMantissa, a.qtyMantissa);
          this.lastUpdateId = m.lastBookUpdateId;
        }
        return 'depth';
      }
      default:
        return undefined;
    }
  }

  private applySnapshotFrame(bytes: Buffer): void {
    const d = new hotpath.DepthSnapshotDecoder();
    if (d.wrap(bytes) !== DecodeStatus.Ok) return;
    this.bids.clear();
    this.asks.clear();
    const b = d.bids();
    while (b.next()) this.bids.set(b.priceMantissa, b.qtyMantissa);
    const a = d.asks();
    while (a.next()) this.asks.set(a.priceMantissa, a.qtyMantissa);
    this.lastUpdateId = d.lastUpdateId;
  }

  private applySnapshot(s: JsonDepthSnapshot): void {
    this.bids.clear();
    this.asks.clear();
    for (const [p, q] of s.bids) this.bids.set(decimalStringToMantissa(p, EXPONENT), decimalStringToMantissa(q, EXPONENT));
    for (const [p, q] of s.asks) this.asks.set(decimalStringToMantissa(p, EXPONENT), decimalStringToMantissa(q, EXPONENT));
    this.lastUpdateId = s.lastUpdateId;
  }

  private applyDiff(d: JsonDepthUpdate): void {
    for (const [p, q] of d.b) setLevel(this.bids, decimalStringToMantissa(p, EXPONENT), decimalStringToMantissa(q, EXPONENT));
    for (const [p, q] of d.a) setLevel(this.asks, decimalStringToMantissa(p, EXPONENT), decimalStringToMantissa(q, EXPONENT));
    this.lastUpdateId = d.u;
  }

  private recordTrade(t: JsonTrade): void {
    const rec = {
      id: t.t,
      tick: decimalStringToMantissa(t.p, EXPONENT),
      lots: decimalStringToMantissa(t.q, EXPONENT),
      timeUs: t.T * 1000,
      isBuyerMaker: t.m,
    };
    this.trades.push(rec);
    this.aggTrades.push({ aggId: t.t, tick: rec.tick, lots: rec.lots, firstId: t.t, lastId: t.t, timeUs: rec.timeUs, isBuyerMaker: t.m });
    if (this.trades.length > 15_000) this.trades.splice(0, 5_000);
    if (this.aggTrades.length > 15_000) this.aggTrades.splice(0, 5_000);
  }

  private encodeDepth20(t: number): Buffer {
    const e = this.snap.wrapAndApplyHeader(this.scratch).eventTime(t).bookUpdateId(this.lastUpdateId).priceExponent(EXPONENT).qtyExponent(EXPONENT);
    const bids = sortedLevels(this.bids, true, 20);
    const bg = e.bidsCount(bids.length);
    for (const l of bids) bg.next().priceMantissa(l.tick).qtyMantissa(l.lots);
    const asks = sortedLevels(this.asks, false, 20);
    const ag = e.asksCount(asks.length);
    for (const l of asks) ag.next().priceMantissa(l.tick).qtyMantissa(l.lots);
    e.symbol(this.symbol);
    return Buffer.from(this.scratch.subarray(0, e.encodedLength));
  }

  depthSnapshot(_symbol: string, limit: number): { lastUpdateId: number; bids: Level[]; asks: Level[] } {
    return { lastUpdateId: this.lastUpdateId, bids: sortedLevels(this.bids, true, limit), asks: sortedLevels(this.asks, false, limit) };
  }

  recentTrades(): readonly TradeRecord[] {
    return this.trades;
  }

  recentAggTrades(): readonly AggTradeRecord[] {
    return this.aggTrades;
  }
}

/** hftbacktest 2024 files stamp ns, the 2023 .dat files µs. */
function toUs(local: number): number {
  return local > 1e17 ? Math.floor(local / 1000) : local;
}

function setLevel(m: Map<number, number>, price: number, qty: number): void {
  if (qty === 0) m.delete(price);
  else m.set(price, qty);
}

function sortedLevels(m: Map<number, number>, desc: boolean, n: number): Level[] {
  return [...m.entries()]
    .sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0]))
    .slice(0, n)
    .map(([tick, lots]) => ({ tick, lots }));
}
