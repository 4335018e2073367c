/**
 * Composition: market feed + clock + stream hub + REST + admin/health/metrics
 * on one HTTP server (Binance serves streams and REST on separate hosts; the
 * simulator puts both on one port, by path).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MarketFeed, ReplayFeed, type Frame, type MarketSource } from '@hotpath/market';
import { Counter, createLogger, createRegistry, type Logger, type Registry } from '@hotpath/telemetry';
import { parseTraceparent, SpanStatusCode, spanClock, Tracing } from '@hotpath/tracing';
import { systemClock, type Clock, type ClockTimer } from './clock.ts';
import type { SimConfig } from './config.ts';
import type { Duplex } from 'node:stream';
import { AdminApi, InvalidFaultError } from './admin.ts';
import { FaultState, type Fault } from './faults/faults.ts';
import { problemOf, requestUrl, RequestError, sendProblem, writeRawResponse } from './http.ts';
import { createSimMetrics, type SimMetrics } from './metrics.ts';
import { RestApi } from './rest/rest.ts';
import { StreamHub } from './stream/hub.ts';

const TICK_MS = 2;
/** Idle keep-alive connections are closed after this (Node's default, stated: the deadline is part of the contract). */
const KEEP_ALIVE_TIMEOUT_MS = 5000;

export interface SimulatorOptions {
  log?: Logger;
  /** What drives the market and every deadline; the system clock unless a test brings its own (a ManualClock). */
  clock?: Clock;
  /** The OTEL_* variables (default process.env): REST requests that carry a sampled `traceparent` get a server span. */
  tracingEnv?: NodeJS.ProcessEnv;
}

/** How long a stop waits for the last spans to reach the collector. */
const TRACE_FLUSH_MS = 2_000;

export class ExchangeSimulator {
  readonly feed: MarketSource;
  readonly faults: FaultState;
  readonly registry: Registry;
  readonly metrics: SimMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  /**
   * OpenTelemetry (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set). Like an
   * exchange, the simulator never starts a trace: it joins the trace of a
   * REST caller that sends a sampled W3C `traceparent` (the ingestor's
   * re-anchor and backfill calls), one server span per request.
   */
  readonly tracing: Tracing;
  private readonly traceContextInvalid: Counter;
  private readonly hub: StreamHub;
  private readonly rest: RestApi;
  private readonly admin: AdminApi;
  private readonly server: Server;
  private timer: ClockTimer | undefined;
  private clockStartMs = 0;
  private simStartUs: number;
  private started = false;

