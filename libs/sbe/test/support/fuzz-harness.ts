/**
 * Fuzzing harness for the generated decoders: random and mutated frames,
 * every accessor exercised, every byte read checked against the frame window
 * through a Proxy over the buffer. Shared by the test suite and `pnpm fuzz:sbe`.
 */
import { DecodeStatus, hotpath, spot } from '../../src/index.ts';

/** mulberry32: small, fast, deterministic for a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzReport {
  frames: number;
  ok: number;
  rejected: Record<string, number>;
  crashes: number;
  outOfBoundsReads: number;
  readsAfterFailure: number;
  /** Frames whose decoded result changed when only the bytes outside the window changed. */
  windowLeaks: number;
  firstCrash?: string;
  seed: number;
  guarded: number;
}

/** Bytes the decoder may read: [lo, hi). Reads elsewhere are counted, not served. */
export class Window {
  lo = 0;
  hi = 0;
  violations = 0;
  reads = 0;
}

export function guardedView(target: Uint8Array, win: Window): Uint8Array {
  const check = (i: number): void => {
    win.reads++;
    if (!(i >= win.lo && i < win.hi)) win.violations++;
  };
  return new Proxy(target, {
    get(t, prop) {
      if (typeof prop === 'string') {
        const c = prop.charCodeAt(0);
        if ((c >= 48 && c <= 57) || c === 45) {
          check(Number(prop));
          return t[Number(prop)];
        }
        if (prop === 'subarray') {
          return (start: number, end: number) => {
            if (end > start) {
              check(start);
              check(end - 1);
            }
            return t.subarray(start, end);
          };
        }
      }
      const v = (t as unknown as Record<string | symbol, unknown>)[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

// ----------------------------------------------------------- seed corpus

function seedFrames(rand: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = Buffer.alloc(64 * 1024);
  const int = (max: number): number => Math.floor(rand() * max);
  const big = (): number => Math.floor((rand() - 0.5) * 2 * Number.MAX_SAFE_INTEGER);
  for (let k = 0; k < 40; k++) {
    const t = new spot.TradesStreamEventEncoder().wrapAndApplyHeader(buf).eventTime(big()).transactTime(int(1e15)).priceExponent(-8).qtyExponent(-8);
    const n = int(5);
    const g = t.tradesCount(n);
    for (let i = 0; i < n; i++)
      g.next()
        .id(int(1e12))
        .priceMantissa(big())
        .qtyMantissa(int(1e12))
        .isBuyerMaker(int(2) as 0 | 1);
    t.symbol('BTCUSDT');
    out.push(buf.subarray(0, t.encodedLength).slice());

    const b = new spot.BestBidAskStreamEventEncoder().wrapAndApplyHeader(buf).eventTime(int(1e15)).bookUpdateId(int(1e12));
    b.priceExponent(-2).qtyExponent(-8).bidPriceMantissa(big()).bidQtyMantissa(int(1e9)).askPriceMantissa(big()).askQtyMantissa(1).symbol('ETHUSDT');
    out.push(buf.subarray(0, b.encodedLength).slice());

    for (const snapshot of [true, false]) {
      const d = snapshot
        ? new spot.DepthSnapshotStreamEventEncoder().wrapAndApplyHeader(buf).eventTime(int(1e15)).bookUpdateId(int(1e12))
        : new spot.DepthDiffStreamEventEncoder().wrapAndApplyHeader(buf).eventTime(int(1e15)).firstBookUpdateId(1).lastBookUpdateId(int(1e12));
      d.priceExponent(-8).qtyExponent(-8);
      const nb = int(25);
      const bids = d.bidsCount(nb);
      for (let i = 0; i < nb; i++) bids.next().priceMantissa(big()).qtyMantissa(int(1e10));
      const na = int(25);
      const asks = d.asksCount(na);
      for (let i = 0; i < na; i++) asks.next().priceMantissa(big()).qtyMantissa(int(1e10));
      d.symbol('DOGEUSDT');
      out.push(buf.subarray(0, d.encodedLength).slice());
    }

    const inner = out[out.length - 1]!;
    const env = new hotpath.EnvelopeEncoder().wrapAndApplyHeader(buf).receiveTimeUs(int(1e15)).sequence(k).connectionEpoch(1).kind(hotpath.EnvelopeKind.StreamFrame).writerId(k);
    env.symbol('DOGEUSDT').payload(inner);
    out.push(buf.subarray(0, env.encodedLength).slice());

    const tb = new hotpath.TradeBackfillEncoder().wrapAndApplyHeader(buf).fromId(1).toId(9).receiveTimeUs(2).complete(1).priceExponent(-8).qtyExponent(-8);
    const tg = tb.tradesCount(int(4));
    for (let i = 0; i < tg.count; i++) tg.next().id(i).priceMantissa(big()).qtyMantissa(1).timeUs(3).isBuyerMaker(0).isBestMatch(1);
    tb.symbol('BTCUSDT');
    out.push(buf.subarray(0, tb.encodedLength).slice());

    const ds = new hotpath.DepthSnapshotEncoder().wrapAndApplyHeader(buf).lastUpdateId(5).requestTimeUs(1).receiveTimeUs(2).priceExponent(-8).qtyExponent(-8);
    const db = ds.bidsCount(int(6));
    for (let i = 0; i < db.count; i++) db.next().priceMantissa(big()).qtyMantissa(2);
    ds.asksCount(0);
    ds.symbol('BTCUSDT');
    out.push(buf.subarray(0, ds.encodedLength).slice());

    const ce = new hotpath.ConnectionEventEncoder().wrapAndApplyHeader(buf).eventTimeUs(1).connectionEpoch(2).previousEpoch(1).lastSequence(99).type(1);
    ce.symbol('BTCUSDT').reason('serverShutdown');
    out.push(buf.subarray(0, ce.encodedLength).slice());

    const gn = new hotpath.GapNoticeEncoder().wrapAndApplyHeader(buf).detectedAtUs(1).expectedId(10).receivedId(20).kind(1).symbol('BTCUSDT');
    out.push(buf.subarray(0, gn.encodedLength).slice());
  }
  return out;
}

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

function mutate(seed: Uint8Array, rand: () => number, scratch: Uint8Array): number {
  const int = (max: number): number => Math.floor(rand() * max);
  const strategy = int(7);
  let n = seed.length;
  scratch.set(seed);
  switch (strategy) {
    case 0: {
      // random bit flips
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) scratch[int(n)]! ^= 1 << int(8);
      break;
    }
    case 1: {
      // random byte overwrites
      const k = 1 + int(16);
      for (let i = 0; i < k; i++) scratch[int(n)] = int(256);
      break;
    }
    case 2:
      // truncation
      n = int(n + 1);
      break;
    case 3: {
      // random tail
      const extra = int(64);
      for (let i = 0; i < extra; i++) scratch[n + i] = int(256);
      n += extra;
      break;
    }
    case 4: {
      // an interesting little-endian u16/u32 anywhere (counts, lengths, block lengths)
      const v = INTERESTING[int(INTERESTING.length)]!;
      const at = int(Math.max(1, n - 4));
      const width = rand() < 0.5 ? 2 : 4;
      for (let i = 0; i < width; i++) scratch[at + i] = (v >>> (8 * i)) & 0xff;
      break;
    }
    case 5: {
      // corrupt a high int64 word so the value no longer fits 2^53
      const at = 8 + int(Math.max(1, n - 16));
      scratch[at + 7] = 0x40 | int(0x40);
      break;
    }
    default: {
      // pure noise with a plausible header: schema 1 or 100, a real template id
      n = int(400);
      for (let i = 0; i < n; i++) scratch[i] = int(256);
      if (n >= 8) {
        const spotSchema = rand() < 0.5;
        const templates = spotSchema ? [10000, 10001, 10002, 10003] : [1, 2, 3, 4, 5];
        const tid = templates[int(templates.length)]!;
        scratch[2] = tid & 0xff;
        scratch[3] = tid >> 8;
        scratch[4] = spotSchema ? 1 : 100;
        scratch[5] = 0;
      }
    }
  }
  return n;
}

// ----------------------------------------------------------- full traversal

let sink = 0;

function touchSpot(d: spot.SpotStreamDecoder): void {
  switch (d.templateId) {
    case 10000: {
      const m = d.tradesStreamEvent;
      sink += m.eventTime + m.transactTime + m.symbolLength;
      const g = m.trades();
      while (g.next()) sink += g.id + g.price + g.qty + g.priceDecimal().length + g.qtyDecimal().length + g.isBuyerMaker;
      sink += m.symbol().length + JSON.stringify(m.toObject()).length;
      break;
    }
    case 10001: {
      const m = d.bestBidAskStreamEvent;
      sink += m.bidPrice + m.askPrice + m.bidQty + m.askQty + m.bidPriceDecimal().length + m.askQtyDecimal().length + m.symbol().length;
      sink += JSON.stringify(m.toObject()).length;
      break;
    }
    case 10002:
    case 10003: {
      const m = d.templateId === 10002 ? d.depthSnapshotStreamEvent : d.depthDiffStreamEvent;
      for (const g of [m.bids(), m.asks()]) {
        for (let i = 0; i < g.count; i++) sink += g.priceMantissaAt(i) + g.qtyAt(i);
        while (g.next()) sink += g.price + g.qty + g.priceDecimal().length + g.qtyDecimal().length;
      }
      sink += m.symbol().length + JSON.stringify(m.toObject()).length;
      break;
    }
  }
}

function touchHotpath(d: hotpath.HotpathDecoder, inner: spot.SpotStreamDecoder, win: Window, report: FuzzReport): void {
  switch (d.templateId) {
    case 1: {
      const e = d.envelope;
      sink += e.receiveTimeUs + e.sequence + e.connectionEpoch + e.kind + e.symbol().length + e.payload().length;
      if (e.kind === hotpath.EnvelopeKind.StreamFrame) {
        // The embedded frame is decoded in place, inside a narrower window.
        const outer = [win.lo, win.hi] as const;
        win.lo = e.payloadOffset;
        win.hi = e.payloadOffset + e.payloadLength;
        const st = inner.wrap(e.buffer, e.payloadOffset, e.payloadLength);
        if (st === DecodeStatus.Ok) touchSpot(inner);
        else {
          const before = win.reads;
          touchSpot(inner);
          report.readsAfterFailure += win.reads - before;
        }
        [win.lo, win.hi] = outer;
      }
      break;
    }
    case 2: {
      const m = d.depthSnapshot;
      for (const g of [m.bids(), m.asks()]) while (g.next()) sink += g.price + g.qtyDecimal().length;
      sink += JSON.stringify(m.toObject()).length;
      break;
    }
    case 3: {
      const m = d.tradeBackfill;
      const g = m.trades();
      while (g.next()) sink += g.id + g.price + g.priceDecimal().length + g.timeUs;
      sink += JSON.stringify(m.toObject()).length;
      break;
    }
    case 4:
      sink += JSON.stringify(d.connectionEvent.toObject()).length + d.connectionEvent.reason().length;
      break;
    case 5:
      sink += JSON.stringify(d.gapNotice.toObject()).length;
      break;
  }
}

/** Runs `frames` fuzz cases. When `guardEvery` > 0, every guardEvery-th case reads through the bounds-checking proxy. */
export function runFuzz(frames: number, seed = 1, guardEvery = 1): FuzzReport {
  const rand = prng(seed);
  const seeds = seedFrames(rand);
  const report: FuzzReport = { frames, ok: 0, rejected: {}, crashes: 0, outOfBoundsReads: 0, readsAfterFailure: 0, windowLeaks: 0, seed, guarded: 0 };
  const spotDecoder = new spot.SpotStreamDecoder();
  const spotInner = new spot.SpotStreamDecoder();
  const hotpathDecoder = new hotpath.HotpathDecoder();
  const scratch = new Uint8Array(128 * 1024);
  // Frames sit at a random offset inside a larger buffer, so a read past the window still lands on real bytes.
  const arena = new Uint8Array(256 * 1024);
  const win = new Window();
  const guarded = guardedView(arena, win);

  // One decode + full traversal; the result (status, length, sum of every value read) is its signature.
  const decodeOnce = (view: Uint8Array, offset: number, n: number, scratchFrame: Uint8Array): string => {
    const schemaId = n >= 6 ? scratchFrame[4]! | (scratchFrame[5]! << 8) : 1;
    const dec = schemaId === 100 ? hotpathDecoder : spotDecoder;
    const before = sink;
    const status = dec.wrap(view, offset, n);
    if (status === DecodeStatus.Ok) {
      if (dec === spotDecoder) touchSpot(spotDecoder);
      else touchHotpath(hotpathDecoder, spotInner, win, report);
    } else {
      const readsBefore = win.reads;
      if (dec === spotDecoder) touchSpot(spotDecoder);
      else touchHotpath(hotpathDecoder, spotInner, win, report);
      if (view === guarded) report.readsAfterFailure += win.reads - readsBefore;
    }
    return `${status}:${dec.error()?.code ?? 'Ok'}:${sink - before}`;
  };
  const poison = (offset: number, n: number, a: number, b: number): void => {
    arena.fill(a, 0, offset);
    arena.fill(b, offset + n, offset + n + 64);
  };

  for (let i = 0; i < frames; i++) {
    const base = seeds[Math.floor(rand() * seeds.length)]!;
    const n = mutate(base, rand, scratch);
    const offset = Math.floor(rand() * 64);
    arena.set(scratch.subarray(0, n), offset);
    poison(offset, n, 0xa5, 0x5a);
    const useGuard = guardEvery > 0 && i % guardEvery === 0;
    const view = useGuard ? guarded : arena;
    if (useGuard) report.guarded++;
    win.lo = offset;
    win.hi = offset + n;
    const violationsBefore = win.violations;
    try {
      const first = decodeOnce(view, offset, n, scratch);
      if (first.startsWith('0:')) report.ok++;
      else {
        const name = first.split(':')[1]!;
        report.rejected[name] = (report.rejected[name] ?? 0) + 1;
      }
      // Reads that bypass the proxy (DataView paths) are caught differentially:
      // change only the bytes around the window and the result must not move.
      poison(offset, n, 0x3c, 0xc3);
      if (decodeOnce(arena, offset, n, scratch) !== first) report.windowLeaks++;
    } catch (err) {
      report.crashes++;
      report.firstCrash ??= `${(err as Error).stack ?? String(err)} (case ${i})`;
    }
    report.outOfBoundsReads += win.violations - violationsBefore;
  }
  if (sink === 0.5) console.log(sink); // keep the traversal observable to the optimizer
  return report;
}
