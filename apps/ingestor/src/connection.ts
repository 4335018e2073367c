/**
 * The exchange connection: combined SBE streams with the API key header,
 * pong on every ping (the ws library answers automatically), a watchdog for
 * a silent stream, reconnect with exponential backoff and full jitter, and
 * make-before-break switch-over on serverShutdown and before the 24 h limit:
 * the next connection is opened first and the old one closed once the new
 * one delivers, the tracker dropping the overlap.
 */
import WebSocket from 'ws';
import { backoffDelay } from '@hotpath/service';
import { Counter, Gauge, type Logger, type Registry } from '@hotpath/telemetry';

export interface ConnectionEvents {
  /** A binary frame, with its receive time in µs. */
  frame(data: Buffer, epoch: number, receiveTimeUs: number): void;
  /** A connection became the live one; `switchover` = make-before-break (no re-anchor needed). */
  live(epoch: number, previousEpoch: number, switchover: boolean): void;
  /** The live connection was lost without a replacement. */
  lost(epoch: number, reason: string): void;
}

export interface ConnectionOptions {
  url: string;
  apiKey: string;
  watchdogMs: number;
  rotateAfterSeconds: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** The largest frame accepted from the exchange (ws maxPayload). */
  maxFrameBytes: number;
}

/** The text frame types the ingestor knows; anything else is `other` (or `invalid` when not a JSON object). */
const TEXT_FRAME_TYPES = new Set(['serverShutdown']);

export function textFrameType(data: Buffer): string {
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString());
  } catch {
    return 'invalid';
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'invalid';
  const e = (msg as { e?: unknown }).e;
  if (e === undefined) return 'reply';
  return typeof e === 'string' && TEXT_FRAME_TYPES.has(e) ? e : 'other';
}

interface Conn {
  ws: WebSocket;
  epoch: number;
  lastMessageMs: number;
  gotFrame: boolean;
  /** Promoted without a re-anchor: the connection it replaces kept delivering until this one was subscribed. */
  gapless: boolean;
}

