/**
 * Binance's REST market-data endpoints over the simulated market, with
 * request weights, X-MBX-USED-WEIGHT-1M, 429 + Retry-After past the limit and
 * a 418 ban for clients that keep going. JSON like Binance: prices and
 * quantities as decimal strings, times in ms (µs with X-MBX-TIME-UNIT).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decimalToString } from '@hotpath/sbe';
import { PRICE_EXPONENT, QTY_EXPONENT, type MarketSource } from '@hotpath/market';
import { systemClock, type Clock } from '../clock.ts';
import type { SimConfig } from '../config.ts';
import type { FaultState } from '../faults/faults.ts';
import { problemOf } from '../http.ts';
import type { SimMetrics } from '../metrics.ts';

interface WeightWindow {
  minute: number;
  used: number;
  /** Requests made while limited in this window. */
  violations: number;
  bannedUntilMs: number;
}

/** Binance's depth weight by limit. */
export function depthWeight(limit: number): number {
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}

const VIOLATIONS_BEFORE_BAN = 3;
/** Past this many client addresses, idle ones are forgotten (the map is keyed by what the network sends). */
const MAX_TRACKED_CLIENTS = 4096;

/** The served endpoints; any other path is labelled `other` (a label value per client-chosen path would grow without bound). */
const ENDPOINTS: ReadonlySet<string> = new Set(['/api/v3/ping', '/api/v3/time', '/api/v3/exchangeInfo', '/api/v3/depth', '/api/v3/trades', '/api/v3/historicalTrades', '/api/v3/aggTrades']);

export class RestApi {
  private readonly windows = new Map<string, WeightWindow>();

  constructor(
    private readonly config: SimConfig,
    private readonly feed: MarketSource,
    private readonly faults: FaultState,
    private readonly metrics: SimMetrics,
    private readonly clock: Clock = systemClock,
  ) {}

