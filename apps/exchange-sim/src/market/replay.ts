/**
 * Replays real Binance recordings (hftbacktest capture format: receive time,
 * then the JSON stream payload or a REST depth snapshot) as SBE stream frames
 * with their original trade ids and book update ids, at any speed.
 *
 * The replay keeps its own book from the recorded REST snapshot plus every
 * later diff, and serves REST depth from it, so a snapshot fetched during the
 * replay always joins the replayed diff stream (Binance's procedure works).
 * The recordings have no @depth20; one is derived from that book every 50 ms
 * of replayed time so clients can check themselves against it.
 */
import { readRecording } from '@hotpath/recordings';
import {
  BinanceJsonTranscoder,
  classifyPayload,
  decimalStringToMantissa,
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

  constructor(
    files: string[],
    readonly symbol = 'BTCUSDT',
  ) {
    this.symbols = [symbol];
    const lines = files.flatMap((f) => readRecording(f));
    // Spot bookTicker has no exchange time: shift the recorder clock by its median offset to the exchange.
    const offsets: number[] = [];
    for (const l of lines) {
      const e = (l.data as { E?: number }).E;
      if (typeof e === 'number') offsets.push(e * 1000 - toUs(l.localTime));
    }
    offsets.sort((a, b) => a - b);
    const offset = offsets[Math.floor(offsets.length / 2)] ?? 0;
    let last = 0;
    for (const l of lines) {
      const kind = classifyPayload(l.data);
      if (kind === undefined) continue;
      const e = (l.data as { E?: number }).E;
      const t = Math.max(last, typeof e === 'number' ? e * 1000 : toUs(l.localTime) + offset);
      last = t;
      if (kind === 'depthSnapshot') this.events.push({ kind: 'snapshot', timeUs: t, data: l.data as JsonDepthSnapshot });
      else this.events.push({ kind, timeUs: t, data: l.data } as Event);
    }
    if (this.events.length === 0) throw new Error(`no replayable events in ${files.join(', ')}`);
    this.firstTimeUs = this.events[0]!.timeUs;
    this.lastTimeUs = this.events[this.events.length - 1]!.timeUs;
    this.simTimeUs = this.firstTimeUs;
    this.nextDepth20Us = this.firstTimeUs;
    // The book starts from the recorded REST snapshot, wherever it sits in the file.
    const snapshot = this.events.find((e) => e.kind === 'snapshot');
    if (snapshot !== undefined) this.applySnapshot(snapshot.data as JsonDepthSnapshot);
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
          break; // already the starting book; clients fetch their own through REST
      }
      this.simTimeUs = t;
    }
    this.simTimeUs = Math.max(this.simTimeUs, untilUs);
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
