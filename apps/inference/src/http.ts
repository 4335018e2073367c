/**
 * The HTTP face of inference, as a fastify plugin over the service:
 * predictions (latest, history, WebSocket push), accuracy, health, readiness,
 * metrics and the admin model endpoint. Errors are RFC 9457 problem objects.
 * Nothing from a client is trusted: admin requests are authenticated before
 * their body is read, subscribers are capped and dropped when they fall
 * behind, and answers carry no file system path or dependency error text.
 */
import { timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import { ModelError } from '@hotpath/model';
import { ignoreRejection } from '@hotpath/service';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { liveFiles, PAGE_CSP } from './page.ts';
import { CHART_LIBRARY_PATH, chartLibrary } from './page-vendor.ts';
import { mergeSources, StageWindow } from './stage-window.ts';
import { parseStageBuckets, stageFigures } from './stages.ts';
import type { InferenceService } from './service.ts';

/** Latest epoch ms a Date can hold: beyond it, or below 0, `since` is a client error. */
const MAX_TIME_MS = 8.64e15;
const ADMIN_BODY_LIMIT = 4 * 1024;
/** ISO 8601 as Date.parse reads it reliably (V8 also "parses" strings like "-1" as some date). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function problem(reply: FastifyReply, status: number, title: string, detail?: string): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, ...(detail ? { detail } : {}) });
}

const symbolParam = z
  .string()
  .regex(/^[A-Za-z0-9]{2,20}$/, 'symbol is 2–20 letters or digits')
  .transform((s) => s.toUpperCase());
const LatestQuery = z.object({ symbol: symbolParam });
const HistoryQuery = z.object({
  symbol: symbolParam,
  /** Epoch milliseconds or an ISO 8601 time; default: the last hour. */
  since: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return Date.now() - 3_600_000;
      const ms = /^\d{1,16}$/.test(s) ? Number(s) : ISO_TIME.test(s) ? Date.parse(s) : Number.NaN;
      if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) ctx.addIssue({ code: 'custom', message: 'since must be epoch milliseconds or an ISO 8601 time, from 1970 to 275760' });
      return Math.floor(ms);
    }),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});
const StreamQuery = z.object({ symbol: symbolParam.optional() });
const AccuracyQuery = z.object({ symbol: symbolParam.optional() });
const ModelBody = z.object({ path: z.string().min(1).optional() }).strict();

