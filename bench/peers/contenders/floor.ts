import type { PeersData } from '../data.ts';
import { type Contender, type ContenderInput, sink } from './shared.ts';

/** The floor: JSON.parse of the recorded message and one field read; no book, no conversion. */
export function jsonParseFloor(_data: PeersData, input: ContenderInput): Contender {
  const out = new Float64Array(4);
  const parse = (wires: readonly string[], list: readonly number[]): void => {
    for (let i = 0; i < list.length; i++) sink.v += JSON.parse(wires[list[i]!]!).data.s.length;
  };
  return {
    name: 'jsonParse',
    out,
    notApplied: 0,
    async reset() {},
    depth(from, to) {
      const wires = input.postWire;
      for (let i = from; i < to; i++) sink.v += JSON.parse(wires[i]!).data.s.length;
    },
    bookTicker: (list) => parse(input.bookTickerWire, list),
    trade: (list) => parse(input.tradeWire, list),
    top: () => undefined,
  };
}
