/**
 * The Jaeger stand-in (standins/jaeger/jaeger-standin.mjs, a mock the compose e2e test reads traces from) run as a
 * process here: OTLP/HTTP JSON in → Jaeger's query API out (parent = CHILD_OF, link = FOLLOWS_FROM, the resource
 * as the process), memory bounded by --memory.max-traces (the oldest go), refusals (protobuf, bad ids, no service).
 * What the real exporter sends it is the compose e2e test's to show.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./standins/jaeger/jaeger-standin.mjs', import.meta.url));
const ports = { otlp: 0, query: 0, admin: 0 };
let child: ChildProcess | undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

const hex = (n: number, bytes: number): string => n.toString(16).padStart(bytes * 2, '0');
const span = (trace: number, id: number, name: string, extra: Record<string, unknown> = {}) => ({
  traceId: hex(trace, 16),
  spanId: hex(id, 8),
  name,
  startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(trace) * 1_000_000n + BigInt(id) * 1000n),
  endTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(trace) * 1_000_000n + BigInt(id) * 1000n + 500_000n),
  ...extra,
});
const request = (service: string, spans: unknown[]) => ({
  resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: service }, spans }] }],
});
const post = (body: unknown, type = 'application/json') =>
  fetch(`http://127.0.0.1:${ports.otlp}/v1/traces`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
const get = async (path: string): Promise<{ status: number; body: { data: unknown } }> => {
  const r = await fetch(`http://127.0.0.1:${ports.query}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: r.status, body: (await r.json()) as { data: unknown } };
};

beforeAll(async () => {
  ports.otlp = await freePort();
  ports.query = await freePort();
  ports.admin = await freePort();
  child = spawn(
    process.execPath,
    [SCRIPT, '--memory.max-traces=3', `--collector.otlp.http.host-port=:${ports.otlp}`, `--query.http-server.host-port=:${ports.query}`, `--admin.http.host-port=:${ports.admin}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // ready when it says the admin port listens (it listens last)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stand-in did not listen within 10 s')), 10_000);
    let out = '';
    child!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('admin/health')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child!.once('exit', (code) => reject(new Error(`the stand-in exited (${code})`)));
  });
});

afterAll(() => {
  child?.kill('SIGTERM');
});

describe('the Jaeger stand-in', () => {
  it('turns OTLP spans into Jaeger traces: parent → CHILD_OF, link → FOLLOWS_FROM, resource → process, events → logs', async () => {
    expect(
      (await post(request('ingestor', [span(1, 1, 'ingestor frame', { events: [{ name: 'dropped', timeUnixNano: '1700000000001000000' }] }), span(1, 2, 'kinesis put', { parentSpanId: hex(1, 8) })])))
        .status,
    ).toBe(200);
    expect((await post(request('aggregator', [span(1, 3, 'aggregator apply', { parentSpanId: hex(2, 8), status: { code: 2 } })]))).status).toBe(200);
    expect((await post(request('inference', [span(2, 4, 'inference tick', { links: [{ traceId: hex(1, 16), spanId: hex(3, 8) }] })]))).status).toBe(200);

    expect((await get('/api/services')).body.data).toEqual(['aggregator', 'inference', 'ingestor']);
    expect((await get('/api/services/ingestor/operations')).body.data).toEqual(['ingestor frame', 'kinesis put']);
    const { body } = await get(`/api/traces/${hex(1, 16)}`);
    const [trace] = body.data as {
      traceID: string;
      spans: { spanID: string; operationName: string; processID: string; references: unknown[]; duration: number; logs: unknown[]; tags: { key: string; value: unknown }[] }[];
      processes: Record<string, { serviceName: string }>;
    }[];
    const byOp = Object.fromEntries(trace!.spans.map((s) => [s.operationName, s]));
    expect(trace!.processes[byOp['aggregator apply']!.processID]!.serviceName).toBe('aggregator');
    expect(trace!.processes[byOp['kinesis put']!.processID]!.serviceName).toBe('ingestor');
    expect(byOp['ingestor frame']!.references).toEqual([]);
    expect(byOp['aggregator apply']!.references).toEqual([{ refType: 'CHILD_OF', traceID: hex(1, 16), spanID: hex(2, 8) }]);
    expect(byOp['aggregator apply']!.tags).toContainEqual({ key: 'error', type: 'bool', value: true });
    expect(byOp['ingestor frame']!.duration).toBe(500);
    expect(byOp['ingestor frame']!.logs).toEqual([{ timestamp: 1_700_000_000_001_000, fields: [{ key: 'event', type: 'string', value: 'dropped' }] }]);

    const tick = ((await get('/api/traces?service=inference&operation=inference%20tick&limit=5')).body.data as { spans: { references: unknown[] }[] }[])[0]!;
    expect(tick.spans[0]!.references).toEqual([{ refType: 'FOLLOWS_FROM', traceID: hex(1, 16), spanID: hex(3, 8) }]);
    // search by service finds a trace by any of its spans' services
    expect(((await get('/api/traces?service=aggregator')).body.data as { traceID: string }[]).map((t) => t.traceID)).toEqual([hex(1, 16)]);
  });

  it('keeps at most --memory.max-traces traces, dropping the oldest; refuses what it cannot read', async () => {
    for (const t of [10, 11, 12]) expect((await post(request('bulk', [span(t, 1, 'x')]))).status).toBe(200);
    expect((await get(`/api/traces/${hex(1, 16)}`)).status).toBe(404);
    expect(((await get('/api/traces?service=bulk&limit=10')).body.data as { traceID: string }[]).map((t) => t.traceID)).toEqual([hex(12, 16), hex(11, 16), hex(10, 16)]);

    expect((await post({}, 'application/x-protobuf')).status).toBe(415);
    const bad = await post(request('bulk', [{ ...span(13, 1, 'x'), traceId: 'not-an-id' }]));
    expect([bad.status, await bad.json()]).toEqual([200, expect.objectContaining({ partialSuccess: expect.objectContaining({ rejectedSpans: '1' }) })]);
    expect((await get('/api/traces')).status).toBe(400);
    const health = await fetch(`http://127.0.0.1:${ports.admin}/`, { signal: AbortSignal.timeout(5_000) });
    expect([health.status, ((await health.json()) as { status: string }).status]).toEqual([200, 'Server available']);
  });
});
