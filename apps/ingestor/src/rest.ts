/**
 * Binance REST for re-anchoring: depth snapshots and trade backfills. Tracks
 * the used weight from X-MBX-USED-WEIGHT-1M, stays under its own budget,
 * honours Retry-After on 429/418 (never hammering into a ban), retries 5xx
 * with backoff, and gives up after a bounded number of attempts with a typed
 * error the caller counts. At most `concurrency` calls are in flight; the
 * others wait their turn (before their timeout starts), so that a burst of
 * re-anchoring symbols cannot time out in the exchange's queue.
 */
import type { JsonDepthSnapshot } from '@hotpath/sbe';
import { RetryExhaustedError, ignoreRejection, retry, sleep } from '@hotpath/service';
import { type SpanContext, traceparentOf } from '@hotpath/tracing';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@hotpath/telemetry';
import type { IngestorErrorCode } from './errors.ts';

export interface RestTrade {
  id: number;
  price: string;
  qty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch: boolean;
}

/**
 * A Binance REST call that did not answer 200: `rest_refused` for one answer (a 4xx other than 429/418 is not
 * retried), `rest_gave_up` once every attempt failed. `status` is the (last) HTTP status, 0 when nothing answered.
 */
export class RestError extends Error {
  override readonly name = 'RestError';
  constructor(
    readonly code: IngestorErrorCode,
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const MAX_ATTEMPTS = 6;
/** The longest Retry-After honoured (Binance's IP bans can say hours: the ingestor re-anchors later instead of hanging). */
const MAX_RETRY_AFTER_MS = 120_000;

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
  private readonly waiting: Gauge;
  private inFlight = 0;
  /** Calls waiting for a slot, first come first served. */
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly budgetPerMinute: number,
    registry: Registry,
    private readonly log: Logger,
    /** Aborts every call and wait (the ingestor's stop). */
    private readonly signal: AbortSignal = new AbortController().signal,
    private readonly concurrency = 8,
  ) {
    this.calls = new Counter({ name: 'ingestor_rest_api_calls_total', help: 'REST calls by endpoint and HTTP status', labelNames: ['endpoint', 'status'], registers: [registry] });
    this.duration = new Histogram({ name: 'ingestor_rest_api_duration_seconds', help: 'REST call duration', labelNames: ['endpoint'], buckets: [0.1, 0.2, 0.5, 1, 2, 5], registers: [registry] });
    this.remaining = new Gauge({ name: 'ingestor_rest_rate_limit_remaining', help: 'Request weight left this minute (budget minus used)', registers: [registry] });
    this.remaining.set(budgetPerMinute);
    this.waiting = new Gauge({ name: 'ingestor_rest_calls_waiting', help: 'REST calls waiting for one of INGESTOR_REST_CONCURRENCY slots', registers: [registry] });
    this.bodyUnread = ignoreRejection(log, 'the refused answer body is only quoted in the RestError: without it the error still has the endpoint and status');
  }

  private readonly bodyUnread: (err: unknown) => void;

  /** `trace`: the traced caller's span, sent as the W3C `traceparent` header (an exchange that ignores it loses nothing). */
  async depth(symbol: string, limit: number, trace?: SpanContext): Promise<JsonDepthSnapshot & { requestTimeUs: number; receiveTimeUs: number }> {
    const requestTimeUs = Date.now() * 1000;
    const body = (await this.call('/api/v3/depth', { symbol, limit: String(limit) }, depthWeight(limit), trace)) as JsonDepthSnapshot;
    return { ...body, requestTimeUs, receiveTimeUs: Date.now() * 1000 };
  }

  /** Trades with id >= fromId, oldest first. */
  async historicalTrades(symbol: string, fromId: number, limit: number, trace?: SpanContext): Promise<RestTrade[]> {
    return (await this.call('/api/v3/historicalTrades', { symbol, fromId: String(fromId), limit: String(Math.min(1000, limit)) }, 25, trace)) as RestTrade[];
  }

