/**
 * The SBE WebSocket side: Binance's URL forms, API-key handshake, JSON
 * control messages, keepalive, lifetime, incoming rate limit, and the fan-out
 * of feed frames (through the fault pipeline) to subscribed connections.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '@hotpath/telemetry';
import type { Frame, StreamKind } from '@hotpath/market';
import { systemClock, type Clock, type ClockTimer } from '../clock.ts';
import type { SimConfig } from '../config.ts';
import type { ExchangeSimErrorCode } from '../errors.ts';
import { problemOf, requestUrl, writeRawResponse, type Problem, type RequestError } from '../http.ts';
import type { FaultState } from '../faults/faults.ts';
import { FrameFaults } from '../faults/frame-faults.ts';
import type { SimMetrics } from '../metrics.ts';

const KINDS: readonly StreamKind[] = ['trade', 'bestBidAsk', 'depth', 'depth20'];
const MAX_CONTROL_MESSAGE_BYTES = 64 * 1024;

/** A stream name the simulator does not serve (malformed, unknown kind or symbol): the client's message names it back. */
export class StreamNameError extends Error {
  override readonly name = 'StreamNameError';
  readonly code: ExchangeSimErrorCode = 'bad_stream_name';
}

/** `btcusdt@depth` → its canonical form, or a StreamNameError. */
export function parseStreamName(name: string, isSimulated: (symbol: string) => boolean): string {
  const at = name.indexOf('@');
  const symbol = name.slice(0, at);
  const kind = name.slice(at + 1) as StreamKind;
  if (at <= 0 || symbol !== symbol.toLowerCase() || !KINDS.includes(kind)) {
    throw new StreamNameError(`Invalid stream name: ${JSON.stringify(name)}`);
  }
  if (!isSimulated(symbol.toUpperCase())) throw new StreamNameError(`Unknown symbol in stream: ${JSON.stringify(name)}`);
  return `${symbol}@${kind}`;
}

class Connection {
  readonly streams = new Set<string>();
  combined: boolean;
  lastPongMs: number;
  private windowStartMs = 0;
  private windowCount = 0;
  readonly timers: ClockTimer[] = [];

  constructor(
    readonly ws: WebSocket,
    combined: boolean,
    nowMs: number,
  ) {
    this.combined = combined;
    this.lastPongMs = nowMs;
  }

  /** Counts an incoming message; false when the connection exceeded its per-second allowance. */
  allowIncoming(nowMs: number, max: number): boolean {
    if (nowMs - this.windowStartMs >= 1000) {
      this.windowStartMs = nowMs;
      this.windowCount = 0;
    }
    return ++this.windowCount <= max;
  }
}

