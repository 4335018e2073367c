/**
 * Wraps everything the ingestor emits in hotpath Envelopes (contract 2) and
 * hands them to the Kinesis producer, partition key = symbol, and optionally
 * to a rotating capture file.
 *
 * Identity (contract 2): every envelope carries this process's writer id and
 * a sequence that grows by one per envelope for the life of the process, so
 * (writerId, sequence) is unique across restarts and instances without any
 * clock or counter shared between processes; consumers de-duplicate on it per
 * writer, the way a Kafka broker tracks an idempotent producer.
 */
import { randomInt } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { KinesisProducer } from '@hotpath/kinesis';
import { hotpath } from '@hotpath/sbe';
import { MAX_USER_RECORD_BYTES } from '@hotpath/kinesis';
import { Counter, type Registry } from '@hotpath/telemetry';
import { type SpanContext, writeTraceContext } from '@hotpath/tracing';

/** Envelope bytes around the payload: header, root block (54 since the trace context of schema version 2), symbol (≤ 20 + 1) and the payload's length. */
const ENVELOPE_OVERHEAD = 8 + 64 + 21 + 4;
/** The largest payload an envelope carries: one Kinesis user record, its partition key included. */
export const MAX_ENVELOPE_PAYLOAD_BYTES = MAX_USER_RECORD_BYTES - ENVELOPE_OVERHEAD - 32;

/**
 * A new writer id: start time in ms × 1024 + 10 random bits, below 2^53 until
 * the year 2248. Unique per process (two starting in the same millisecond
 * collide with p = 1/1024 and still are told apart by their sequences' receive
 * times, see SymbolProcessor); ordered by start time, which makes logs readable.
 */
export function newWriterId(nowMs = Date.now()): number {
  return nowMs * 1024 + randomInt(1024);
}

export class Publisher {
  private readonly encoder = new hotpath.EnvelopeEncoder();
  private readonly scratch = Buffer.alloc(MAX_ENVELOPE_PAYLOAD_BYTES + ENVELOPE_OVERHEAD + 4);
  private sequence = 0;
  private readonly envelopes: Counter<'kind'>;
  /** `envelopes` per kind, bound once: the publish path does no label lookup (kind → child). */
  private readonly envelopesOfKind: ReturnType<Counter<'kind'>['labels']>[] = [];
  private readonly overflow: Counter;
  private readonly capturesPruned: Counter;
  private readonly oversized: Counter<'kind'>;
  private capture: WriteStream | undefined;
  /** Set once the producer stopped: a late REST answer is dropped (counted as overflow), not a throw. */
  closed = false;
  private captureBytes = 0;
  private captureOpenedMs = 0;

  constructor(
    private readonly producer: KinesisProducer,
    registry: Registry,
    private readonly captureDir?: string,
    private readonly captureRotateBytes = 256 * 1024 * 1024,
    readonly writerId = newWriterId(),
    /** Rotation by age and retention (hours; 0 = keep every file): the training job (`pnpm train:watch`) reads closed files of the last hours. */
    private readonly capturePolicy: { rotateSeconds?: number; retentionHours?: number } = {},
  ) {
    this.envelopes = new Counter({ name: 'ingestor_envelopes_total', help: 'Envelopes published by kind', labelNames: ['kind'], registers: [registry] });
    for (const [kind, name] of Object.entries(KIND_NAMES)) this.envelopesOfKind[Number(kind)] = this.envelopes.labels({ kind: name });
    this.overflow = new Counter({ name: 'ingestor_envelopes_dropped_overflow_total', help: 'Envelopes refused by a full producer buffer', registers: [registry] });
    this.oversized = new Counter({
      name: 'ingestor_envelopes_dropped_oversized_total',
      help: 'Envelopes not published because their payload exceeds one Kinesis record',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.capturesPruned = new Counter({ name: 'ingestor_captures_pruned_total', help: 'Capture files deleted past INGESTOR_CAPTURE_RETENTION_HOURS', registers: [registry] });
    if (captureDir !== undefined) mkdirSync(captureDir, { recursive: true });
  }

  /**
   * Publishes one envelope; false when it was not (counted): the producer
   * buffer is full, or the payload exceeds MAX_ENVELOPE_PAYLOAD_BYTES (callers
   * split what can be split and check stream frames before tracking them).
   * `trace`: a sampled frame's span context, carried in the envelope for the aggregator to continue.
   */
  publish(kind: hotpath.EnvelopeKind, symbol: string, epoch: number, receiveTimeUs: number, payload: Uint8Array, onAck?: (ms: number) => void, trace?: SpanContext): boolean {
    if (this.closed) {
      this.overflow.inc();
      return false;
    }
    if (payload.length > MAX_ENVELOPE_PAYLOAD_BYTES) {
      this.oversized.inc({ kind: KIND_NAMES[kind] ?? String(kind) });
      return false;
    }
    const e = this.encoder
      .wrapAndApplyHeader(this.scratch, 4)
      .receiveTimeUs(receiveTimeUs)
      .sequence(++this.sequence)
      .connectionEpoch(epoch)
      .kind(kind)
      .writerId(this.writerId);
    if (trace !== undefined) writeTraceContext(e, trace);
    e.symbol(symbol).payload(payload);
    const n = e.encodedLength;
    const envelope = Buffer.from(this.scratch.subarray(4, 4 + n));
    const counted = this.envelopesOfKind[kind];
    if (counted !== undefined) counted.inc();
    else this.envelopes.inc({ kind: String(kind) });
    if (this.captureDir !== undefined) {
      this.scratch.writeUInt32LE(n, 0);
      this.writeCapture(this.scratch.subarray(0, 4 + n));
    }
    const ok = this.producer.put(symbol, envelope, onAck);
    if (!ok) this.overflow.inc();
    return ok;
  }

  private writeCapture(record: Buffer): void {
    const now = Date.now();
    const old = this.capturePolicy.rotateSeconds !== undefined && now - this.captureOpenedMs >= this.capturePolicy.rotateSeconds * 1000;
    if (this.capture === undefined || old || this.captureBytes + record.length > this.captureRotateBytes) {
      this.capture?.end();
      const name = `ingest-${new Date(now).toISOString().replace(/[:.]/g, '-')}.capture`;
      this.capture = createWriteStream(join(this.captureDir!, name));
      this.captureBytes = 0;
      this.captureOpenedMs = now;
      this.pruneCaptures(now);
    }
    this.capture.write(Buffer.from(record));
    this.captureBytes += record.length;
  }

  /** Deletes capture files past the retention (by modification time); a file that cannot be read or deleted is left for the next rotation. */
  private pruneCaptures(now: number): void {
    const hours = this.capturePolicy.retentionHours;
    if (!hours) return;
    let names: string[];
    try {
      names = readdirSync(this.captureDir!);
    } catch {
      return;
    }
    for (const n of names) {
      if (!/^ingest-.*\.capture(\.gz)?$/.test(n)) continue;
      const f = join(this.captureDir!, n);
      try {
        if (now - statSync(f).mtimeMs > hours * 3_600_000) {
          unlinkSync(f);
          this.capturesPruned.inc();
        }
      } catch {
        // gone already, or not ours to delete: the next rotation tries again
      }
    }
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
