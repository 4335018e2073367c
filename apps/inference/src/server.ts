/**
 * Service + HTTP on one port (API, WebSocket, /health, /metrics), on the one
 * lifecycle: tracing first (stops last, flushing the others' spans), HTTP
 * (so /health answers — not ready — while the service starts), then the
 * service; stop runs backwards under one deadline.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { Lifecycle, type StopReport } from '@hotpath/service';
import type { InferenceConfig } from './config.ts';
import { inferenceRoutes } from './http.ts';
import { InferenceService } from './service.ts';

export class InferenceServer {
  readonly service: InferenceService;
  readonly http: FastifyInstance;
  private readonly lifecycle: Lifecycle;

  constructor(config: InferenceConfig, deps: { /** The OTEL_* variables (default process.env). */ tracingEnv?: NodeJS.ProcessEnv } = {}) {
    this.service = new InferenceService(config, deps);
    // requestTimeout: a whole request (headers + body) within the limit, against slow clients; connectionTimeout: idle
    // sockets closed (WebSocket subscribers are exempt: ws clears the socket timeout after the upgrade)
    this.http = Fastify({ logger: false, bodyLimit: 16 * 1024, requestTimeout: config.requestTimeoutMs, connectionTimeout: 2 * config.requestTimeoutMs });
    void this.http.register(inferenceRoutes(this.service));
    // tracing first: it stops last and flushes what the other components' stops still traced
    this.lifecycle = new Lifecycle()
      .add(this.service.tracing.component)
      .add({ name: 'http', start: () => this.http.listen({ port: this.service.config.port, host: this.service.config.host }).then(() => undefined), stop: () => this.http.close() })
      .add({ name: 'inference service', start: () => this.service.start(), stop: () => this.service.stop() });
  }

  get port(): number {
    const a = this.http.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  start(): Promise<void> {
    return this.lifecycle.start();
  }

  /** Stops within `deadlineMs` (what overran is in the report). */
  stop(deadlineMs = 8_000): Promise<StopReport> {
    return this.lifecycle.stop(deadlineMs);
  }
}