export class StreamHub {
  // Control messages are a few hundred bytes; ws would otherwise buffer up to 100 MiB of one.
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_CONTROL_MESSAGE_BYTES });
  private readonly connections = new Set<Connection>();
  private readonly subscribers = new Map<string, Set<Connection>>();
  /** symbol (as the feed spells it) → kind → stream name: built once, so a frame costs no string work. */
  private readonly streamNames = new Map<string, Partial<Record<StreamKind, string>>>();
  /** framesSent per stream kind, bound once (no label lookup per frame). */
  private readonly framesSentOfKind = new Map<StreamKind, ReturnType<SimMetrics['framesSent']['labels']>>();
  private readonly frameFaults: FrameFaults;

  constructor(
    private readonly config: SimConfig,
    private readonly faults: FaultState,
    private readonly metrics: SimMetrics,
    private readonly log: Logger,
    private readonly isSimulated: (symbol: string) => boolean,
    private readonly clock: Clock = systemClock,
  ) {
    this.frameFaults = new FrameFaults(faults, config.seed, () => this.now());
  }

  private subscribersOf(frame: Frame): Set<Connection> | undefined {
    let names = this.streamNames.get(frame.symbol);
    if (names === undefined) this.streamNames.set(frame.symbol, (names = {}));
    const name = (names[frame.kind] ??= `${frame.symbol.toLowerCase()}@${frame.kind}`);
    return this.subscribers.get(name);
  }

  private now(): number {
    return this.clock.now();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * HTTP upgrade: authenticate, parse the URL, check capacity, then accept.
   * Whatever the request holds, it ends in an answer or a cut socket, never an
   * exception out of here (one would end the process).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until ws owns the socket nobody listens for its errors (a reset mid-refusal would be uncaught).
    const onSocketError = (): void => void socket.destroy();
    socket.on('error', onSocketError);
    try {
      this.upgrade(req, socket, head, () => socket.off('error', onSocketError));
    } catch (err) {
      this.metrics.rejectedHandshakes.inc({ reason: 'internal' });
      this.log.error({ err }, 'upgrade request failed');
      socket.destroy();
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, onAccepted: () => void): void {
    let url: URL;
    try {
      url = requestUrl(req);
    } catch (err) {
      this.metrics.rejectedHandshakes.inc({ reason: (err as RequestError).code });
      return rejectProblem(socket, problemOf(400, 'Bad request', (err as RequestError).detail));
    }
    const key = req.headers['x-mbx-apikey'];
    const keyOk = typeof key === 'string' && key !== '' && (this.config.apiKeys.length === 0 || this.config.apiKeys.includes(key));
    if (!keyOk) {
      this.metrics.rejectedHandshakes.inc({ reason: 'api_key' });
      return reject(socket, 401, { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' });
    }
    let streams: string[];
    let combined: boolean;
    try {
      if (url.pathname === '/stream') {
        combined = true;
        const list = url.searchParams.get('streams') ?? '';
        streams = list === '' ? [] : list.split('/').map((s) => parseStreamName(s, this.isSimulated));
      } else if (url.pathname === '/ws' || url.pathname.startsWith('/ws/')) {
        combined = false;
        const rest = url.pathname.slice(4);
        streams = rest === '' ? [] : rest.split('/').map((s) => parseStreamName(s, this.isSimulated));
      } else {
        this.metrics.rejectedHandshakes.inc({ reason: 'path' });
        return rejectProblem(socket, problemOf(404, 'Not found', `no stream endpoint ${url.pathname}`));
      }
    } catch (err) {
      if (!(err instanceof StreamNameError)) throw err;
      this.metrics.rejectedHandshakes.inc({ reason: err.code });
      // the message goes back to the client, as Binance answers: it quotes only the stream name the client sent
      return reject(socket, 400, { code: -1121, msg: err.message });
    }
    if (streams.length > this.config.maxStreamsPerConnection) {
      this.metrics.rejectedHandshakes.inc({ reason: 'streams' });
      return reject(socket, 400, { code: -1, msg: `Too many streams (max ${this.config.maxStreamsPerConnection})` });
    }
    if (this.connections.size >= this.config.maxConnections) {
      this.metrics.rejectedHandshakes.inc({ reason: 'capacity' });
      return rejectProblem(socket, problemOf(503, 'Too many connections', `at most ${this.config.maxConnections} stream connections`), { 'Retry-After': '1' });
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      onAccepted();
      this.accept(ws, streams, combined);
    });
  }

  private accept(ws: WebSocket, streams: string[], combined: boolean): void {
    const conn = new Connection(ws, combined, this.now());
    this.connections.add(conn);
    this.metrics.connections.set(this.connections.size);
    for (const s of streams) this.subscribe(conn, s);
    this.log.info({ streams, combined }, 'stream connection opened');

    conn.timers.push(
      this.clock.setInterval(() => {
        if (this.now() - conn.lastPongMs > this.config.pongTimeoutMs) {
          this.metrics.disconnects.inc({ reason: 'pong_timeout' });
          ws.terminate();
          return;
        }
        ws.ping(Buffer.from(String(this.now())));
      }, this.config.pingIntervalMs),
    );
    conn.timers.push(
      this.clock.setTimeout(() => {
        this.metrics.disconnects.inc({ reason: 'lifetime' });
        ws.close(1000, 'connection lifetime exceeded');
      }, this.config.maxConnectionSeconds * 1000),
    );
    ws.on('pong', () => {
      conn.lastPongMs = this.now();
      this.countIncoming(conn);
    });
    ws.on('ping', () => this.countIncoming(conn));
    ws.on('message', (data, isBinary) => {
      if (!this.countIncoming(conn)) return;
      if (isBinary) return this.reply(conn, { code: 3, msg: 'Binary control messages are not supported', id: null });
      this.control(conn, data.toString());
    });
    ws.on('close', () => this.drop(conn));
    ws.on('error', (err) => this.log.warn({ err }, 'stream connection error'));
  }

  private countIncoming(conn: Connection): boolean {
    if (conn.allowIncoming(this.now(), this.config.maxIncomingPerSecond)) return true;
    this.metrics.disconnects.inc({ reason: 'rate_limit' });
    conn.ws.close(1008, 'Too many messages');
    return false;
  }

  private control(conn: Connection, text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    // `null`, `5`, `[]` parse as JSON too; only an object is a request.
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return this.reply(conn, { code: 3, msg: 'Invalid JSON: expected a JSON object', id: null });
    }
    const req = parsed as { method?: unknown; params?: unknown; id?: unknown };
    const id = req.id ?? null;
    if (!(id === null || (typeof id === 'number' && Number.isInteger(id)) || (typeof id === 'string' && /^[A-Za-z0-9-]{1,36}$/.test(id)))) {
      return this.reply(conn, { code: 1, msg: "Invalid value type: expected the 'id' to be an integer, a string of up to 36 characters, or null", id: null });
    }
    const params = req.params;
    switch (req.method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        if (!Array.isArray(params) || params.some((p) => typeof p !== 'string')) {
          return this.reply(conn, { code: 1, msg: "Invalid value type: expected 'params' to be an array of strings", id });
        }
        let names: string[];
        try {
          names = (params as string[]).map((p) => parseStreamName(p, this.isSimulated));
        } catch (err) {
          // the message goes back to the client, as Binance answers: a StreamNameError quotes only the stream name the client sent
          return this.reply(conn, { code: 2, msg: err instanceof StreamNameError ? `Invalid request: ${err.message}` : 'Invalid request', id });
        }
        if (req.method === 'SUBSCRIBE') {
          if (conn.streams.size + names.length > this.config.maxStreamsPerConnection) {
            return this.reply(conn, { code: 2, msg: `Invalid request: too many streams (max ${this.config.maxStreamsPerConnection})`, id });
          }
          for (const n of names) this.subscribe(conn, n);
        } else for (const n of names) this.unsubscribe(conn, n);
        return this.reply(conn, { result: null, id });
      }
      case 'LIST_SUBSCRIPTIONS':
        return this.reply(conn, { result: [...conn.streams], id });
      case 'SET_PROPERTY':
        if (Array.isArray(params) && params[0] === 'combined' && typeof params[1] === 'boolean') {
          conn.combined = params[1];
          return this.reply(conn, { result: null, id });
        }
        return this.reply(conn, { code: 2, msg: 'Invalid request: unknown property', id });
      case 'GET_PROPERTY':
        if (Array.isArray(params) && params[0] === 'combined') return this.reply(conn, { result: conn.combined, id });
        return this.reply(conn, { code: 2, msg: 'Invalid request: unknown property', id });
      default:
        return this.reply(conn, { code: 2, msg: `Invalid request: unknown method ${JSON.stringify(req.method)}`, id });
    }
  }

  private reply(conn: Connection, body: unknown): void {
    conn.ws.send(JSON.stringify(body));
  }

  private subscribe(conn: Connection, stream: string): void {
    conn.streams.add(stream);
    let set = this.subscribers.get(stream);
    if (set === undefined) this.subscribers.set(stream, (set = new Set()));
    set.add(conn);
  }

  private unsubscribe(conn: Connection, stream: string): void {
    conn.streams.delete(stream);
    this.subscribers.get(stream)?.delete(conn);
  }

  private drop(conn: Connection): void {
    for (const t of conn.timers) t.cancel();
    for (const s of conn.streams) this.subscribers.get(s)?.delete(conn);
    this.connections.delete(conn);
    this.metrics.connections.set(this.connections.size);
  }

  /** One feed frame through the stream faults (faults/frame-faults.ts) to its subscribers. */
  publish(frame: Frame): void {
    // Frames nobody receives neither travel nor use up armed faults.
    const set = this.subscribersOf(frame);
    if (set === undefined || set.size === 0) return;
    this.frameFaults.pass(frame, this.deliverBytes);
  }

  /** Sends `bytes` (the frame's own, or what a fault made of them) to the frame's subscribers. */
  private readonly deliverBytes = (frame: Frame, bytes: Buffer): void => {
    const set = this.subscribersOf(frame);
    if (set === undefined || set.size === 0) return;
    const limit = this.config.maxBufferedBytes;
    for (const conn of set) {
      // A client that stops reading would hold every later frame in memory: cut it, as Binance does.
      if (conn.ws.bufferedAmount > limit) {
        this.cutSlowConsumer(conn);
        continue;
      }
      conn.ws.send(bytes, { binary: true });
    }
    let sent = this.framesSentOfKind.get(frame.kind);
    if (sent === undefined) this.framesSentOfKind.set(frame.kind, (sent = this.metrics.framesSent.labels({ stream: frame.kind })));
    sent.inc(set.size);
  };

  private cutSlowConsumer(conn: Connection): void {
    this.metrics.disconnects.inc({ reason: 'slow_consumer' });
    this.log.warn({ bufferedBytes: conn.ws.bufferedAmount, streams: [...conn.streams] }, 'stream connection cut: client does not read');
    // A close frame would wait behind the backlog; terminate frees it now.
    conn.ws.terminate();
    this.drop(conn);
  }

  /** Binance's maintenance notice, then the disconnect of the connections that got it (new ones land elsewhere). */
  serverShutdown(closeAfterMs: number): void {
    const text = JSON.stringify({ e: 'serverShutdown', E: this.now() });
    const notified = [...this.connections];
    for (const c of notified) c.ws.send(text);
    this.faults.count('serverShutdown');
    this.clock.setTimeout(
      () => {
        for (const c of notified) {
          this.metrics.disconnects.inc({ reason: 'server_shutdown' });
          c.ws.close(1001, 'server shutdown');
        }
      },
      closeAfterMs,
      { unref: true },
    );
  }

  closeAll(reason: string): void {
    for (const c of this.connections) {
      this.metrics.disconnects.inc({ reason: 'closed' });
      c.ws.close(1001, reason);
    }
  }

  terminateAll(): void {
    for (const c of [...this.connections]) {
      c.ws.terminate();
      this.drop(c);
    }
  }
}

/** A refusal in Binance's `{code, msg}` shape (what a Binance client parses). */
function reject(socket: Duplex, status: number, body: unknown): void {
  writeRawResponse(socket, status, 'application/json', body);
}

/** A refusal Binance has no shape for: a problem object. */
function rejectProblem(socket: Duplex, problem: Problem, headers: Record<string, string> = {}): void {
  writeRawResponse(socket, problem.status, 'application/problem+json', problem, headers);
}
