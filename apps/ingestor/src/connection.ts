/**
 * The exchange connection: combined SBE streams with the API key header,
 * pong on every ping (the ws library answers automatically), a watchdog for
 * a silent stream, reconnect with exponential backoff and full jitter, and
 * make-before-break switch-over on serverShutdown and before the 24 h limit:
 * the next connection is opened first and the old one closed once the new
 * one delivers, the tracker dropping the overlap.
 */
import WebSocket from 'ws';
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
}

interface Conn {
  ws: WebSocket;
  epoch: number;
  lastMessageMs: number;
  gotFrame: boolean;
}

export class ExchangeConnection {
  private live: Conn | undefined;
  private incoming: Conn | undefined;
  /** Epochs grow across restarts too: they start at the wall-clock second (uint32 until 2106). */
  private epoch = Math.floor(Date.now() / 1000);
  private attempts = 0;
  private stopped = false;
  private watchdog: NodeJS.Timeout | undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
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
    for (const t of [this.watchdog, this.rotateTimer, this.reconnectTimer]) if (t !== undefined) clearTimeout(t);
    this.live?.ws.close(1000, 'shutdown');
    this.incoming?.ws.close(1000, 'shutdown');
    this.status.set(0);
  }

  private open(reason: string, switchover: boolean): void {
    if (this.stopped) return;
    const epoch = ++this.epoch;
    this.reconnections.inc({ reason });
    const ws = new WebSocket(this.options.url, { headers: { 'X-MBX-APIKEY': this.options.apiKey }, perMessageDeflate: false });
    const conn: Conn = { ws, epoch, lastMessageMs: Date.now(), gotFrame: false };
    if (switchover) this.incoming = conn;
    ws.on('open', () => {
      this.log.info({ epoch, reason, switchover }, 'stream connection open');
      if (!switchover) this.promote(conn, false);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const now = Date.now();
      conn.lastMessageMs = now;
      if (!isBinary) return this.onText(conn, data);
      if (switchover && !conn.gotFrame && this.incoming === conn) this.promote(conn, true);
      conn.gotFrame = true;
      this.lastMessageMs = now;
      this.events.frame(data, epoch, now * 1000);
    });
    ws.on('close', (code, why) => this.onClose(conn, code, why.toString()));
    ws.on('error', (err) => this.log.warn({ epoch, err: err.message }, 'stream connection error'));
  }

  /** Makes `conn` the live connection; in a switch-over the previous one is closed now. */
  private promote(conn: Conn, switchover: boolean): void {
    const previous = this.live;
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
    let msg: { e?: string };
    try {
      msg = JSON.parse(data.toString()) as { e?: string };
    } catch {
      this.textFrames.inc({ type: 'invalid' });
      return;
    }
    this.textFrames.inc({ type: msg.e ?? 'reply' });
    if (msg.e === 'serverShutdown' && conn === this.live) this.switchOver('serverShutdown');
  }

  private onClose(conn: Conn, code: number, why: string): void {
    if (conn === this.incoming) this.incoming = undefined;
    if (conn !== this.live) return; // a replaced or abandoned connection
    this.live = undefined;
    this.status.set(0);
    if (this.stopped) return;
    // The replacement of a make-before-break switch may already be connecting: let it take over.
    if (this.incoming !== undefined) {
      const next = this.incoming;
      if (next.ws.readyState === WebSocket.OPEN) this.promote(next, true);
      return;
    }
    this.events.lost(conn.epoch, `closed ${code} ${why}`);
    this.scheduleReconnect(`closed_${code}`);
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped || this.reconnectTimer !== undefined) return;
    const cap = Math.min(this.options.reconnectMaxMs, this.options.reconnectBaseMs * 2 ** this.attempts++);
    const delay = Math.random() * cap; // full jitter
    this.log.warn({ reason, delayMs: Math.round(delay) }, 'reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open(reason, false);
    }, delay);
  }

  private checkWatchdog(): void {
    const conn = this.live;
    if (conn === undefined || this.stopped) return;
    if (Date.now() - conn.lastMessageMs > this.options.watchdogMs) {
      this.log.warn({ epoch: conn.epoch, quietMs: Date.now() - conn.lastMessageMs }, 'stream quiet: reconnecting');
      this.live = undefined;
      this.status.set(0);
      conn.ws.terminate();
      this.events.lost(conn.epoch, 'watchdog');
      this.scheduleReconnect('watchdog');
    }
  }
}