export function inferenceRoutes(service: InferenceService) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const symbols = new Set(service.config.symbols);
    // built once, not per request
    const bodyDropped = ignoreRejection(service.log, 'a peer health body is discarded unread: failing to cancel it only lets the socket finish on its own');
    const peerMetricsMissing = ignoreRejection(service.log, "a peer's /metrics did not answer in 500 ms: its stages are left out of the merged budget, the status answer stays whole");
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
      if (status === 500) service.log.error({ err }, 'request failed');
      // a 4xx's text is fastify's own about the request (bad JSON, body too large): safe to answer with; a 500's stays in the log
      return problem(reply, status, status === 500 ? 'Internal error' : 'Bad request', status === 500 ? undefined : err.message);
    });
    // every answer: no MIME sniffing, no framing, nothing active unless the page's own policy says so
    app.addHook('onSend', async (_req, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
      return payload;
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
        service.log.warn({ err }, 'history read failed');
        return problem(reply, 503, 'History unavailable', 'Redis did not answer; retry later');
      }
    });

    let wsClients = 0;
    const { wsMaxClients, wsMaxBufferedBytes } = service.config;
    app.get(
      '/v1/predictions/stream',
      {
        websocket: true,
        // refused before the upgrade: a capped server never holds the socket
        preValidation: async (_req, reply) => {
          if (wsClients < wsMaxClients) return;
          service.metrics.wsRefused.inc({ reason: 'too_many' });
          return problem(reply, 503, 'Too many subscribers', `at most ${wsMaxClients} WebSocket subscribers; retry later`);
        },
      },
      (socket, req) => {
        const q = StreamQuery.safeParse(req.query ?? {});
        if (!q.success || (q.data.symbol && !symbols.has(q.data.symbol))) {
          socket.close(1008, q.success ? 'unknown symbol' : 'bad symbol');
          return;
        }
        const only = q.data.symbol;
        wsClients++;
        service.metrics.wsClients.inc();
        const off = service.onPrediction((p, json) => {
          if (only && p.symbol !== only) return;
          // a subscriber that stops reading is dropped, not buffered for without bound; terminated, because a
          // close frame would queue behind the backlog it does not read
          if (socket.bufferedAmount > wsMaxBufferedBytes) {
            off();
            service.metrics.wsRefused.inc({ reason: 'too_slow' });
            return socket.terminate();
          }
          socket.send(json);
        });
        socket.on('close', () => {
          off();
          wsClients--;
          service.metrics.wsClients.dec();
        });
      },
    );

    app.get('/v1/accuracy', async (req, reply) => {
      const q = parse(AccuracyQuery, req.query, reply);
      if (!q) return reply;
      if (q.symbol && !known(q.symbol, reply)) return reply;
      const list = q.symbol ? [q.symbol] : [...symbols];
      return reply.send({ windowSize: service.config.accuracyWindow, horizonS: service.config.horizonS, symbols: Object.fromEntries(list.map((s) => [s, service.accuracy(s)])) });
    });

    // champion, challenger, the promotion test and the last decisions (docs/inference.md, "Model lifecycle")
    app.get('/v1/lifecycle', async (_req, reply) => reply.send(service.lifecycle ? { enabled: true, ...service.lifecycle.state() } : { enabled: false }));

    // the live page (static files, no build step), under a policy that runs only them
    const { traceUiUrl, modelReportUrl, prometheusUrl, alertmanagerUrl, grafanaUrl } = service.config;
    for (const [path, file] of Object.entries(liveFiles({ traceUiUrl, modelReportUrl, prometheusUrl, alertmanagerUrl, grafanaUrl }))) {
      app.get(path, async (_req, reply) => reply.type(file.type).header('content-security-policy', PAGE_CSP).header('cache-control', 'no-cache').send(file.body));
    }
    // its chart library, from node_modules; the version is in the path, so a year's cache is safe
    app.get(CHART_LIBRARY_PATH, async (_req, reply) =>
      reply.type('text/javascript; charset=utf-8').header('content-security-policy', PAGE_CSP).header('cache-control', 'public, max-age=31536000, immutable').send(chartLibrary()),
    );
    // the stage budget over the last 5 minutes (snapshots of the cumulative buckets, bounded)
    const stageWindow = new StageWindow();

    // every service's health in one answer (the page cannot reach the others across origins)
    app.get('/v1/status', async (_req, reply) => {
      const peers = await Promise.all(
        Object.entries(service.config.statusPeers).map(async ([name, url]) => {
          const ctl = AbortSignal.timeout(500);
          // the status only: peers' bodies carry paths and raw dependency errors, which stay on the internal network
          const r = await fetch(url, { signal: ctl }).then(
            (res) => {
              void res.body?.cancel().catch(bodyDropped);
              return { status: res.status < 300 ? 'ok' : res.status < 500 ? 'degraded' : 'unhealthy' };
            },
            () => ({ status: 'down' }),
          );
          return [name, r] as const;
        }),
      );
      // the stage budget: this service's histogram and each peer's, merged (since each started), and per source for the window
      const own = parseStageBuckets(await service.registry.getSingleMetricAsString('pipeline_stage_latency_seconds'));
      const sources = new Map([['inference', own]]);
      await Promise.all(
        Object.entries(service.config.statusPeers).map(([name, url]) =>
          fetch(url.replace(/\/health$/, '/metrics'), { signal: AbortSignal.timeout(500) })
            .then(async (r) => void sources.set(`peer:${name}`, parseStageBuckets(await r.text())))
            .catch(peerMetricsMissing),
        ),
      );
      const recent = stageWindow.window(sources);
      return reply.send({
        inference: service.health(),
        services: Object.fromEntries(peers),
        latency: service.latencySummary(),
        stages: stageFigures(mergeSources(sources)),
        stagesWindow: { windowMs: stageWindow.windowMs, spanMs: recent.spanMs, stages: stageFigures(recent.buckets) },
      });
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
    // swap the model: {path} (inside INFERENCE_MODEL_DIR) verifies it here, then points every replica at it; no body re-reads the current source.
    // Authenticated in onRequest, i.e. before the body is read or parsed.
    app.post(
      '/admin/model',
      {
        bodyLimit: ADMIN_BODY_LIMIT,
        onRequest: async (req, reply) => {
          if (!token) return problem(reply, 403, 'Admin disabled', 'set INFERENCE_ADMIN_TOKEN to enable /admin');
          if (!authorized(req.headers.authorization)) return problem(reply, 401, 'Unauthorized', 'a valid Bearer token is required');
          return undefined;
        },
      },
      async (req, reply) => {
        const body = parse(ModelBody, req.body, reply);
        if (!body) return reply;
        try {
          const version = body.path ? await service.models.publish(body.path) : await service.models.reload();
          return reply.send({ version, model: service.models.state() });
        } catch (err) {
          // a ModelError's message is written for API answers: it names no file system path
          if (err instanceof ModelError) return problem(reply, 422, 'Model refused', `${err.code}: ${err.message}`);
          service.log.warn({ err }, 'model pointer not updated');
          return problem(reply, 503, 'Model pointer not updated', 'Redis did not answer; retry later');
        }
      },
    );
  };
}
