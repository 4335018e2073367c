/**
 * The HTTP face of inference, as a fastify plugin over the service:
 * predictions (latest, history, WebSocket push), accuracy, health, readiness,
 * metrics and the admin model endpoint. Errors are RFC 9457 problem objects.
 */
import { timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import { ModelError } from '@hotpath/model';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { livePage } from './page.ts';
import { parseStageBuckets, stageFigures } from './stages.ts';
import type { InferenceService } from './service.ts';

const WS_MAX_BUFFERED_BYTES = 1 << 20;

function problem(reply: FastifyReply, status: number, title: string, detail?: string): FastifyReply {
  return reply.code(status).type('application/problem+json').send({ type: 'about:blank', title, status, ...(detail ? { detail } : {}) });
}

const symbolParam = z.string().regex(/^[A-Za-z0-9]{2,20}$/, 'symbol is 2–20 letters or digits').transform((s) => s.toUpperCase());
const LatestQuery = z.object({ symbol: symbolParam });
const HistoryQuery = z.object({
  symbol: symbolParam,
  /** Epoch milliseconds or an ISO 8601 time; default: the last hour. */
  since: z.string().optional().transform((s, ctx) => {
    if (s === undefined) return Date.now() - 3_600_000;
    const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(ms)) ctx.addIssue({ code: 'custom', message: 'since must be epoch milliseconds or an ISO 8601 time' });
    return ms;
  }),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});
const StreamQuery = z.object({ symbol: symbolParam.optional() });
const AccuracyQuery = z.object({ symbol: symbolParam.optional() });
const ModelBody = z.object({ path: z.string().min(1).optional() }).strict();

export function inferenceRoutes(service: InferenceService) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const symbols = new Set(service.config.symbols);
    const parse = <T extends z.ZodTypeAny>(schema: T, value: unknown, reply: FastifyReply): z.infer<T> | undefined => {
      const r = schema.safeParse(value ?? {});
      if (r.success) return r.data;
      problem(reply, 400, 'Bad request', r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
      return undefined;
    };
    const known = (symbol: string, reply: FastifyReply): boolean => {
      if (symbols.has(symbol)) return true;
      problem(reply, 404, 'Unknown symbol', `${symbol} is not served here; symbols: ${[...symbols].join(', ')}`);
      return false;
    };

    app.setNotFoundHandler((req, reply) => problem(reply, 404, 'Not found', `${req.method} ${req.url.split('?')[0]}`));
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) service.log.error({ err: err.message }, 'request failed');
      return problem(reply, status, status === 500 ? 'Internal error' : 'Bad request', status === 500 ? undefined : err.message);
    });

    await app.register(websocket, { options: { maxPayload: 1024 } });

    app.get('/v1/predictions/latest', async (req, reply) => {
      const q = parse(LatestQuery, req.query, reply);
      if (!q || !known(q.symbol, reply)) return reply;
      const p = service.latestPrediction(q.symbol);
      return p ? reply.send(p) : problem(reply, 404, 'No prediction yet', `no prediction for ${q.symbol} has been made yet`);
    });

    app.get('/v1/predictions', async (req, reply) => {
      const q = parse(HistoryQuery, req.query, reply);
      if (!q || !known(q.symbol, reply)) return reply;
      try {
        return reply.send({ symbol: q.symbol, since: q.since, predictions: await service.history(q.symbol, q.since, q.limit) });
      } catch (err) {
        return problem(reply, 503, 'History unavailable', `Redis: ${(err as Error).message}`);
      }
    });

    app.get('/v1/predictions/stream', { websocket: true }, (socket, req) => {
      const q = StreamQuery.safeParse(req.query ?? {});
      if (!q.success || (q.data.symbol && !symbols.has(q.data.symbol))) {
        socket.close(1008, q.success ? 'unknown symbol' : 'bad symbol');
        return;
      }
      const only = q.data.symbol;
      service.metrics.wsClients.inc();
      const off = service.onPrediction((p, json) => {
        if (only && p.symbol !== only) return;
        // a subscriber that stops reading is dropped, not buffered for without bound
        if (socket.bufferedAmount > WS_MAX_BUFFERED_BYTES) return socket.close(1013, 'too slow');
        socket.send(json);
      });
      socket.on('close', () => {
        off();
        service.metrics.wsClients.dec();
      });
    });

    app.get('/v1/accuracy', async (req, reply) => {
      const q = parse(AccuracyQuery, req.query, reply);
      if (!q) return reply;
      if (q.symbol && !known(q.symbol, reply)) return reply;
      const list = q.symbol ? [q.symbol] : [...symbols];
      return reply.send({ windowSize: service.config.accuracyWindow, horizonS: service.config.horizonS, symbols: Object.fromEntries(list.map((s) => [s, service.accuracy(s)])) });
    });

    // the live page (static: one HTML file, no build step)
    app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(livePage()));

    // every service's health in one answer (the page cannot reach the others across origins)
    app.get('/v1/status', async (_req, reply) => {
      const peers = await Promise.all(
        Object.entries(service.config.statusPeers).map(async ([name, url]) => {
          const ctl = AbortSignal.timeout(500);
          const r = await fetch(url, { signal: ctl }).then(async (res) => ({ status: res.status < 300 ? 'ok' : res.status < 500 ? 'degraded' : 'unhealthy', body: (await res.json().catch(() => null)) as unknown }), () => ({ status: 'down', body: null }));
          return [name, r] as const;
        }),
      );
      // the stage budget: this service's histogram and each peer's, merged
      const buckets = parseStageBuckets(await service.registry.getSingleMetricAsString('pipeline_stage_latency_seconds'));
      await Promise.all(
        Object.values(service.config.statusPeers).map((url) =>
          fetch(url.replace(/\/health$/, '/metrics'), { signal: AbortSignal.timeout(500) }).then(async (r) => void parseStageBuckets(await r.text(), buckets), () => undefined),
        ),
      );
      return reply.send({ inference: service.health(), services: Object.fromEntries(peers), latency: service.latencySummary(), stages: stageFigures(buckets) });
    });

    app.get('/health', async (_req, reply) => {
      const h = service.health();
      return reply.code(h.status === 'unhealthy' ? 503 : 200).send(h);
    });
    app.get('/ready', async (_req, reply) => reply.code(service.ready ? 200 : 503).send({ ready: service.ready }));
    app.get('/metrics', async (_req, reply) => reply.header('content-type', service.registry.contentType).send(await service.registry.metrics()));

    const token = service.config.adminToken ? Buffer.from(service.config.adminToken) : undefined;
    const authorized = (header: string | undefined): boolean => {
      if (!token || !header?.startsWith('Bearer ')) return false;
      const given = Buffer.from(header.slice(7));
      return given.length === token.length && timingSafeEqual(given, token);
    };
    // swap the model: {path} verifies it here, then points every replica at it; no body re-reads the current source
    app.post('/admin/model', async (req, reply) => {
      if (!token) return problem(reply, 403, 'Admin disabled', 'set INFERENCE_ADMIN_TOKEN to enable /admin');
      if (!authorized(req.headers.authorization)) return problem(reply, 401, 'Unauthorized', 'a valid Bearer token is required');
      const body = parse(ModelBody, req.body, reply);
      if (!body) return reply;
      try {
        const version = body.path ? await service.models.publish(body.path) : await service.models.reload();
        return reply.send({ version, model: service.models.state() });
      } catch (err) {
        if (err instanceof ModelError) return problem(reply, 422, 'Model refused', `${err.code}: ${err.message}`);
        return problem(reply, 503, 'Model pointer not updated', (err as Error).message);
      }
    });
  };
}
