/**
 * Wraps everything the ingestor emits in hotpath Envelopes (contract 2) and
 * hands them to the Kinesis producer, partition key = symbol, and optionally
 * to a rotating capture file. Sequence numbers are per connection epoch, so
 * (epoch, sequence) identifies an envelope: consumers de-duplicate on it.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { KinesisProducer } from '@hotpath/kinesis';
import { hotpath } from '@hotpath/sbe';
import { Counter, type Registry } from '@hotpath/telemetry';

export class Publisher {
  private readonly encoder = new hotpath.EnvelopeEncoder();
  private scratch = Buffer.alloc(1 << 20);
  private readonly sequences = new Map<number, number>();
  private readonly envelopes: Counter<'kind'>;
  private readonly overflow: Counter;
  private capture: WriteStream | undefined;
  private captureBytes = 0;

  constructor(
    private readonly producer: KinesisProducer,
    registry: Registry,
    private readonly captureDir?: string,
    private readonly captureRotateBytes = 256 * 1024 * 1024,
  ) {
    this.envelopes = new Counter({ name: 'ingestor_envelopes_total', help: 'Envelopes published by kind', labelNames: ['kind'], registers: [registry] });
    this.overflow = new Counter({ name: 'ingestor_envelopes_dropped_overflow_total', help: 'Envelopes refused by a full producer buffer', registers: [registry] });
    if (captureDir !== undefined) mkdirSync(captureDir, { recursive: true });
  }

  /** Publishes one envelope; false when the producer buffer refused it (counted). */
  publish(kind: hotpath.EnvelopeKind, symbol: string, epoch: number, receiveTimeUs: number, payload: Uint8Array, onAck?: (ms: number) => void): boolean {
    const seq = (this.sequences.get(epoch) ?? 0) + 1;
    this.sequences.set(epoch, seq);
    if (this.scratch.length < payload.length + 128) this.scratch = Buffer.alloc(payload.length * 2 + 128);
    const e = this.encoder
      .wrapAndApplyHeader(this.scratch, 4)
      .receiveTimeUs(receiveTimeUs)
      .sequence(seq)
      .connectionEpoch(epoch)
      .kind(kind)
      .symbol(symbol)
      .payload(payload);
    const n = e.encodedLength;
    const envelope = Buffer.from(this.scratch.subarray(4, 4 + n));
    this.envelopes.inc({ kind: KIND_NAMES[kind] ?? String(kind) });
    if (this.captureDir !== undefined) {
      this.scratch.writeUInt32LE(n, 0);
      this.writeCapture(this.scratch.subarray(0, 4 + n));
    }
    const ok = this.producer.put(symbol, envelope, onAck);
    if (!ok) this.overflow.inc();
    return ok;
  }

  private writeCapture(record: Buffer): void {
    if (this.capture === undefined || this.captureBytes + record.length > this.captureRotateBytes) {
      this.capture?.end();
      const name = `ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.capture`;
      this.capture = createWriteStream(join(this.captureDir!, name));
      this.captureBytes = 0;
    }
    this.capture.write(Buffer.from(record));
    this.captureBytes += record.length;
  }

  async close(): Promise<void> {
    const c = this.capture;
    this.capture = undefined;
    if (c !== undefined) await new Promise<void>((resolve) => c.end(() => resolve()));
  }
}

const KIND_NAMES: Record<number, string> = {
  [hotpath.EnvelopeKind.StreamFrame]: 'stream_frame',
  [hotpath.EnvelopeKind.DepthSnapshot]: 'depth_snapshot',
  [hotpath.EnvelopeKind.TradeBackfill]: 'trade_backfill',
  [hotpath.EnvelopeKind.ConnectionEvent]: 'connection_event',
  [hotpath.EnvelopeKind.GapNotice]: 'gap_notice',
};
