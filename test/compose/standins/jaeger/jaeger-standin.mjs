/**
 * STAND-IN (a mock) FOR JAEGER ALL-IN-ONE — not Jaeger. Jaeger cannot be installed on our machines (no Debian or
 * npm package, no public image can be pulled), so the compose e2e test (test/compose.e2e.test.ts) runs this small
 * program under the name compose uses, `jaegertracing/all-in-one:<version>`. On a machine that has the real image,
 * the real one is used (standins.ts never replaces an image that is not a stand-in).
 *
 * What it does, as Jaeger 1.x does it:
 * - :4318 `POST /v1/traces`: OTLP/HTTP, JSON encoding (what @hotpath/tracing sends), gzip or not; the spans kept in
 *   memory, at most `--memory.max-traces` traces (the oldest dropped first), as Jaeger's memory storage.
 *   OTLP → Jaeger as Jaeger's translator: the parent is a CHILD_OF reference, each link a FOLLOWS_FROM one;
 *   attributes are tags, events are logs, the resource is the process (service.name → serviceName).
 * - :16686 the query API's JSON shape (what Grafana's Jaeger data source and the test read):
 *   `GET /api/services`, `GET /api/services/{service}/operations`, `GET /api/operations?service=`,
 *   `GET /api/traces?service=&operation=&limit=&start=&end=` (newest first), `GET /api/traces/{traceId}`;
 *   and instead of Jaeger's UI a plain page per trace at `/trace/{traceId}` (the live page's links land there).
 * - :14269 `GET /`: health, as Jaeger's admin port.
 * What it does not: protobuf OTLP (415), gRPC, the Jaeger/Zipkin protocols, tag and duration search, Jaeger's UI.
 *
 * Plain JavaScript for Debian's nodejs (18): no build step in the image. It mirrors the parsing of
 * libs/tracing/src/testing/otlp-receiver.ts (the in-process receiver the unit tests use) without importing app code.
 */
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