export class ExchangeConnection {
  private live: Conn | undefined;
  private incoming: Conn | undefined;
  /**
   * This process's connection generation, from 1. It orders connections within
   * one writer only: across restarts the writer id tells processes apart
   * (contract 2), so no clock is involved.
   */
  private epoch = 0;
  private attempts = 0;
  private stopped = false;
  private watchdog: NodeJS.Timeout | undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private switchRetryTimer: NodeJS.Timeout | undefined;
  private readonly status: Gauge;
  private readonly reconnections: Counter<'reason'>;
  private readonly textFrames: Counter<'type'>;
  lastMessageMs = 0;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.status = new Gauge({ name: 'ingestor_sbe_connection_status', help: '1 when the SBE stream is connected', registers: [registry] });
    this.reconnections = new Counter({ name: 'ingestor_sbe_reconnections_total', help: 'WebSocket (re)connections by reason', labelNames: ['reason'], registers: [registry] });
    this.textFrames = new Counter({ name: 'ingestor_sbe_text_frames_total', help: 'JSON text frames received', labelNames: ['type'], registers: [registry] });
  }

  get connected(): boolean {
    return this.live !== undefined && this.live.ws.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.open('initial', false);
    this.watchdog = setInterval(() => this.checkWatchdog(), Math.max(50, Math.floor(this.options.watchdogMs / 4)));
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.watchdog, this.rotateTimer, this.reconnectTimer, this.switchRetryTimer]) if (t !== undefined) clearTimeout(t);
    this.live?.ws.close(1000, 'shutdown');
    this.incoming?.ws.close(1000, 'shutdown');
    this.status.set(0);
  }

  private open(reason: string, switchover: boolean): void {
    if (this.stopped) return;
    const epoch = ++this.epoch;
    this.reconnections.inc({ reason });
    // maxPayload: a larger frame closes the connection (1009) instead of being buffered; nothing Binance sends comes near it
    const ws = new WebSocket(this.options.url, {
      headers: { 'X-MBX-APIKEY': this.options.apiKey },
      perMessageDeflate: false,
      maxPayload: this.options.maxFrameBytes,
      handshakeTimeout: this.options.watchdogMs,
    });
    const conn: Conn = { ws, epoch, lastMessageMs: Date.now(), gotFrame: false, gapless: switchover };
    if (switchover) this.incoming = conn;
    ws.on('open', () => {
      this.log.info({ epoch, reason, switchover }, 'stream connection open');
      // (a switch-over whose old connection died while this one was connecting is a new connection now)
      if (!conn.gapless && !this.stopped) this.promote(conn, false);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const now = Date.now();
      conn.lastMessageMs = now;
      if (!isBinary) return this.onText(conn, data);
      if (this.incoming === conn && !conn.gotFrame) this.promote(conn, conn.gapless);
      conn.gotFrame = true;
      this.lastMessageMs = now;
      this.events.frame(data, epoch, now * 1000);
    });
    ws.on('close', (code, why) => this.onClose(conn, code, why.toString()));
    ws.on('error', (err) => this.log.warn({ epoch, err }, 'stream connection error'));
  }

  /** Makes `conn` the live connection; in a switch-over the previous one is closed now. */
  private promote(conn: Conn, switchover: boolean, previous = this.live): void {
    this.live = conn;
    if (this.incoming === conn) this.incoming = undefined;
    this.attempts = 0;
    this.status.set(1);
    this.lastMessageMs = Date.now();
    if (this.rotateTimer !== undefined) clearTimeout(this.rotateTimer);
    this.rotateTimer = setTimeout(() => this.switchOver('rotation'), this.options.rotateAfterSeconds * 1000);
    this.events.live(conn.epoch, previous?.epoch ?? 0, switchover);
    if (previous !== undefined && previous !== conn) previous.ws.close(1000, 'switched over');
  }

  /** Make-before-break: open the next connection; the current one keeps delivering until it is live. */
  switchOver(reason: string): void {
    if (this.stopped || this.incoming !== undefined) return;
    this.log.info({ reason, from: this.live?.epoch }, 'switching connection (make-before-break)');
    this.open(reason, true);
  }

  private onText(conn: Conn, data: Buffer): void {
    const type = textFrameType(data);
    // a fixed label set: the exchange's text is not trusted to bound the metric's cardinality
    this.textFrames.inc({ type });
    if (type === 'serverShutdown' && conn === this.live) this.switchOver('serverShutdown');
  }

  private onClose(conn: Conn, code: number, why: string): void {
    if (conn === this.incoming) {
      this.incoming = undefined;
      // A switch-over that failed before it took over: the live connection (if any) carries on, try again later.
      if (this.live !== undefined) this.retrySwitchOver();
      else this.scheduleReconnect(`closed_${code}`);
      return;
    }
    if (conn !== this.live) {
      // The newest attempt failed before it opened (refused, handshake timeout) with nothing live: try again.
      // Any other connection that is not live was replaced or abandoned.
      if (this.live === undefined && this.incoming === undefined && conn.epoch === this.epoch) this.scheduleReconnect(`closed_${code}`);
      return;
    }
    this.liveLost(conn, `closed ${code} ${why}`, `closed_${code}`, true);
  }

  /**
   * The live connection is gone. A switch-over's connection that is already
   * subscribed takes over — without a re-anchor only if the old one was
   * delivering to the end (`delivering`; not after a silent stall). One still
   * connecting becomes an ordinary new connection: events between the old one's
   * end and its start were missed.
   */
  private liveLost(conn: Conn, why: string, reason: string, delivering: boolean): void {
    this.live = undefined;
    this.status.set(0);
    if (this.stopped) return;
    const next = this.incoming;
    if (next !== undefined && next.ws.readyState === WebSocket.OPEN) {
      this.promote(next, delivering, conn);
      return;
    }
    this.events.lost(conn.epoch, why);
    if (next !== undefined)
      next.gapless = false; // promoted when it opens
    else this.scheduleReconnect(reason);
  }

  private retrySwitchOver(): void {
    if (this.stopped || this.switchRetryTimer !== undefined) return;
    const delay = backoffDelay(this.attempts++, { baseMs: this.options.reconnectBaseMs, maxMs: this.options.reconnectMaxMs });
    this.log.warn({ delayMs: Math.round(delay) }, 'switch-over failed: the live connection carries on, retrying');
    this.switchRetryTimer = setTimeout(() => {
      this.switchRetryTimer = undefined;
      this.switchOver('switchover_retry');
    }, delay);
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped || this.reconnectTimer !== undefined) return;
    const delay = backoffDelay(this.attempts++, { baseMs: this.options.reconnectBaseMs, maxMs: this.options.reconnectMaxMs });
    this.log.warn({ reason, delayMs: Math.round(delay) }, 'reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open(reason, false);
    }, delay);
  }

  private checkWatchdog(): void {
    if (this.stopped) return;
    const now = Date.now();
    const next = this.incoming;
    // A switch-over connection that never delivers would block every later one.
    if (next !== undefined && now - next.lastMessageMs > this.options.watchdogMs) {
      this.log.warn({ epoch: next.epoch }, 'switch-over connection quiet: dropped');
      next.ws.terminate(); // its close retries the switch-over
    }
    const conn = this.live;
    if (conn === undefined) return;
    if (now - conn.lastMessageMs > this.options.watchdogMs) {
      this.log.warn({ epoch: conn.epoch, quietMs: now - conn.lastMessageMs }, 'stream quiet: reconnecting');
      conn.ws.terminate();
      this.liveLost(conn, 'watchdog', 'watchdog', false);
    }
  }
}
