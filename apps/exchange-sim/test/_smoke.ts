import { MarketFeed } from '../src/market/feed.ts';
const feed = new MarketFeed({ symbols: ['BTCUSDT'], seed: 1, startTimeUs: 1_700_000_000_000_000 });
const counts: Record<string, number> = {};
let bytes = 0;
const t0 = process.hrtime.bigint();
const m = feed.model('BTCUSDT');
const start = m.mid;
for (let s = 1; s <= 60; s++) {
  feed.advanceTo(1_700_000_000_000_000 + s * 1_000_000, (f) => { counts[f.kind] = (counts[f.kind] ?? 0) + 1; bytes += f.bytes.length; });
  if (s % 10 === 0) console.log(s, 'mid', (m.mid * 0.01).toFixed(2), 'fair', (m.fair * 0.01).toFixed(2), 'spread', m.book.bestAsk - m.book.bestBid, 'levels', m.book.levelCount('bid'), m.book.levelCount('ask'), 'upd', m.book.updateId - 10_000_000, 'trades', m.lastTradeId - 1_000_000 + 1);
}
const sec = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(counts, 'bytes', bytes, 'wall', sec.toFixed(2), 's for 60 s simulated');
