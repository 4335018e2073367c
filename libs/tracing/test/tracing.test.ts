/**
 * Tracing off by default, on with the standard OTEL_* variables; spans reach a
 * real OTLP/HTTP receiver with their resource; a collector that is down or
 * refusing never blocks the caller and what it costs is counted; the trace
 * context travels in the envelope, old envelopes decode without one, and a
 * malformed one is ignored and counted.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DecodeStatus, hotpath } from '@hotpath/sbe';
import { createRegistry, type Registry } from '@hotpath/telemetry';
import { EnvelopeTraceReader, loadTracingConfig, Tracing, writeTraceContext } from '../src/index.ts';
import { OtlpReceiver } from '../src/testing/otlp-receiver.ts';

async function until(what: string, ok: () => boolean | Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const metric = async (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> => {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((a, v) => a + v.value, 0);
};

/** Tracing at 100 % to a port nobody listens on (bound, then closed), with `env`'s OTEL_BSP_* settings. */
async function unreachableCollector(registry: Registry, env: NodeJS.ProcessEnv): Promise<Tracing> {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  return new Tracing({
    service: 'x',
    version: '0',
    registry,
    env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`, OTEL_TRACES_SAMPLER_ARG: '1', OTEL_BSP_EXPORT_TIMEOUT: '500', ...env },
  });
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('configuration from OTEL_*', () => {
  it('is off unless an endpoint is set, and OTEL_SDK_DISABLED wins', () => {
    expect(loadTracingConfig('ingestor', {}).enabled).toBe(false);
    const on = loadTracingConfig('ingestor', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(on).toMatchObject({ enabled: true, url: 'http://collector:4318/v1/traces', ratio: 0.01, serviceName: 'ingestor' });
    expect(loadTracingConfig('ingestor', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
    expect(loadTracingConfig('x', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' }).url).toBe('http://t:1/custom');
    expect(loadTracingConfig('x', { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_SERVICE_NAME: 'agg-1' })).toMatchObject({
      ratio: 0.25,
      serviceName: 'agg-1',
    });
    expect(loadTracingConfig('x', { OTEL_TRACES_SAMPLER: 'always_on' }).ratio).toBe(1);
    expect(loadTracingConfig('x', { OTEL_TRACES_SAMPLER: 'parentbased_always_off' }).ratio).toBe(0);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadTracingConfig('x', { OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => loadTracingConfig('x', { OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => loadTracingConfig('x', { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => loadTracingConfig('x', { OTEL_BSP_MAX_QUEUE_SIZE: '0' })).toThrow(/OTEL_BSP_MAX_QUEUE_SIZE/);
  });
});

describe('export', () => {
  it('sends parent and child spans with service.name, service.version and service.instance.id; flushes at stop', async () => {
    const receiver = await OtlpReceiver.start();
    cleanup.push(() => receiver.stop());
    const registry = createRegistry('t');
    const tracing = new Tracing({ service: 'ingestor', version: '1.2.3', registry, env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '1' }, instanceId: 'i-1' });
    expect(tracing.sampleRoot()).toBe(true);
    const root = tracing.startRoot('frame');
    tracing.startChild('decode', root).end();
    root.end();
    await tracing.shutdown(AbortSignal.timeout(5_000));
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(['decode', 'frame']);
    const frame = receiver.spans.find((s) => s.name === 'frame')!;
    const decode = receiver.spans.find((s) => s.name === 'decode')!;
    expect(decode.traceId).toBe(frame.traceId);
    expect(decode.parentSpanId).toBe(frame.spanId);
    expect(frame.resource).toMatchObject({ 'service.name': 'ingestor', 'service.version': '1.2.3', 'service.instance.id': 'i-1' });
    expect(await metric(registry, 'tracing_spans_exported_total')).toBe(2);
  });

  it('a span link (inference tick → the event trace it used) reaches the receiver with both ids', async () => {
    const receiver = await OtlpReceiver.start();
    cleanup.push(() => receiver.stop());
    const tracing = new Tracing({ service: 'inference', version: '0', registry: createRegistry('t'), env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url } });
    const event = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    tracing.tracer.startSpan('tick', { root: true, links: [{ context: event, attributes: { kind: 'newest sampled event' } }] }).end();
    await tracing.shutdown(AbortSignal.timeout(5_000));
    expect(receiver.spans.map((s) => s.links)).toEqual([[{ traceId: event.traceId, spanId: event.spanId, attributes: { kind: 'newest sampled event' } }]]);
  });

  it('the receiver keeps a span the exporter sent again (a timed-out attempt retried) once, and counts the repeat', async () => {
    const receiver = await OtlpReceiver.start();
    cleanup.push(() => receiver.stop());
    const span = { name: 'frame', traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), startTimeUnixNano: '1', endTimeUnixNano: '2' };
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'x' } }] }, scopeSpans: [{ spans: [span] }] }] });
    for (let i = 0; i < 2; i++) expect((await fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(200);
    expect(receiver.spans.map((s) => [s.service, s.name, s.spanId])).toEqual([['x', 'frame', span.spanId]]);
    expect(receiver.duplicates).toBe(1);
  });

  it('off: no span is created, nothing sent, sampleRoot never says yes', async () => {
    const receiver = await OtlpReceiver.start();
    cleanup.push(() => receiver.stop());
    const tracing = new Tracing({
      service: 'x',
      version: '0',
      registry: createRegistry('t'),
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true', OTEL_TRACES_SAMPLER_ARG: '1' },
    });
    for (let i = 0; i < 1000; i++) expect(tracing.sampleRoot()).toBe(false);
    tracing.startRoot('frame').end();
    await tracing.shutdown();
    expect(receiver.requests).toBe(0);
  });

  it('a collector that is down: the caller is never held, the bounded queue drops and counts, stop keeps its deadline', async () => {
    const registry = createRegistry('t');
    const tracing = await unreachableCollector(registry, { OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_SCHEDULE_DELAY: '50' });
    const started = performance.now();
    for (let i = 0; i < 1000; i++) tracing.startRoot('frame').end();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1_000); // (1000 spans: no network wait on the caller's path)
    expect(await metric(registry, 'tracing_spans_dropped_total', { reason: 'queue_full' })).toBeGreaterThanOrEqual(900);
    await until('a failed export counted', async () => (await metric(registry, 'tracing_spans_dropped_total', { reason: 'export_failed' })) > 0);
    const stopAt = performance.now();
    for (let i = 0; i < 50; i++) tracing.startRoot('late').end();
    await tracing.shutdown(AbortSignal.timeout(300));
    expect(performance.now() - stopAt).toBeLessThan(2_000);
    expect(await metric(registry, 'tracing_spans_pending')).toBeLessThanOrEqual(100);
  });

  it('an unreachable collector, 10 000 spans: the caller is not held and every span is accounted for (started = exported + dropped + pending)', async () => {
    const registry = createRegistry('t');
    const maxQueue = 256;
    const tracing = await unreachableCollector(registry, { OTEL_BSP_MAX_QUEUE_SIZE: String(maxQueue), OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64', OTEL_BSP_SCHEDULE_DELAY: '5' });
    const fates = async () => ({
      exported: await metric(registry, 'tracing_spans_exported_total'),
      queueFull: await metric(registry, 'tracing_spans_dropped_total', { reason: 'queue_full' }),
      exportFailed: await metric(registry, 'tracing_spans_dropped_total', { reason: 'export_failed' }),
      shutdown: await metric(registry, 'tracing_spans_dropped_total', { reason: 'shutdown' }),
      pending: await metric(registry, 'tracing_spans_pending'),
    });
    const n = 10_000;
    let started = 0;
    const t0 = performance.now();
    // in slices, yielding between them as a service's event loop does, so that exports are attempted (and fail) meanwhile
    for (let slice = 0; slice < 20; slice++) {
      for (let i = 0; i < n / 20; i++) {
        if (!tracing.sampleRoot()) continue;
        tracing.startRoot('frame').end();
        started++;
      }
      expect((await fates()).pending).toBeLessThanOrEqual(maxQueue);
      await new Promise((r) => setImmediate(r));
    }
    // (a generous bound for a busy 2-core machine: the work itself is ~10 µs a span; a caller waiting on the network would take seconds)
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(started).toBe(n);
    const during = await fates();
    expect(during.exported + during.queueFull + during.exportFailed + during.pending).toBe(n);
    // the bounded queue is drained by failing exports: pending falls to 0, every span then dropped and counted
    await until('every queued span has failed', async () => (await fates()).pending === 0);
    const after = await fates();
    expect(after).toMatchObject({ exported: 0, pending: 0, shutdown: 0 });
    expect(after.queueFull).toBeGreaterThan(0);
    expect(after.exportFailed).toBeGreaterThan(0);
    expect(after.queueFull + after.exportFailed).toBe(n);
    await tracing.shutdown(AbortSignal.timeout(2_000));
  });

  it('a refusing collector (503): spans counted as export_failed', async () => {
    const receiver = await OtlpReceiver.start();
    cleanup.push(() => receiver.stop());
    receiver.refuse = true;
    const registry = createRegistry('t');
    const tracing = new Tracing({
      service: 'x',
      version: '0',
      registry,
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '1', OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_BSP_EXPORT_TIMEOUT: '500' },
    });
    tracing.startRoot('frame').end();
    await until('the refusal counted', async () => (await metric(registry, 'tracing_spans_dropped_total', { reason: 'export_failed' })) === 1);
    await tracing.shutdown(AbortSignal.timeout(2_000));
    expect(receiver.spans).toEqual([]);
  });
});

describe('ending', () => {
  it('a span ended after the shutdown is counted as dropped (shutdown), never left pending; a discarded one is never sent', async () => {
    const receiver = await OtlpReceiver.start();
    cleanup.push(() => receiver.stop());
    const registry = createRegistry('t');
    const tracing = new Tracing({ service: 'x', version: '0', registry, env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '20' } });
    tracing.discard(tracing.startRoot('not worth a trace'));
    tracing.startRoot('kept').end();
    const late = tracing.startRoot('late');
    await tracing.shutdown(AbortSignal.timeout(5_000));
    late.end();
    expect(receiver.spans.map((s) => s.name)).toEqual(['kept']);
    expect(await metric(registry, 'tracing_spans_pending')).toBe(0);
    expect(await metric(registry, 'tracing_spans_dropped_total', { reason: 'shutdown' })).toBe(1);
    expect(await metric(registry, 'tracing_spans_exported_total')).toBe(1);
  });
});

describe('trace context in the envelope', () => {
  const buffer = Buffer.alloc(512);
  const encode = (trace?: (e: hotpath.EnvelopeEncoder) => void): number => {
    const e = new hotpath.EnvelopeEncoder().wrapAndApplyHeader(buffer).receiveTimeUs(1).sequence(2).connectionEpoch(3).kind(hotpath.EnvelopeKind.StreamFrame).writerId(4);
    trace?.(e);
    return e.symbol('BTCUSDT').payload(Buffer.from([1, 2, 3])).encodedLength;
  };
  const decode = (bytes: Buffer): hotpath.EnvelopeDecoder => {
    const d = new hotpath.HotpathDecoder();
    expect(d.wrap(bytes)).toBe(DecodeStatus.Ok);
    return d.envelope;
  };

  it('round trips a sampled span context; an envelope without one reads as none', () => {
    const reader = new EnvelopeTraceReader(createRegistry('t'), 't');
    const sc = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    const n = encode((e) => writeTraceContext(e, sc));
    expect(reader.read(decode(buffer.subarray(0, n)))).toEqual({ ...sc, isRemote: true });
    const m = encode();
    expect(reader.read(decode(buffer.subarray(0, m)))).toBeUndefined();
  });

  it('an envelope encoded at schema version 1 (29-byte block, no trace fields) still decodes, the context absent', async () => {
    const registry = createRegistry('t');
    const reader = new EnvelopeTraceReader(registry, 't');
    const n = encode((e) => writeTraceContext(e, { traceId: 'ff'.repeat(16), spanId: 'ee'.repeat(8), traceFlags: 1 }));
    // version 1 as its writers wrote it: header (blockLength 29, version 1), the 29-byte block, then the var data
    const v1 = Buffer.concat([buffer.subarray(0, 8 + 29), buffer.subarray(8 + 54, n)]);
    v1.writeUInt16LE(29, 0);
    v1.writeUInt16LE(1, 6);
    const env = decode(v1);
    expect(env.actingVersion).toBe(1);
    expect(env.writerId).toBe(4);
    expect(env.symbol()).toBe('BTCUSDT');
    expect([...env.payload()]).toEqual([1, 2, 3]);
    expect(env.traceFlags).toBeNull();
    expect(reader.read(env)).toBeUndefined();
    expect(await metric(registry, 't_trace_context_invalid_total')).toBe(0);
  });

  it('a malformed context (trace id without span id, flags without ids) is ignored and counted; the record decodes', async () => {
    const registry = createRegistry('t');
    const reader = new EnvelopeTraceReader(registry, 't');
    let n = encode((e) => e.traceIdAt(3, 7).traceFlags(1));
    expect(reader.read(decode(buffer.subarray(0, n)))).toBeUndefined();
    n = encode((e) => e.traceFlags(1));
    const env = decode(buffer.subarray(0, n));
    expect(reader.read(env)).toBeUndefined();
    expect(env.symbol()).toBe('BTCUSDT');
    expect(await metric(registry, 't_trace_context_invalid_total', { reason: 'malformed' })).toBe(2);
  });
});
