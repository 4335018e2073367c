/** Our contenders: SBE (the generated decoder) and JSON, both into our LocalBook. */
import { LocalBook } from '@hotpath/features';
import { DecodeStatus, hotpath, type JsonDepthUpdate, spot } from '@hotpath/sbe';
import type { PeersData } from '../data.ts';
import { type Contender, type ContenderInput, m8, readBest, sink, snapshotLevels, TOP_LEVELS } from './shared.ts';

/** Top levels of our LocalBook (already mantissas). */
export function topOfLocalBook(b: LocalBook, into: Float64Array): Float64Array {
  into.fill(-1);
  into[0] = b.bestBid;
  into[1] = b.bestBidQty;
  into[2] = b.bestAsk;
  into[3] = b.bestAskQty;
  for (const [side, at] of [
    [b.bids, 4],
    [b.asks, 4 + 2 * TOP_LEVELS],
  ] as const) {
    const n = Math.min(TOP_LEVELS, side.size);
    const p = side.prices;
    const q = side.qtys;
    for (let i = 0; i < n; i++) {
      into[at + 2 * i] = p[i]!;
      into[at + 2 * i + 1] = q[i]!;
    }
  }
  return into;
}

/** Us: SBE frame → generated decoder (full validation) → LocalBook, read as mantissas. */
export function oursSbe(data: PeersData, input: ContenderInput): Contender {
  const dec = new spot.SpotStreamDecoder();
  const snapDec = new hotpath.DepthSnapshotDecoder();
  let book = new LocalBook();
  const out = new Float64Array(4);
  let d: spot.DepthDiffStreamEventDecoder;
  // One closure for the process, not one per message.
  const levels = (set: (bid: boolean, price: number, qty: number) => void): void => {
    const b = d.bids();
    while (b.next()) set(true, b.priceMantissa, b.qtyMantissa);
    const a = d.asks();
    while (a.next()) set(false, a.priceMantissa, a.qtyMantissa);
  };
  const wrap = (f: Buffer): void => {
    if (dec.wrap(f, 0, f.length) !== DecodeStatus.Ok) throw new Error(`oursSbe: decode failed: ${dec.error()?.message}`);
  };
  const c: Contender = {
    name: 'oursSbe',
    out,
    notApplied: 0,
    async reset() {
      book = new LocalBook();
      for (const f of input.preFrame) {
        wrap(f);
        d = dec.depthDiffStreamEvent;
        book.applyDiff(d.firstBookUpdateId, d.lastBookUpdateId, levels);
      }
      if (snapDec.wrap(data.snapshotFrame, 0, data.snapshotFrame.length) !== DecodeStatus.Ok) throw new Error('oursSbe: snapshot decode failed');
      const bids: [number, number][] = [];
      const asks: [number, number][] = [];
      const b = snapDec.bids();
      while (b.next()) bids.push([b.priceMantissa, b.qtyMantissa]);
      const a = snapDec.asks();
      while (a.next()) asks.push([a.priceMantissa, a.qtyMantissa]);
      if (book.applySnapshot(snapDec.lastUpdateId, bids, asks) !== 'applied') throw new Error('oursSbe: snapshot did not apply');
    },
    depth(from, to) {
      const frames = input.postFrame;
      for (let i = from; i < to; i++) {
        wrap(frames[i]!);
        d = dec.depthDiffStreamEvent;
        if (book.applyDiff(d.firstBookUpdateId, d.lastBookUpdateId, levels) !== 'applied') c.notApplied++;
        readBest(book, out);
      }
    },
    bookTicker(list) {
      const frames = input.bookTickerFrame;
      for (let i = 0; i < list.length; i++) {
        wrap(frames[list[i]!]!);
        const e = dec.bestBidAskStreamEvent;
        out[0] = e.bidPriceMantissa;
        out[1] = e.bidQtyMantissa;
        out[2] = e.askPriceMantissa;
        out[3] = e.askQtyMantissa;
        sink.v += e.bookUpdateId;
      }
    },
    trade(list) {
      const frames = input.tradeFrame;
      for (let i = 0; i < list.length; i++) {
        wrap(frames[list[i]!]!);
        const g = dec.tradesStreamEvent.trades();
        while (g.next()) {
          out[0] = g.id;
          out[1] = g.priceMantissa;
          out[2] = g.qtyMantissa;
          out[3] = g.isBuyerMaker;
        }
      }
    },
    top: (into) => topOfLocalBook(book, into),
  };
  return c;
}

/** Us on JSON: JSON.parse → exact decimal strings to mantissas → LocalBook. */
export function oursJson(data: PeersData, input: ContenderInput): Contender {
  let book = new LocalBook();
  const out = new Float64Array(4);
  let d: JsonDepthUpdate;
  const levels = (set: (bid: boolean, price: number, qty: number) => void): void => {
    const b = d.b;
    for (let i = 0; i < b.length; i++) set(true, m8(b[i]![0]), m8(b[i]![1]));
    const a = d.a;
    for (let i = 0; i < a.length; i++) set(false, m8(a[i]![0]), m8(a[i]![1]));
  };
  const c: Contender = {
    name: 'oursJson',
    out,
    notApplied: 0,
    async reset() {
      book = new LocalBook();
      for (const w of input.preWire) {
        d = JSON.parse(w).data;
        book.applyDiff(d.U, d.u, levels);
      }
      const s = snapshotLevels(data.snapshot);
      if (book.applySnapshot(data.snapshot.lastUpdateId, s.bids, s.asks) !== 'applied') throw new Error('oursJson: snapshot did not apply');
    },
    depth(from, to) {
      const wires = input.postWire;
      for (let i = from; i < to; i++) {
        d = JSON.parse(wires[i]!).data;
        if (book.applyDiff(d.U, d.u, levels) !== 'applied') c.notApplied++;
        readBest(book, out);
      }
    },
    bookTicker(list) {
      const wires = input.bookTickerWire;
      for (let i = 0; i < list.length; i++) {
        const t = JSON.parse(wires[list[i]!]!).data;
        out[0] = m8(t.b);
        out[1] = m8(t.B);
        out[2] = m8(t.a);
        out[3] = m8(t.A);
        sink.v += t.u;
      }
    },
    trade(list) {
      const wires = input.tradeWire;
      for (let i = 0; i < list.length; i++) {
        const t = JSON.parse(wires[list[i]!]!).data;
        out[0] = t.t;
        out[1] = m8(t.p);
        out[2] = m8(t.q);
        out[3] = t.m ? 1 : 0;
      }
    },
    top: (into) => topOfLocalBook(book, into),
  };
  return c;
}
