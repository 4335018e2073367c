/**
 * pnpm bench:sim — how fast the exchange simulator runs on one core.
 *  1. market only: simulated seconds per wall second (the highest sustainable speed);
 *  2. the server at 100x: one WebSocket client on all four streams; events and frames per
 *     second actually delivered, and whether simulated time kept pace with 100x wall time.
 * Last line: one JSON object.
 */
import WebSocket from 'ws';
import { MarketFeed } from '@hotpath/market';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';

const START = 1_750_000_000_000_000;
const SIM_MINUTES = Number(process.env['BENCH_SIM_MINUTES'] ?? 10);

// 1. market only
const feed = new MarketFeed({ symbols: ['BTCUSDT'], seed: 1, startTimeUs: START });
const model = feed.model('BTCUSDT');
const firstUpdate = model.book.updateId;
const firstTrade = model.lastTradeId;
let frames = 0;
const t0 = performance.now();
feed.advanceTo(START + SIM_MINUTES * 60_000_000, () => frames++);
const wall = (performance.now() - t0) / 1000;
const simSeconds = SIM_MINUTES * 60;
const market = {
  simulated_seconds: simSeconds,
  wall_seconds: Number(wall.toFixed(2)),
  max_speed: Math.round(simSeconds / wall),
  book_updates_per_sim_s: Math.round((model.book.updateId - firstUpdate) / simSeconds),
  trades_per_sim_s: Math.round((model.lastTradeId - firstTrade) / simSeconds),
  frames_per_sim_s: Math.round(frames / simSeconds),
};
console.log(
  `market only: ${simSeconds} simulated s in ${wall.toFixed(2)} s wall = ${market.max_speed}x; per simulated second: ${market.book_updates_per_sim_s} book updates, ${market.trades_per_sim_s} trades, ${market.frames_per_sim_s} frames`,
);

// 2. the server at 100x with a subscribed client
const SPEED = 100;
const RUN_MS = Number(process.env['BENCH_SIM_RUN_MS'] ?? 5000);
const sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: SPEED, seed: 1, logLevel: 'silent', startTimeUs: START }));
await sim.start();
const ws = new WebSocket(`${sim.urls.ws}/stream?streams=btcusdt@trade/btcusdt@bestBidAsk/btcusdt@depth/btcusdt@depth20`, { headers: { 'X-MBX-APIKEY': 'bench' } });
let received = 0;
let bytes = 0;
ws.on('message', (d: Buffer) => {
  received++;
  bytes += d.length;
});
await new Promise((r) => ws.once('open', r));
const market2 = sim.feed as MarketFeed;
const simAt0 = sim.feed.simTimeUs;
const updAt0 = market2.model('BTCUSDT').book.updateId;
const cpu0 = process.cpuUsage();
const w0 = performance.now();
await new Promise((r) => setTimeout(r, RUN_MS));
const wallS = (performance.now() - w0) / 1000;
const cpu = process.cpuUsage(cpu0);
const simS = (sim.feed.simTimeUs - simAt0) / 1e6;
const updates = market2.model('BTCUSDT').book.updateId - updAt0;
ws.close();
await sim.stop();
const server = {
  speed: SPEED,
  achieved_speed: Number((simS / wallS).toFixed(1)),
  events_per_s: Math.round(updates / wallS),
  frames_per_s: Math.round(received / wallS),
  mbytes_per_s: Number((bytes / wallS / 1e6).toFixed(2)),
  cpu_core_fraction: Number(((cpu.user + cpu.system) / 1e6 / wallS).toFixed(2)),
};
console.log(
  `server at ${SPEED}x: achieved ${server.achieved_speed}x, ${server.events_per_s} book events/s, ${server.frames_per_s} frames/s delivered (${server.mbytes_per_s} MB/s) using ${server.cpu_core_fraction} of a core (server and client in one process)`,
);
console.log(JSON.stringify({ bench: 'sim', market, server }));
