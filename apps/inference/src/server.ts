/** Service + HTTP on one port (API, WebSocket, /health, /metrics), started and stopped together. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { InferenceConfig } from './config.ts';
import { inferenceRoutes } from './http.ts';
import { InferenceService } from './service.ts';

export class InferenceServer {
  readonly service: InferenceService;
  readonly http: FastifyInstance;

  constructor(config: InferenceConfig) {
    this.service = new InferenceService(config);
    // requestTimeout: a whole request (headers + body) within the limit, against slow clients; connectionTimeout: idle
    // sockets closed (WebSocket subscribers are exempt: ws clears the socket timeout after the upgrade)
    this.http = Fastify({ logger: false, bodyLimit: 16 * 1024, requestTimeout: config.requestTimeoutMs, connectionTimeout: 2 * config.requestTimeoutMs });
    void this.http.register(inferenceRoutes(this.service));
  }

  get port(): number {
    const a = this.http.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  async start(): Promise<void> {
    await this.service.start();
    await this.http.listen({ port: this.service.config.port, host: this.service.config.host });
  }

  async stop(): Promise<void> {
    await this.http.close();
    await this.service.stop();
  }
}