// ---- flags (as upstream: --name=value; upstream refuses unknown flags, the stand-in names and ignores them) ----
const flags = new Map();
for (const arg of process.argv.slice(2)) {
  const m = /^--([\w.-]+)=(.*)$/.exec(arg);
  if (!m) {
    console.error(`jaeger stand-in: cannot read argument ${JSON.stringify(arg)} (expected --name=value)`);
    process.exit(2);
  }
  flags.set(m[1], m[2]);
}
const KNOWN = new Set(['memory.max-traces', 'collector.otlp.enabled', 'collector.otlp.http.host-port', 'query.http-server.host-port', 'admin.http.host-port']);
for (const name of flags.keys()) if (!KNOWN.has(name)) console.error(`jaeger stand-in: --${name} is not implemented by the stand-in; ignored`);
if ((process.env.SPAN_STORAGE_TYPE ?? 'memory') !== 'memory') {
  console.error(`jaeger stand-in: SPAN_STORAGE_TYPE=${process.env.SPAN_STORAGE_TYPE}: only memory storage is implemented`);
  process.exit(2);
}
const int = (name, fallback) => {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`jaeger stand-in: --${name} must be a positive integer, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};
const port = (name, fallback) => {
  const v = flags.get(name);
  return v === undefined ? fallback : Number(v.split(':').at(-1));
};
/** Upstream's 0 means unbounded; the stand-in is always bounded. */
const MAX_TRACES = int('memory.max-traces', 10_000);
/** Spans kept per trace: a runaway trace cannot fill memory either. */
const MAX_SPANS_PER_TRACE = 10_000;
/** A request body larger than this is refused (413), compressed or inflated. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const OTLP_PORT = port('collector.otlp.http.host-port', 4318);
const QUERY_PORT = port('query.http-server.host-port', 16686);
const ADMIN_PORT = port('admin.http.host-port', 14269);
const startedAt = Date.now();

// ---- storage: traceId → { spans, processes }, in insertion order (Map), the oldest evicted ----
/** @type {Map<string, { spans: object[], processKeys: Map<string, string>, processes: Record<string, object>, spanIds: Set<string> }>} */
const traces = new Map();
/** service → its operations (as Jaeger's memory store, kept for the process' life). */
const operations = new Map();
let spansReceived = 0;
let spansRefused = 0;

const HEX = { 16: /^[0-9a-f]{32}$/, 8: /^[0-9a-f]{16}$/ };
/** OTLP/JSON ids are hex; an exporter that sent protobuf-JSON base64 is read too. Undefined: not an id of that size. */
function id(value, bytes) {
  if (typeof value !== 'string' || value === '') return undefined;
  const lower = value.toLowerCase();
  if (HEX[bytes].test(lower)) return /^0+$/.test(lower) ? undefined : lower;
  const raw = Buffer.from(value, 'base64');
  return raw.length === bytes && raw.some((b) => b !== 0) ? raw.toString('hex') : undefined;
}

/** An OTLP AnyValue → a Jaeger tag (key, type, value). */
function tag(key, v = {}) {
  if (v.stringValue !== undefined) return { key, type: 'string', value: String(v.stringValue) };
  if (v.boolValue !== undefined) return { key, type: 'bool', value: Boolean(v.boolValue) };
  if (v.intValue !== undefined) return { key, type: 'int64', value: Number(v.intValue) };
  if (v.doubleValue !== undefined) return { key, type: 'float64', value: Number(v.doubleValue) };
  if (v.arrayValue !== undefined || v.kvlistValue !== undefined) return { key, type: 'string', value: JSON.stringify(v.arrayValue ?? v.kvlistValue) };
  return { key, type: 'string', value: '' };
}
const tags = (kvs) => (Array.isArray(kvs) ? kvs.filter((kv) => kv && typeof kv.key === 'string').map((kv) => tag(kv.key, kv.value)) : []);
const micros = (nanos) => {
  try {
    return Number(BigInt(nanos ?? 0) / 1000n);
  } catch {
    return 0;
  }
};
const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function store(traceID, span, process) {
  let trace = traces.get(traceID);
  if (!trace) {
    trace = { spans: [], processKeys: new Map(), processes: {}, spanIds: new Set() };
    traces.set(traceID, trace);
    while (traces.size > MAX_TRACES) traces.delete(traces.keys().next().value);
  }
  if (trace.spans.length >= MAX_SPANS_PER_TRACE || trace.spanIds.has(span.spanID)) return false;
  const processKey = JSON.stringify(process);
  let processID = trace.processKeys.get(processKey);
  if (!processID) {
    processID = `p${trace.processKeys.size + 1}`;
    trace.processKeys.set(processKey, processID);
    trace.processes[processID] = process;
  }
  trace.spanIds.add(span.spanID);
  trace.spans.push({ ...span, processID });
  let ops = operations.get(process.serviceName);
  if (!ops) operations.set(process.serviceName, (ops = new Set()));
  ops.add(span.operationName);
  return true;
}

/** An ExportTraceServiceRequest (JSON) → stored spans; how many were refused (bad ids, over a limit). */
function ingest(request) {
  let refused = 0;
  for (const rs of Array.isArray(request?.resourceSpans) ? request.resourceSpans : []) {
    const resource = tags(rs?.resource?.attributes);
    const serviceName = String(resource.find((t) => t.key === 'service.name')?.value ?? 'unknown_service');
    const process = { serviceName, tags: resource.filter((t) => t.key !== 'service.name') };
    for (const ss of Array.isArray(rs?.scopeSpans) ? rs.scopeSpans : []) {
      for (const s of Array.isArray(ss?.spans) ? ss.spans : []) {
        const traceID = id(s?.traceId, 16);
        const spanID = id(s?.spanId, 8);
        if (!traceID || !spanID || typeof s.name !== 'string') {
          refused++;
          continue;
        }
        const references = [];
        const parent = id(s.parentSpanId, 8);
        if (parent) references.push({ refType: 'CHILD_OF', traceID, spanID: parent });
        for (const link of Array.isArray(s.links) ? s.links : []) {
          const lt = id(link?.traceId, 16);
          const ls = id(link?.spanId, 8);
          if (lt && ls) references.push({ refType: 'FOLLOWS_FROM', traceID: lt, spanID: ls });
        }
        const spanTags = tags(s.attributes);
        spanTags.push({ key: 'span.kind', type: 'string', value: KINDS[Number(s.kind ?? 0)] ?? 'unspecified' });
        if (ss?.scope?.name) spanTags.push({ key: 'otel.scope.name', type: 'string', value: String(ss.scope.name) });
        const status = Number(s.status?.code ?? 0);
        if (status === 1) spanTags.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
        if (status === 2) spanTags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' }, { key: 'error', type: 'bool', value: true });
        if (s.status?.message) spanTags.push({ key: 'otel.status_description', type: 'string', value: String(s.status.message) });
        const startTime = micros(s.startTimeUnixNano);
        const span = {
          traceID,
          spanID,
          flags: Number(s.flags ?? 1) & 0xff,
          operationName: s.name,
          references,
          startTime,
          duration: Math.max(0, micros(s.endTimeUnixNano) - startTime),
          tags: spanTags,
          logs: (Array.isArray(s.events) ? s.events : []).map((e) => ({
            timestamp: micros(e?.timeUnixNano),
            fields: [{ key: 'event', type: 'string', value: String(e?.name ?? '') }, ...tags(e?.attributes)],
          })),
          warnings: null,
        };
        if (store(traceID, span, process)) spansReceived++;
        else refused++;
      }
    }
  }
  spansRefused += refused;
  return refused;
}

// ---- HTTP plumbing ----
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`body over ${MAX_BODY_BYTES} bytes`), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
const json = (res, status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const envelope = (data, errors = null) => ({ data, total: Array.isArray(data) ? data.length : 0, limit: 0, offset: 0, errors });
const traceOut = (traceID, t) => ({ traceID, spans: t.spans, processes: t.processes, warnings: null });

const otlp = createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/traces') return json(res, 404, { code: 5, message: 'the stand-in serves POST /v1/traces only' });
  if (!String(req.headers['content-type'] ?? '').includes('json')) return json(res, 415, { code: 3, message: 'the Jaeger stand-in takes the OTLP JSON encoding only' });
  try {
    let body = await readBody(req);
    if (String(req.headers['content-encoding'] ?? '') === 'gzip') body = gunzipSync(body, { maxOutputLength: MAX_BODY_BYTES });
    const refused = ingest(JSON.parse(body.toString('utf8')));
    json(res, 200, refused > 0 ? { partialSuccess: { rejectedSpans: String(refused), errorMessage: 'spans with invalid ids, duplicates or over the per-trace limit' } } : {});
  } catch (err) {
    json(res, err.status ?? 400, { code: 3, message: `unreadable export request: ${err.message}` });
  }
});

function searchTraces(params) {
  const service = params.get('service');
  if (!service) return { status: 400, body: envelope(null, [{ code: 400, msg: "parameter 'service' is required" }]) };
  const operation = params.get('operation') || undefined;
  const limit = Math.max(1, Math.min(Number(params.get('limit')) || 20, 1_500));
  const start = Number(params.get('start')) || 0; // µs, as Jaeger's API
  const end = Number(params.get('end')) || Number.MAX_SAFE_INTEGER;
  const found = [];
  for (const [traceID, t] of traces) {
    const match = t.spans.some((s) => t.processes[s.processID].serviceName === service && (!operation || s.operationName === operation) && s.startTime >= start && s.startTime <= end);
    if (match) found.push([traceID, t, Math.min(...t.spans.map((s) => s.startTime))]);
  }
  found.sort((a, b) => b[2] - a[2]);
  return { status: 200, body: envelope(found.slice(0, limit).map(([traceID, t]) => traceOut(traceID, t))) };
}

const escapeHtml = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
/** The stand-in's only page: a trace as an indented span list (Jaeger's real UI is a React app). */
function tracePage(traceID, t) {
  const children = new Map();
  const ids = new Set(t.spans.map((s) => s.spanID));
  for (const s of t.spans) {
    const parent = s.references.find((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID))?.spanID ?? '';
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const rows = [];
  const walk = (parent, depth) => {
    for (const s of (children.get(parent) ?? []).sort((a, b) => a.startTime - b.startTime)) {
      const links = s.references.filter((r) => r.refType === 'FOLLOWS_FROM').map((r) => ` → <a href="/trace/${r.traceID}">${r.traceID}</a>`);
      rows.push(`<li style="margin-left:${depth * 1.5}em">${escapeHtml(t.processes[s.processID].serviceName)}: <b>${escapeHtml(s.operationName)}</b> ${s.duration} µs${links.join('')}</li>`);
      walk(s.spanID, depth + 1);
    }
  };
  walk('', 0);
  return `<!doctype html><title>trace ${traceID}</title><p><b>Jaeger STAND-IN (a mock for tests, not Jaeger)</b></p><h1>trace ${traceID}</h1><ul>${rows.join('')}</ul>`;
}

const query = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (req.method !== 'GET') return json(res, 405, envelope(null, [{ code: 405, msg: 'GET only' }]));
  if (path === '/api/services') return json(res, 200, envelope([...operations.keys()].sort()));
  const ops = /^\/api\/services\/([^/]+)\/operations$/.exec(path)?.[1] ?? (path === '/api/operations' ? url.searchParams.get('service') : undefined);
  if (ops !== undefined && ops !== null) {
    const names = [...(operations.get(decodeURIComponent(ops)) ?? [])].sort();
    return json(res, 200, path === '/api/operations' ? envelope(names.map((name) => ({ name, spanKind: '' }))) : envelope(names));
  }
  if (path === '/api/traces') {
    const { status, body } = searchTraces(url.searchParams);
    return json(res, status, body);
  }
  const one = /^\/(api\/traces|trace)\/([0-9a-fA-F]{1,32})$/.exec(path);
  if (one) {
    const traceID = one[2].toLowerCase().padStart(32, '0');
    const t = traces.get(traceID);
    if (one[1] === 'trace') {
      return res.writeHead(t ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(t ? tracePage(traceID, t) : `<p>Jaeger stand-in: trace ${traceID} not found</p>`);
    }
    return t ? json(res, 200, envelope([traceOut(traceID, t)])) : json(res, 404, envelope(null, [{ code: 404, msg: 'trace not found' }]));
  }
  if (path === '/') {
    const list = [...operations.keys()].sort().map((s) => `<li>${escapeHtml(s)}</li>`);
    return res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(`<!doctype html><title>Jaeger stand-in</title><p><b>Jaeger STAND-IN (a mock for tests, not Jaeger)</b>: ${traces.size} traces, services:</p><ul>${list.join('')}</ul>`);
  }
  return json(res, 404, envelope(null, [{ code: 404, msg: `the stand-in does not serve ${path}` }]));
});

const admin = createServer((req, res) => {
  if (req.url === '/metrics') {
    return res
      .writeHead(200, { 'content-type': 'text/plain' })
      .end(`jaeger_standin_spans_received_total ${spansReceived}\njaeger_standin_spans_refused_total ${spansRefused}\njaeger_standin_traces ${traces.size}\n`);
  }
  json(res, 200, { status: 'Server available', upSince: new Date(startedAt).toISOString(), uptime: `${(Date.now() - startedAt) / 1000}s` });
});

const listen = (server, p, what) =>
  new Promise((resolve, reject) => {
    server.once('error', reject).listen(p, '0.0.0.0', () => {
      console.log(`jaeger stand-in: ${what} on :${p}`);
      resolve();
    });
  });
try {
  await listen(otlp, OTLP_PORT, 'OTLP/HTTP (JSON) POST /v1/traces');
  await listen(query, QUERY_PORT, 'query API');
  await listen(admin, ADMIN_PORT, 'admin/health'); // last: healthy once the others listen
  console.log(`jaeger stand-in: memory storage, at most ${MAX_TRACES} traces`);
} catch (err) {
  console.error('jaeger stand-in: cannot listen', err);
  process.exit(1);
}
const stop = () => {
  for (const s of [admin, query, otlp]) s.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
