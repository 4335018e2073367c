/**
 * The machine's floor for bench:aggregate: PING round trips to the same
 * redis-server from a separate process, every 5 ms while the bench runs. No
 * aggregator code is in this path, so its p99 is what the shared cores and
 * redis-server alone cost a round trip under the bench's load.
 * Protocol (IPC): ← 'stop'; → {p50, p99} in ms.
 */
import { Redis } from 'ioredis';

const redis = new Redis(Number(process.env['PING_PORT']), '127.0.0.1');
const rtts: number[] = [];
let running = true;
process.once('message', () => (running = false));
while (running) {
  const t = performance.now();
  await redis.ping();
  rtts.push(performance.now() - t);
  await new Promise((r) => setTimeout(r, 5));
}
rtts.sort((a, b) => a - b);
const at = (q: number) => Number(rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))]!.toFixed(2));
process.send!({ p50: at(0.5), p99: at(0.99) }, () => process.exit(0));
redis.disconnect();
