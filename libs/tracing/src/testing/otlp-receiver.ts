/**
 * A plain node:http OTLP/HTTP receiver for tests: accepts POST /v1/traces in
 * the JSON encoding the exporter sends (ExportTraceServiceRequest), keeps the
 * spans flattened with their resource's service.name (and their links: the
 * span contexts of other traces they point to), and answers 200 — or 503
 * while `refuse` is set (a collector that is up but failing).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  events: string[];
  /** The span contexts this span links to (OTLP span links), ids in hex as the JSON encoding sends them. */
  links: ReceivedLink[];
  resource: Record<string, unknown>;
}

export interface ReceivedLink {
  traceId: string;
  spanId: string;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKv {
  key: string;
  value: OtlpValue;
}
const otlpValue = (v: OtlpValue): unknown => v.stringValue ?? (v.intValue === undefined ? undefined : Number(v.intValue)) ?? v.doubleValue ?? v.boolValue;
const attrs = (kvs: OtlpKv[] | undefined): Record<string, unknown> => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, otlpValue(kv.value)]));

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /**
   * Spans received again (same trace and span id) and not kept twice: OTLP delivery is at least once — the
   * exporter re-sends a batch whose answer did not come within its timeout, which a loaded machine (this
   * receiver shares the event loop of in-process services) makes happen.
   */
  duplicates = 0;
  private readonly seen = new Set<string>();
  requests = 0;
  refuse = false;
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        receiver!.accept(req.method ?? '', req.url ?? '', req.headers['content-type'] ?? '', Buffer.concat(chunks), (status) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end('{}'),
        ),
      );
    });
    receiver = new OtlpReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(method: string, url: string, type: string, body: Buffer, answer: (status: number) => void): void {
    this.requests++;
    if (method !== 'POST' || url !== '/v1/traces') return answer(404);
    if (!type.includes('json')) return answer(415); // (the tests configure the JSON encoding: protobuf would need a decoder here)
    if (this.refuse) return answer(503);
    const request = JSON.parse(body.toString('utf8')) as {
      resourceSpans?: {
        resource?: { attributes?: OtlpKv[] };
        scopeSpans?: {
          spans?: {
            name: string;
            traceId: string;
            spanId: string;
            parentSpanId?: string;
            startTimeUnixNano: string;
            endTimeUnixNano: string;
            attributes?: OtlpKv[];
            events?: { name: string }[];
            links?: { traceId: string; spanId: string; attributes?: OtlpKv[] }[];
          }[];
        }[];
      }[];
    };
    for (const rs of request.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          const id = `${s.traceId}/${s.spanId}`;
          if (this.seen.has(id)) {
            this.duplicates++;
            continue;
          }
          this.seen.add(id);
          this.spans.push({
            service: String(resource['service.name']),
            name: s.name,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
            attributes: attrs(s.attributes),
            events: (s.events ?? []).map((e) => e.name),
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attrs(l.attributes) })),
            resource,
          });
        }
      }
    }
    answer(200);
  }
}