  /** True when the path is a REST market-data route this API serves. */
  handles(path: string): boolean {
    return path.startsWith('/api/v3/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const endpoint = url.pathname;
    const endpointLabel = ENDPOINTS.has(endpoint) ? endpoint : 'other';
    const f = this.faults;
    const nowMs = this.clock.now();
    // Injected latency delays the answer, not the work: a snapshot is as of the request's arrival and stale when it lands.
    const latencyMs = f.restLatencyUntilMs > nowMs ? f.restLatencyMs : 0;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json;charset=UTF-8'): void => {
      this.metrics.restRequests.inc({ endpoint: endpointLabel, status: String(status) });
      const text = JSON.stringify(body);
      const write = (): void => {
        // The client may have gone while an injected latency ran.
        if (res.destroyed) return;
        res.writeHead(status, { 'Content-Type': contentType, ...headers });
        res.end(text);
      };
      if (latencyMs > 0) this.clock.setTimeout(write, latencyMs);
      else write();
    };
    if (f.restFailCount > 0) {
      f.restFailCount--;
      f.count('restFail');
      const status = f.restFailStatus;
      return send(status, { code: status === 429 ? -1003 : -1000, msg: 'Injected failure' }, status === 429 ? { 'Retry-After': '1' } : {});
    }

    const notFound = (): void => send(404, problemOf(404, 'Not found', `no endpoint ${endpoint}`), {}, 'application/problem+json');
    const weight = this.weightOf(endpoint, url);
    if (weight === undefined) return notFound();
    const ip = req.socket.remoteAddress ?? 'unknown';
    const w = this.window(ip, nowMs);
    if (w.bannedUntilMs > nowMs) {
      return send(418, { code: -1003, msg: `Way too many requests; IP banned until ${w.bannedUntilMs}.` }, { 'Retry-After': String(Math.ceil((w.bannedUntilMs - nowMs) / 1000)) });
    }
    const retryAfter = String(Math.max(1, Math.ceil((60_000 - (nowMs % 60_000)) / 1000)));
    if (w.used + weight > this.config.restWeightPerMinute) {
      if (++w.violations > VIOLATIONS_BEFORE_BAN) {
        w.bannedUntilMs = nowMs + this.config.banSeconds * 1000;
        return send(418, { code: -1003, msg: 'Way too many requests; IP banned.' }, { 'Retry-After': String(this.config.banSeconds) });
      }
      return send(
        429,
        { code: -1003, msg: `Too much request weight used; current limit is ${this.config.restWeightPerMinute} request weight per 1 MINUTE.` },
        {
          'Retry-After': retryAfter,
          'X-MBX-USED-WEIGHT-1M': String(w.used),
        },
      );
    }
    w.used += weight;
    const headers = { 'X-MBX-USED-WEIGHT-1M': String(w.used) };
    const micro = String(req.headers['x-mbx-time-unit'] ?? '').toUpperCase() === 'MICROSECOND';
    const time = (us: number): number => (micro ? us : Math.floor(us / 1000));

    if (endpoint === '/api/v3/ping') return send(200, {}, headers);
    if (endpoint === '/api/v3/time') return send(200, { serverTime: time(this.feed.simTimeUs) }, headers);
    if (endpoint === '/api/v3/exchangeInfo') return send(200, this.exchangeInfo(time), headers);

    const symbol = url.searchParams.get('symbol');
    if (symbol === null) return send(400, { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." }, headers);
    if (!this.feed.has(symbol)) return send(400, { code: -1121, msg: 'Invalid symbol.' }, headers);
    const units = this.feed.units(symbol);
    const px = (tick: number): string => decimalToString(tick * units.tickMantissa, PRICE_EXPONENT);
    const qty = (lots: number): string => decimalToString(lots * units.lotMantissa, QTY_EXPONENT);
    const limitParam = (def: number, max: number): number => Math.min(max, Math.max(1, Number(url.searchParams.get('limit') ?? def) || def));

    switch (endpoint) {
      case '/api/v3/depth': {
        const limit = limitParam(100, 5000);
        const snap = this.feed.depthSnapshot(symbol, limit);
        return send(
          200,
          {
            lastUpdateId: snap.lastUpdateId,
            bids: snap.bids.map((l) => [px(l.tick), qty(l.lots)]),
            asks: snap.asks.map((l) => [px(l.tick), qty(l.lots)]),
          },
          headers,
        );
      }
      case '/api/v3/trades':
      case '/api/v3/historicalTrades': {
        const limit = limitParam(500, 1000);
        const all = this.feed.recentTrades(symbol);
        const fromId = url.searchParams.get('fromId');
        let slice: readonly (typeof all)[number][];
        if (fromId !== null && endpoint === '/api/v3/historicalTrades') {
          const first = all.findIndex((t) => t.id >= Number(fromId));
          slice = first < 0 ? [] : all.slice(first, first + limit);
        } else slice = all.slice(-limit);
        return send(
          200,
          slice.map((t) => ({
            id: t.id,
            price: px(t.tick),
            qty: qty(t.lots),
            quoteQty: decimalToString(BigInt(t.tick * units.tickMantissa) * BigInt(t.lots * units.lotMantissa), PRICE_EXPONENT + QTY_EXPONENT),
            time: time(t.timeUs),
            isBuyerMaker: t.isBuyerMaker,
            isBestMatch: true,
          })),
          headers,
        );
      }
      case '/api/v3/aggTrades': {
        const limit = limitParam(500, 1000);
        let all = this.feed.recentAggTrades(symbol);
        const fromId = url.searchParams.get('fromId');
        const start = url.searchParams.get('startTime');
        const end = url.searchParams.get('endTime');
        const toUs = (v: string): number => (Number(v) >= 1e15 ? Number(v) : Number(v) * 1000);
        if (fromId !== null) all = all.filter((a) => a.aggId >= Number(fromId));
        if (start !== null) all = all.filter((a) => a.timeUs >= toUs(start));
        if (end !== null) all = all.filter((a) => a.timeUs <= toUs(end));
        const slice = fromId !== null || start !== null ? all.slice(0, limit) : all.slice(-limit);
        return send(
          200,
          slice.map((a) => ({ a: a.aggId, p: px(a.tick), q: qty(a.lots), f: a.firstId, l: a.lastId, T: time(a.timeUs), m: a.isBuyerMaker, M: true })),
          headers,
        );
      }
      default:
        return notFound();
    }
  }

  private weightOf(endpoint: string, url: URL): number | undefined {
    switch (endpoint) {
      case '/api/v3/ping':
      case '/api/v3/time':
        return 1;
      case '/api/v3/exchangeInfo':
        return 20;
      case '/api/v3/depth':
        return depthWeight(Math.min(5000, Number(url.searchParams.get('limit') ?? 100) || 100));
      case '/api/v3/trades':
      case '/api/v3/historicalTrades':
        return 25;
      case '/api/v3/aggTrades':
        return 4;
      default:
        return undefined;
    }
  }

  private window(ip: string, nowMs: number): WeightWindow {
    const minute = Math.floor(nowMs / 60_000);
    let w = this.windows.get(ip);
    if (w === undefined) {
      if (this.windows.size >= MAX_TRACKED_CLIENTS) this.forgetIdleClients(minute, nowMs);
      this.windows.set(ip, (w = { minute, used: 0, violations: 0, bannedUntilMs: 0 }));
    }
    if (w.minute !== minute) {
      w.minute = minute;
      w.used = 0;
      w.violations = 0;
    }
    return w;
  }

  /** Drops the windows of clients with nothing counted this minute and no ban running: they start afresh anyway. */
  private forgetIdleClients(minute: number, nowMs: number): void {
    for (const [ip, w] of this.windows) if (w.minute !== minute && w.bannedUntilMs <= nowMs) this.windows.delete(ip);
  }

  private exchangeInfo(time: (us: number) => number): unknown {
    return {
      timezone: 'UTC',
      serverTime: time(this.feed.simTimeUs),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: this.config.restWeightPerMinute },
        { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
      ],
      exchangeFilters: [],
      symbols: this.feed.symbols.map((s) => {
        const spec = this.feed.spec(s);
        return {
          symbol: spec.symbol,
          status: 'TRADING',
          baseAsset: spec.baseAsset,
          baseAssetPrecision: 8,
          quoteAsset: spec.quoteAsset,
          quotePrecision: 8,
          quoteAssetPrecision: 8,
          orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
          isSpotTradingAllowed: true,
          filters: [
            { filterType: 'PRICE_FILTER', minPrice: spec.tickSize, maxPrice: '1000000.00000000', tickSize: spec.tickSize },
            { filterType: 'LOT_SIZE', minQty: spec.stepSize, maxQty: '9000.00000000', stepSize: spec.stepSize },
          ],
        };
      }),
    };
  }
}
