/**
 * Futures recordings through the live path (envelopes → SymbolProcessor):
 * the diffs chain by `pu`, and the book they build agrees with a second,
 * independent stream of the same exchange — the futures bookTicker, which is
 * pushed on every change of the top of book and carries the update id of
 * that change. After the diff ending at update id u is applied, the book's
 * top must be the last bookTicker with an id at or below u.
 */
import { VectorStatus } from '@hotpath/features';
import { COIN_M_CONTRACT_USD, contractsToBase, EnvelopeWriter, FIXTURE_COINM_BTCUSD_PERP, FIXTURE_USDM_BTCUSDT, type RecordedLine, readRecording, recordingEnvelopes } from '@hotpath/recordings';
import { classifyPayload } from '@hotpath/sbe';
import { describe, expect, it } from 'vitest';
import { SymbolProcessor } from '../src/index.ts';
import { mantissa } from './support/reference.ts';

interface Ticker {
  u: number;
  b: string;
  B: string;
  a: string;
  A: string;
}

/** Applies every line, checking the top after each applied diff against the bookTicker stream; returns what happened. */
function replay(lines: RecordedLine[], symbol: string) {
  const p = new SymbolProcessor(symbol);
  const usd = COIN_M_CONTRACT_USD[symbol];
  const qty = (q: string, price: string): number => mantissa(usd === undefined ? q : contractsToBase(q, price, usd)!);
  const tickers = lines.flatMap((l) => (classifyPayload(l.data) === 'bookTicker' ? [l.data as Ticker] : [])).sort((x, y) => x.u - y.u);
  const envelopes = recordingEnvelopes(lines, new EnvelopeWriter(symbol));
  const outcomes = new Map<string, number>();
  let checked = 0;
  let mismatched = 0;
  lines.forEach((l, i) => {
    const kind = classifyPayload(l.data);
    if (kind === undefined) return;
    const outcome = p.apply(envelopes.next().value as Buffer, `0:${i}`);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (kind !== 'depthUpdate' || outcome !== 'applied') return;
    const u = p.engine.book.lastUpdateId;
    // the last top-of-book change at or before u
    let lo = 0;
    let hi = tickers.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (tickers[mid]!.u <= u) lo = mid + 1;
      else hi = mid - 1;
    }
    const t = tickers[hi];
    if (t === undefined) return;
    checked++;
    const book = p.engine.book;
    const same = book.bestBid === mantissa(t.b) && book.bestAsk === mantissa(t.a) && book.bestBidQty === qty(t.B, t.b) && book.bestAskQty === qty(t.A, t.a);
    if (!same) mismatched++;
  });
  return { p, outcomes: Object.fromEntries(outcomes), checked, mismatched };
}

describe.each([
  { name: 'USDⓈ-M BTCUSDT', file: FIXTURE_USDM_BTCUSDT, symbol: 'BTCUSDT' },
  { name: 'COIN-M BTCUSD_PERP', file: FIXTURE_COINM_BTCUSD_PERP, symbol: 'BTCUSD_PERP' },
])('futures book on the live path ($name excerpt)', ({ file, symbol }) => {
  const lines = readRecording(file);

  it('anchors once on the REST snapshot, follows every diff by pu without a gap, and its top is the bookTicker stream’s after every diff', () => {
    const { p, outcomes, checked, mismatched } = replay(lines, symbol);
    expect(outcomes['reanchored']).toBe(1);
    expect(outcomes['reanchor_started']).toBeUndefined();
    expect(outcomes['reanchor_failed']).toBeUndefined();
    expect(p.status).toBe(VectorStatus.Live);
    expect(checked).toBeGreaterThan(1_000);
    expect(mismatched).toBe(0);
  });

  it('a diff missing after the snapshot is a gap: the processor re-anchors at the next one', () => {
    const diffs = lines.flatMap((l, i) => (classifyPayload(l.data) === 'depthUpdate' ? [i] : []));
    const snapshotAt = lines.findIndex((l) => classifyPayload(l.data) === 'depthSnapshot');
    const drop = diffs.find((i) => i > snapshotAt + 50)!;
    const { outcomes } = replay(
      lines.filter((_, i) => i !== drop),
      symbol,
    );
    expect(outcomes['reanchor_started']).toBe(1);
  });
});
