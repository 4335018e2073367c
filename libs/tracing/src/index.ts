export { DEFAULT_SAMPLE_RATIO, loadTracingConfig, type TracingConfig } from './config.ts';
export { Tracing, packageVersion, spanClock, type TracingOptions } from './tracing.ts';
export { EnvelopeTraceReader, writeTraceContext } from './envelope-context.ts';
export { parseTraceparent, traceparentOf } from './traceparent.ts';
export { SpanStatusCode, type Span, type SpanContext } from '@opentelemetry/api';