  /**
   * One REST call: within the weight budget, retried (the one retry helper:
   * full jitter, MAX_ATTEMPTS) on 5xx, 429/418 (after Retry-After) and network
   * errors; a 4xx is a RestError at once. Everything ends when `signal` aborts.
   */
  private call(endpoint: string, params: Record<string, string>, weight: number, trace?: SpanContext): Promise<unknown> {
    let status = 0;
    const headers = trace === undefined ? undefined : { traceparent: traceparentOf(trace) };
    return retry(
      async () => {
        await this.waitForCapacity(weight);
        await this.slot();
        try {
          return await this.attempt(endpoint, params, headers, (s) => (status = s));
        } finally {
          this.release();
        }
      },
      {
        what: `REST ${endpoint}`,
        attempts: MAX_ATTEMPTS,
        baseMs: 100,
        maxMs: 5_000,
        signal: this.signal,
        retryable: (err) => !(err instanceof RestError) || err.status >= 500 || err.status === 429 || err.status === 418,
        onRetry: (err) => this.log.warn({ endpoint, err }, 'REST call failed: retrying'),
      },
    ).catch((err: unknown) => {
      if (err instanceof RetryExhaustedError) throw new RestError('rest_gave_up', `${endpoint} failed after ${err.attempts} attempts (last status ${status})`, status, { cause: err });
      throw err;
    });
  }

  /** Waits for a free slot (or the stop); the slot is the caller's until release(). */
  private async slot(): Promise<void> {
    if (this.inFlight < this.concurrency) {
      this.inFlight++;
      return;
    }
    const signal = this.signal;
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const take = (): void => {
        signal.removeEventListener('abort', abandon);
        resolve();
      };
      const abandon = (): void => {
        const i = this.queue.indexOf(take);
        if (i >= 0) this.queue.splice(i, 1);
        this.waiting.set(this.queue.length);
        reject(signal.reason);
      };
      signal.addEventListener('abort', abandon, { once: true });
      this.queue.push(take);
      this.waiting.set(this.queue.length);
    });
  }

  /** Hands the slot to the next waiting call, or frees it. */
  private release(): void {
    const next = this.queue.shift();
    this.waiting.set(this.queue.length);
    if (next !== undefined) next();
    else this.inFlight--;
  }

  /** One attempt of a call: the request, with its 10 s timeout, and the answer. */
  private async attempt(endpoint: string, params: Record<string, string>, headers: Record<string, string> | undefined, noteStatus: (status: number) => void): Promise<unknown> {
    const started = performance.now();
    noteStatus(0);
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${endpoint}?${new URLSearchParams(params)}`, { headers, signal: AbortSignal.any([this.signal, AbortSignal.timeout(10_000)]) });
    } catch (err) {
      this.calls.inc({ endpoint, status: 'error' });
      throw err;
    }
    const status = res.status;
    noteStatus(status);
    const used = Number(res.headers.get('x-mbx-used-weight-1m'));
    if (Number.isFinite(used) && used > 0) this.noteUsed(used);
    this.calls.inc({ endpoint, status: String(status) });
    this.duration.observe({ endpoint }, (performance.now() - started) / 1000);
    if (status === 200) return await res.json();
    if (status === 429 || status === 418) {
      const retryAfter = Number(res.headers.get('retry-after'));
      // (an absurd Retry-After from the exchange is capped: the ingestor re-anchors later instead)
      const waitMs = Math.min(MAX_RETRY_AFTER_MS, (Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 60) * 1000);
      this.blockedUntilMs = Date.now() + waitMs;
      this.log.warn({ endpoint, status, retryAfterMs: waitMs }, 'REST rate limited; backing off');
    }
    // (the body is the exchange's text: bounded before it reaches an error or a log)
    const text = ((await res.text().catch(this.bodyUnread)) ?? '').slice(0, 200);
    throw new RestError('rest_refused', `${endpoint} ${status}: ${text}`, status);
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
        await sleep(this.blockedUntilMs - now, this.signal);
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
      await sleep(60_000 - (now % 60_000) + 10, this.signal);
    }
  }
}
