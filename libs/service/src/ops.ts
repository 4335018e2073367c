/**
 * The HTTP face every service shares: one fastify instance with bounded
 * timeouts and body size, /health (does the service do its job: 200 or 503,
 * answered within a deadline whatever the dependencies do), /ready (started
 * and not stopping), /metrics, and RFC 9457 problem answers for unknown routes
 * and errors — never a stack or raw error text.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from '@hotpath/telemetry';
import { withDeadline } from './deadline.ts';

/** Timeouts and limits for every service's HTTP server (a slow or silent client cannot hold a socket). */
export const HTTP_SERVER_OPTIONS = {
  logger: false,
  requestTimeout: 10_000,
  connectionTimeout: 10_000,
  keepAliveTimeout: 5_000,
  bodyLimit: 64 * 1024,
} as const;

export interface OpsOptions {
  registry: Registry;
  /** What /health reports; `ok` false → 503. Must not throw; it is cut off after `healthDeadlineMs`. */
  health: () => Promise<{ ok: boolean }> | { ok: boolean };
  /** True once the service serves (started, not stopping). */
  ready: () => boolean;
  healthDeadlineMs?: number;
}

export function problem(reply: FastifyReply, status: number, title: string, detail?: string): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, ...(detail !== undefined ? { detail } : {}) });
}

/** A fastify instance with the shared limits and the ops routes. */
export function createOpsServer(options: OpsOptions): FastifyInstance {
  const app = Fastify(HTTP_SERVER_OPTIONS);
  const deadline = options.healthDeadlineMs ?? 1_000;
  app.get('/health', async (_req, reply) => {
    try {
      const h = await withDeadline(Promise.resolve().then(options.health), deadline, 'health');
      return reply.code(h.ok ? 200 : 503).send(h);
    } catch {
      return reply.code(503).send({ ok: false, error: 'health check did not answer in time' });
    }
  });
  app.get('/ready', async (_req, reply) => (options.ready() ? reply.send({ ready: true }) : reply.code(503).send({ ready: false })));
  app.get('/metrics', async (_req, reply) => reply.header('content-type', options.registry.contentType).send(await options.registry.metrics()));
  app.setNotFoundHandler((req, reply) => problem(reply, 404, 'Not found', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 100)}`));
  app.setErrorHandler((err: { statusCode?: number }, _req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return problem(reply, status, status === 500 ? 'Internal error' : 'Bad request');
  });
  return app;
}
