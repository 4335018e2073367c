/**
 * A client written the way Binance documents it ("How to manage a local
 * order book correctly"), used to hold the simulator to the real protocol:
 * connect with an API key, buffer @depth diffs, fetch a REST snapshot,
 * discard what it covers, apply the rest, restart on a gap. It checks itself
 * against every @depth20 snapshot whose update id it has reached.
 */
import { DecodeStatus, spot } from '@hotpath/sbe';
import WebSocket from 'ws';
import { barrier, isBarrierReply } from './clocked.ts';

interface Diff {
  first: number;
  last: number;
  bids: [number, number][];
  asks: [number, number][];
}

export class BookClient {
  private ws: WebSocket | undefined;
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();
  private lastUpdateId = -1;
  private synced = false;
  private buffer: Diff[] = [];
  private syncing = false;
  private readonly decoder = new spot.SpotStreamDecoder();
  /** Gaps detected in the diff stream (each leads to a re-sync). */
  gaps = 0;
  /** depth20 snapshots compared against the local book, and how many differed. */
  checks = 0;
  desyncs = 0;
  snapshots = 0;
  /** @depth diffs received, buffered or applied. */
  diffsReceived = 0;
  diffsApplied = 0;
  decodeErrors = 0;
  pingsAnswered = 0;
  closed: { code: number; reason: string } | undefined;
  readonly textMessages: unknown[] = [];
  private checkEvery = 1;
  private depth20Seen = 0;

  constructor(
    private readonly wsBase: string,
    private readonly restBase: string,
    private readonly apiKey: string,
    private readonly symbol = 'BTCUSDT',
    options: { checkEvery?: number } = {},
  ) {
    this.checkEvery = options.checkEvery ?? 1;
  }

  async connect(): Promise<void> {
    const s = this.symbol.toLowerCase();
    const ws = new WebSocket(`${this.wsBase}/stream?streams=${s}@depth/${s}@depth20`, { headers: { 'X-MBX-APIKEY': this.apiKey } });
    this.ws = ws;
    ws.on('ping', () => this.pingsAnswered++); // ws answers every ping with a pong carrying its payload
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        const message = JSON.parse(data.toString()) as unknown;
        if (!isBarrierReply(message)) this.textMessages.push(message);
        return;
      }
      this.onFrame(data);
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    void this.resync();
  }

  close(): void {
    this.ws?.close();
  }

  /** Resolves once every frame the server sent before now has been handled (see `barrier`). */
  barrier(): Promise<void> {
    if (this.ws === undefined) throw new Error('not connected');
    return barrier(this.ws);
  }

  get isSynced(): boolean {
    return this.synced;
  }

  private onFrame(frame: Buffer): void {
    if (this.decoder.wrap(frame) !== DecodeStatus.Ok) {
      this.decodeErrors++;
      return;
    }
    if (this.decoder.templateId === spot.DepthDiffStreamEventDecoder.TEMPLATE_ID) {
      const d = this.decoder.depthDiffStreamEvent;
      this.diffsReceived++;
      const diff: Diff = { first: d.firstBookUpdateId, last: d.lastBookUpdateId, bids: [], asks: [] };
      const b = d.bids();
      while (b.next()) diff.bids.push([b.priceMantissa, b.qtyMantissa]);
      const a = d.asks();
      while (a.next()) diff.asks.push([a.priceMantissa, a.qtyMantissa]);
      if (!this.synced) {
        this.buffer.push(diff);
        return;
      }
      this.applyLive(diff);
    } else if (this.decoder.templateId === spot.DepthSnapshotStreamEventDecoder.TEMPLATE_ID) {
      const s = this.decoder.depthSnapshotStreamEvent;
      if (!this.synced || s.bookUpdateId !== this.lastUpdateId) return;
      if (this.depth20Seen++ % this.checkEvery !== 0) return;
      this.checks++;
      const want: string[] = [];
      const b = s.bids();
      while (b.next()) want.push(`b${b.priceMantissa}:${b.qtyMantissa}`);
      const a = s.asks();
      while (a.next()) want.push(`a${a.priceMantissa}:${a.qtyMantissa}`);
      const got = [...top(this.bids, 20, true).map(([p, q]) => `b${p}:${q}`), ...top(this.asks, 20, false).map(([p, q]) => `a${p}:${q}`)];
      if (want.join() !== got.join()) this.desyncs++;
    }
  }

  private applyLive(diff: Diff): void {
    if (diff.last <= this.lastUpdateId) return;
    if (diff.first > this.lastUpdateId + 1) {
      this.gaps++;
      this.synced = false;
      this.buffer = [diff];
      void this.resync();
      return;
    }
    this.apply(diff);
  }

  private apply(diff: Diff): void {
    for (const [p, q] of diff.bids) q === 0 ? this.bids.delete(p) : this.bids.set(p, q);
    for (const [p, q] of diff.asks) q === 0 ? this.asks.delete(p) : this.asks.set(p, q);
    this.lastUpdateId = diff.last;
    this.diffsApplied++;
  }

  /** Steps 2-6 of the documented procedure. */
  private async resync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      for (;;) {
        const res = await fetch(`${this.restBase}/api/v3/depth?symbol=${this.symbol}&limit=5000`);
        if (res.status !== 200) throw new Error(`depth snapshot: HTTP ${res.status}`);
        const snap = (await res.json()) as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] };
        this.snapshots++;
        const firstBuffered = this.buffer[0];
        if (firstBuffered !== undefined && snap.lastUpdateId < firstBuffered.first) continue; // too old: fetch again
        this.bids.clear();
        this.asks.clear();
        for (const [p, q] of snap.bids) this.bids.set(mantissa(p), mantissa(q));
        for (const [p, q] of snap.asks) this.asks.set(mantissa(p), mantissa(q));
        this.lastUpdateId = snap.lastUpdateId;
        const pending = this.buffer.filter((d) => d.last > snap.lastUpdateId);
        this.buffer = [];
        this.synced = true;
        for (const d of pending) {
          if (!this.synced) break;
          this.applyLive(d);
        }
        return;
      }
    } finally {
      this.syncing = false;
    }
  }
}

/** "61737.63000000" → 6173763000000 (exponent -8), exactly. */
function mantissa(text: string): number {
  const [i = '0', f = ''] = text.split('.');
  return Number(i + f.padEnd(8, '0').slice(0, 8));
}

function top(levels: Map<number, number>, n: number, desc: boolean): [number, number][] {
  return [...levels.entries()].sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0])).slice(0, n);
}
