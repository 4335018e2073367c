/**
 * Tests on a ManualClock: the simulated market, fault deadlines, keepalive and
 * lifetimes move only when the test advances the clock, and a control-message
 * round trip (a barrier) tells the test when everything the server sent before
 * has arrived. Together they let a test assert what was sent and in which
 * order, never how many milliseconds a busy machine took.
 */
import WebSocket from 'ws';
import { ExchangeSimulator, ManualClock, SimConfigSchema } from '../../src/index.ts';

/** Simulated clock origin of clocked simulators (µs since the epoch). */
export const START_US = 1_750_000_000_000_000;

export async function startClockedSim(settings: Record<string, unknown> = {}): Promise<{ sim: ExchangeSimulator; clock: ManualClock }> {
  const clock = new ManualClock();
  const sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, logLevel: 'silent', startTimeUs: START_US, ...settings }), { clock });
  await sim.start();
  return { sim, clock };
}

let barrierSeq = 0;
const BARRIER_PREFIX = 'barrier-';

/** True for the server's answer to a barrier (clients that record text messages leave these out). */
export function isBarrierReply(message: unknown): boolean {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.startsWith(BARRIER_PREFIX);
}

/**
 * Resolves once the server has answered a control message sent now. The
 * server writes on one socket in order, so every frame it sent before the
 * answer has been received (and handled by earlier listeners) by then.
 * Each barrier counts against the connection's incoming-message allowance.
 */
export function barrier(ws: WebSocket): Promise<void> {
  const id = `${BARRIER_PREFIX}${++barrierSeq}`;
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      if (isBinary || (JSON.parse(data.toString()) as { id?: unknown }).id !== id) return;
      done();
      resolve();
    };
    const onClose = (code: number): void => {
      done();
      reject(new Error(`the connection closed (${code}) before the barrier was answered`));
    };
    const done = (): void => void ws.off('message', onMessage).off('close', onClose);
    ws.on('message', onMessage).on('close', onClose);
    ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id }));
  });
}

/** A stream connection that records everything it receives, in order. */
export class StreamProbe {
  /** Binary (SBE) frames. */
  readonly frames: Buffer[] = [];
  /** Text messages other than barrier answers. */
  readonly texts: unknown[] = [];
  pings = 0;
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return void this.frames.push(data);
      const message = JSON.parse(data.toString()) as unknown;
      if (!isBarrierReply(message)) this.texts.push(message);
    });
    ws.on('ping', () => this.pings++);
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  static async open(url: string, apiKey: string, options: WebSocket.ClientOptions = {}): Promise<StreamProbe> {
    // Listening before the handshake completes: nothing sent right after it is missed.
    const probe = new StreamProbe(new WebSocket(url, { ...options, headers: { 'X-MBX-APIKEY': apiKey } }));
    await new Promise((resolve, reject) => probe.ws.once('open', resolve).once('error', reject));
    return probe;
  }

  barrier(): Promise<void> {
    return barrier(this.ws);
  }

  close(): void {
    this.ws.close();
  }
}