  constructor(
    readonly config: SimConfig,
    options: SimulatorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? createLogger({ service: 'exchange-sim', level: config.logLevel });
    this.registry = createRegistry('exchange-sim');
    this.metrics = createSimMetrics(this.registry);
    this.faults = new FaultState((type) => this.metrics.faults.inc({ fault: type }));
    this.tracing = new Tracing({ service: 'exchange-sim', version: new URL('../package.json', import.meta.url), registry: this.registry, log: this.log, env: options.tracingEnv });
    this.traceContextInvalid = new Counter({
      name: 'exchange_sim_trace_context_invalid_total',
      help: 'REST requests whose traceparent header was malformed and ignored (the request itself was answered)',
      registers: [this.registry],
    });
    if (config.replay.length > 0) {
      const replay = new ReplayFeed(config.replay, config.symbols[0]);
      this.feed = replay;
      this.simStartUs = replay.firstTimeUs;
    } else {
      this.simStartUs = config.startTimeUs ?? this.clock.now() * 1000;
      this.feed = new MarketFeed({ symbols: config.symbols, seed: config.seed, startTimeUs: this.simStartUs });
    }
    this.hub = new StreamHub(config, this.faults, this.metrics, this.log, (s) => this.feed.has(s), this.clock);
    this.rest = new RestApi(config, this.feed, this.faults, this.metrics, this.clock);
    this.admin = new AdminApi({ token: config.adminToken, isSimulated: (s) => this.feed.has(s), inject: (f) => this.inject(f), injected: this.faults.injected });
    this.server = createServer({
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      // Node checks both deadlines on this interval (default 30 s, longer than a short deadline).
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.headersTimeoutMs / 4)),
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.route(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.hub.handleUpgrade(req, socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    // A fault on a symbol nobody simulates would throw from the market clock later; refuse it at start instead.
    for (const { fault } of config.faults) {
      if ('symbol' in fault && !this.feed.has(fault.symbol.toUpperCase())) throw new Error(`SIM_FAULTS: ${fault.type} names ${JSON.stringify(fault.symbol)}, which is not simulated (SIM_SYMBOLS)`);
    }
    // Scheduled faults fire in order of their time.
    this.config.faults.sort((a, b) => a.atSeconds - b.atSeconds);
  }

  /** Base URLs once listening. */
  get urls(): { ws: string; rest: string } {
    const addr = this.server.address() as AddressInfo;
    return { ws: `ws://${this.config.host}:${addr.port}`, rest: `http://${this.config.host}:${addr.port}` };
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => resolve());
    });
    this.clockStartMs = this.clock.monotonicMs();
    this.started = true;
    this.timer = this.clock.setInterval(() => this.tick(), TICK_MS);
    this.log.info({ ...this.urls, seed: this.config.seed, speed: this.config.speed, symbols: this.config.symbols }, 'exchange simulator listening');
  }

  /** Advances the market to the simulated time that corresponds to now. */
  private tick(): void {
    const target = this.simStartUs + Math.floor((this.clock.monotonicMs() - this.clockStartMs) * 1000 * this.config.speed);
    this.fireScheduledFaults();
    this.feed.advanceTo(target, this.onFrame);
    this.metrics.simulatedSeconds.set((this.feed.simTimeUs - this.simStartUs) / 1e6);
  }

  private scheduleIndex = 0;

  /** Fires config-scheduled faults whose simulated time has come. */
  private fireScheduledFaults(): void {
    const schedule = this.config.faults;
    while (this.scheduleIndex < schedule.length) {
      const next = schedule[this.scheduleIndex]!;
      if (this.feed.simTimeUs - this.simStartUs < next.atSeconds * 1e6) return;
      this.scheduleIndex++;
      this.inject(next.fault);
    }
  }

  private readonly onFrame = (frame: Frame): void => {
    this.metrics.framesGenerated.inc({ stream: frame.kind });
    this.hub.publish(frame);
  };

  /** A request Node could not parse, or one that missed its deadline: answered (400/408), counted and cut, never thrown. */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    this.metrics.rejectedRequests.inc({ reason: 'client_error' });
    this.log.debug({ err }, 'malformed or timed-out request');
    if (err.code !== 'ECONNRESET' && socket.writable) {
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      writeRawResponse(socket, status, 'application/problem+json', problemOf(status, status === 408 ? 'Request timeout' : 'Bad request'));
    }
    // Not left half-open: Node would report the same late request again at its next deadline check.
    socket.destroy();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.hub.terminateAll();
    if (this.started) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.started = false;
    await this.tracing.shutdown(AbortSignal.timeout(TRACE_FLUSH_MS));
  }

  /** The server span of a REST request whose caller's trace is sampled; it ends when the answer is written (or the socket cut). */
  private serverSpan(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    if (!this.tracing.enabled) return;
    const parent = parseTraceparent(req.headers.traceparent);
    if (parent === 'malformed') return void this.traceContextInvalid.inc();
    if (parent === undefined || (parent.traceFlags & 1) === 0) return;
    const span = this.tracing.startChild(`GET ${pathname}`, parent);
    span.setAttribute('http.request.method', 'GET');
    span.setAttribute('url.path', pathname);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.statusCode}` });
      span.end(spanClock());
    });
  }

  /** Every request ends here in an answer: an exception out of a handler would be an unhandled rejection, and end the process. */
  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = requestUrl(req);
      if (this.rest.handles(url.pathname) && req.method === 'GET') {
        this.serverSpan(req, res, url.pathname);
        return await this.rest.handle(req, res, url);
      }
      if (this.admin.handles(url.pathname)) return await this.admin.handle(req, res);
      if (url.pathname === '/health') {
        return json(res, 200, { status: 'ok', simulatedSeconds: (this.feed.simTimeUs - this.simStartUs) / 1e6, connections: this.hub.connectionCount });
      }
      if (url.pathname === '/metrics') {
        res.writeHead(200, { 'Content-Type': this.registry.contentType });
        return void res.end(await this.registry.metrics());
      }
      throw new RequestError(404, 'not_found', 'Not found', `no ${req.method ?? ''} ${url.pathname}`);
    } catch (err) {
      this.refuse(res, err);
    }
  }

  private refuse(res: ServerResponse, err: unknown): void {
    if (err instanceof RequestError) {
      this.metrics.rejectedRequests.inc({ reason: err.code });
      const errors = err instanceof InvalidFaultError ? err.errors : undefined;
      const headers: Record<string, string> = err.status === 413 ? { Connection: 'close' } : err.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : err.status === 405 ? { Allow: 'GET, POST' } : {};
      return sendProblem(res, problemOf(err.status, err.title, err.detail, errors), headers);
    }
    this.metrics.rejectedRequests.inc({ reason: 'internal' });
    this.log.error({ err }, 'request failed');
    sendProblem(res, problemOf(500, 'Internal error'));
  }

  /** Arms or executes a fault (the admin API and tests both come here). */
  inject(fault: Fault): void {
    this.log.warn({ fault }, 'fault injected');
    switch (fault.type) {
      case 'closeConnections':
        this.faults.count('closeConnections');
        this.hub.closeAll('fault: close');
        return;
      case 'serverShutdown':
        this.hub.serverShutdown(fault.closeAfterMs);
        return;
      case 'freeze': {
        this.feed.setFrozen(fault.symbol, true);
        this.faults.count('freeze');
        this.clock.setTimeout(() => this.feed.setFrozen(fault.symbol, false), fault.ms, { unref: true });
        return;
      }
      default:
        this.faults.arm(fault, this.clock.now());
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
