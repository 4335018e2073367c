/**
 * Binance REST for re-anchoring: depth snapshots and trade backfills. Tracks
 * the used weight from X-MBX-USED-WEIGHT-1M, stays under its own budget,
 * honours Retry-After on 429/418 (never hammering into a ban), retries 5xx
 * with backoff, and gives up after a bounded number of attempts with a typed
 * error the caller counts.
 */
import type { JsonDepthSnapshot } from '@hotpath/sbe';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@hotpath/telemetry';

export interface RestTrade {
  id: number;
  price: string;
  qty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch: boolean;
}

export class RestError extends Error {
  override readonly name = 'RestError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const MAX_ATTEMPTS = 6;

function depthWeight(limit: number): number {
  return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
}

export class BinanceRest {
  private usedWeight = 0;
  private usedMinute = 0;
  private blockedUntilMs = 0;
  private readonly calls: Counter<'endpoint' | 'status'>;
  private readonly duration: Histogram<'endpoint'>;
  private readonly remaining: Gauge;

  constructor(
    private readonly baseUrl: string,
    private readonly budgetPerMinute: number,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.calls = new Counter({ name: 'ingestor_rest_api_calls_total', help: 'REST calls by endpoint and HTTP status', labelNames: ['endpoint', 'status'], registers: [registry] });
    this.duration = new Histogram({ name: 'ingestor_rest_api_duration_seconds', help: 'REST call duration', labelNames: ['endpoint'], buckets: [0.1, 0.2, 0.5, 1, 2, 5], registers: [registry] });
    this.remaining = new Gauge({ name: 'ingestor_rest_rate_limit_remaining', help: 'Request weight left this minute (budget minus used)', registers: [registry] });
    this.remaining.set(budgetPerMinute);
  }

  async depth(symbol: string, limit: number): Promise<JsonDepthSnapshot & { requestTimeUs: number; receiveTimeUs: number }> {
    const requestTimeUs = Date.now() * 1000;
    const body = (await this.call('/api/v3/depth', { symbol, limit: String(limit) }, depthWeight(limit))) as JsonDepthSnapshot;
    return { ...body, requestTimeUs, receiveTimeUs: Date.now() * 1000 };
  }

  /** Trades with id >= fromId, oldest first. */
  async historicalTrades(symbol: string, fromId: number, limit: number): Promise<RestTrade[]> {
    return (await this.call('/api/v3/historicalTrades', { symbol, fromId: String(fromId), limit: String(Math.min(1000, limit)) }, 25)) as RestTrade[];
  }

  private async call(endpoint: string, params: Record<string, string>, weight: number): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      await this.waitForCapacity(weight);
      const started = performance.now();
      let status = 0;
      try {
        const res = await fetch(`${this.baseUrl}${endpoint}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(10_000) });
        status = res.status;
        const used = Number(res.headers.get('x-mbx-used-weight-1m'));
        if (Number.isFinite(used) && used > 0) this.noteUsed(used);
        this.calls.inc({ endpoint, status: String(status) });
        this.duration.observe({ endpoint }, (performance.now() - started) / 1000);
        if (status === 200) return await res.json();
        const retryAfter = Number(res.headers.get('retry-after'));
        if (status === 429 || status === 418) {
          const waitMs = (Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 60) * 1000;
          this.blockedUntilMs = Date.now() + waitMs;
          this.log.warn({ endpoint, status, retryAfterMs: waitMs }, 'REST rate limited; backing off');
        } else if (status < 500) {
          throw new RestError(`${endpoint} ${status}: ${await res.text()}`, status);
        }
      } catch (err) {
        if (err instanceof RestError) throw err;
        this.calls.inc({ endpoint, status: 'error' });
        this.log.warn({ endpoint, err: (err as Error).message }, 'REST call failed');
      }
      if (attempt >= MAX_ATTEMPTS) throw new RestError(`${endpoint} failed after ${attempt} attempts (last status ${status})`, status);
      await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
    }
  }

  private noteUsed(used: number): void {
    this.usedMinute = Math.floor(Date.now() / 60_000);
    this.usedWeight = used;
    this.remaining.set(Math.max(0, this.budgetPerMinute - used));
  }

  private async waitForCapacity(weight: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      if (now < this.blockedUntilMs) {
        await new Promise((r) => setTimeout(r, this.blockedUntilMs - now));
        continue;
      }
      const minute = Math.floor(now / 60_000);
      if (minute !== this.usedMinute) {
        this.usedMinute = minute;
        this.usedWeight = 0;
      }
      if (this.usedWeight + weight <= this.budgetPerMinute) {
        this.usedWeight += weight;
        return;
      }
      await new Promise((r) => setTimeout(r, 60_000 - (now % 60_000) + 10));
    }
  }
}
