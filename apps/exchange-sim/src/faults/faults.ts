/**
 * Fault injection: pending faults the stream and REST layers consult on
 * their hot paths (cheap checks), armed from the admin API or config.
 * Every fault injected is counted by type.
 */
import { z } from 'zod';

/**
 * Bounds on what one request may arm: a fault is a drill, not a way to take
 * the simulator down for good (a stall of days, a count that never runs out).
 */
export const MAX_FAULT_DURATION_MS = 10 * 60_000;
export const MAX_FAULT_COUNT = 10_000;
const count = z.number().int().positive().max(MAX_FAULT_COUNT).default(1);
const durationMs = z.number().int().positive().max(MAX_FAULT_DURATION_MS);
const symbol = z.string().min(1).max(32).default('BTCUSDT');

export const FaultSchema = z.discriminatedUnion('type', [
  /** Drop the next `count` @depth diffs of a symbol (a sequence gap). */
  z.object({ type: z.literal('dropDepthDiffs'), symbol, count }).strict(),
  /** Drop the next `count` trade events of a symbol (a trade-id gap). */
  z.object({ type: z.literal('dropTrades'), symbol, count }).strict(),
  /** Send each of the next `count` frames twice. */
  z.object({ type: z.literal('duplicate'), count }).strict(),
  /** Swap each of the next `count` pairs of frames. */
  z.object({ type: z.literal('reorder'), count }).strict(),
  /** Send `count` binary frames of random bytes / truncated real frames. */
  z.object({ type: z.literal('malformed'), count }).strict(),
  z.object({ type: z.literal('truncated'), count }).strict(),
  /** Send `count` real frames again, zero-padded to `bytes` (default 2 MiB): larger than a client can put in one Kinesis record. */
  z
    .object({
      type: z.literal('oversized'),
      count,
      bytes: z
        .number()
        .int()
        .min(1024)
        .max(8 * 1024 * 1024)
        .default(2 * 1024 * 1024),
    })
    .strict(),
  /** Close every stream connection now. */
  z.object({ type: z.literal('closeConnections') }).strict(),
  /** Send {"e":"serverShutdown"} and close after `closeAfterMs`. */
  z.object({ type: z.literal('serverShutdown'), closeAfterMs: z.number().int().nonnegative().max(MAX_FAULT_DURATION_MS).default(1000) }).strict(),
  /** Send nothing for `ms` (frames in the window are lost, the socket stays open). */
  z.object({ type: z.literal('stall'), ms: durationMs }).strict(),
  /** Add latency to REST responses for `ms` of wall time. */
  z.object({ type: z.literal('restLatency'), latencyMs: durationMs, forMs: durationMs.default(60_000) }).strict(),
  /** Fail the next `count` REST requests with `status` (5xx, or 429 with Retry-After). */
  z.object({ type: z.literal('restFail'), status: z.number().int().min(400).max(599).default(503), count }).strict(),
  /** Freeze a symbol's book (no updates, no trades) for `ms`. */
  z.object({ type: z.literal('freeze'), symbol, ms: durationMs }).strict(),
]);

export type Fault = z.infer<typeof FaultSchema>;
export type FaultType = Fault['type'];

export class FaultState {
  dropDepth = new Map<string, number>();
  dropTrades = new Map<string, number>();
  duplicate = 0;
  reorder = 0;
  malformed = 0;
  truncated = 0;
  oversized = 0;
  oversizedBytes = 2 * 1024 * 1024;
  stallUntilMs = 0;
  restLatencyMs = 0;
  restLatencyUntilMs = 0;
  restFailStatus = 503;
  restFailCount = 0;
  readonly injected = new Map<FaultType, number>();

  constructor(private readonly onCount: (type: FaultType) => void = () => undefined) {}

  /** Records one injected fault instance (a dropped frame, a failed request, ...). */
  count(type: FaultType): void {
    this.injected.set(type, (this.injected.get(type) ?? 0) + 1);
    this.onCount(type);
  }

  /** Arms a fault. Connection-level faults (close, shutdown) are executed by the caller. */
  arm(fault: Fault, nowMs: number): void {
    switch (fault.type) {
      case 'dropDepthDiffs':
        this.dropDepth.set(fault.symbol.toUpperCase(), (this.dropDepth.get(fault.symbol.toUpperCase()) ?? 0) + fault.count);
        break;
      case 'dropTrades':
        this.dropTrades.set(fault.symbol.toUpperCase(), (this.dropTrades.get(fault.symbol.toUpperCase()) ?? 0) + fault.count);
        break;
      case 'duplicate':
        this.duplicate += fault.count;
        break;
      case 'reorder':
        this.reorder += fault.count;
        break;
      case 'malformed':
        this.malformed += fault.count;
        break;
      case 'truncated':
        this.truncated += fault.count;
        break;
      case 'oversized':
        this.oversized += fault.count;
        this.oversizedBytes = fault.bytes;
        break;
      case 'stall':
        this.stallUntilMs = Math.max(this.stallUntilMs, nowMs + fault.ms);
        this.count('stall');
        break;
      case 'restLatency':
        this.restLatencyMs = fault.latencyMs;
        this.restLatencyUntilMs = nowMs + fault.forMs;
        this.count('restLatency');
        break;
      case 'restFail':
        this.restFailStatus = fault.status;
        this.restFailCount += fault.count;
        break;
      case 'closeConnections':
      case 'serverShutdown':
      case 'freeze':
        break;
    }
  }

  /** Consumes one pending drop for the symbol's stream kind; true = drop this frame. */
  takeDrop(kind: 'depth' | 'trade', symbol: string): boolean {
    const m = kind === 'depth' ? this.dropDepth : this.dropTrades;
    const left = m.get(symbol);
    if (left === undefined || left <= 0) return false;
    if (left === 1) m.delete(symbol);
    else m.set(symbol, left - 1);
    this.count(kind === 'depth' ? 'dropDepthDiffs' : 'dropTrades');
    return true;
  }
}
