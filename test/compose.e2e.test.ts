/**
 * `docker compose up` for real (issue 16): deploy/docker-compose.yml on a real Docker engine, with the
 * project's production image built by compose and local stand-ins for the public images
 * (test/compose/standins/README.md; Grafana has no Debian package, so the stack runs without the
 * `grafana` profile; Jaeger neither: its stand-in is a small mock, test/compose/standins/jaeger). Run with the
 * `tracing` profile and every frame sampled (OTEL_TRACES_SAMPLER_ARG=1). Checked: every service healthy; a
 * prediction on the published port (time from `up` to the first one, printed); one market event is one connected
 * trace across the ingestor and aggregator containers, read back through Jaeger's query API, and a prediction's
 * tick trace links to such an event trace; Prometheus in the stack has every target up and every rule group
 * loaded; a killed aggregator and inference come back by the restart policy and predictions resume;
 * a Redis restart keeps its data (AOF volume) and the stack recovers; Alertmanager delivers a firing
 * alert to a webhook when exchange-sim stops; `down -v` leaves no container, network or volume.
 *
 * Needs a Docker engine (.ci/run starts dockerd where none answers) and mmdebstrap for the stand-ins'
 * base. A missing engine, a port in use, a failed build or a service that never becomes healthy
 * ends the test with the cause and the service's last log lines; nothing is left running.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lastLines, run, type RunResult } from './compose/docker.ts';
import { ensureStandins } from './compose/standins.ts';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const PROJECT = 'hotpath-e2e';
const SERVICES = ['redis', 'kinesis', 'exchange-sim', 'ingestor', 'aggregator', 'inference', 'redis-exporter', 'prometheus', 'alertmanager', 'jaeger'];
const log = (line: string): void => console.log(`[compose e2e] ${line}`);

let composeCmd: [string, string[]] = ['docker-compose', []];
let env: NodeJS.ProcessEnv = {};
const ports = { inference: 0, prometheus: 0, alertmanager: 0, jaeger: 0 };
let work = '';
let webhook: Server | undefined;
const alertsReceived: string[] = [];
let upStartedAt = 0;
let firstPredictionAfterMs = 0;

const compose = (args: string[], timeoutMs: number, extra: { allowFailure?: boolean } = {}): Promise<RunResult> =>
  run(composeCmd[0], [...composeCmd[1], '-f', root('deploy/docker-compose.yml'), '-f', join(work, 'e2e.override.yml'), ...args], {
    timeoutMs,
    env,
    cwd: root('deploy'),
    onLine: timeoutMs > 60_000 ? (l) => log(l) : undefined,
    ...extra,
  });

/** The service's container id (the one compose started). */
async function container(service: string): Promise<string> {
  const r = await compose(['ps', '-q', service], 30_000);
  const id = r.stdout.trim().split('\n')[0] ?? '';
  if (!id) throw new Error(`compose has no container for ${service}`);
  return id;
}

async function logsOf(service: string, lines = 40): Promise<string> {
  const r = await compose(['logs', '--no-color', '--tail', String(lines), service], 30_000, { allowFailure: true }).catch((err: Error) => ({ stdout: `(no logs: ${err.message})`, stderr: '' }));
  return lastLines(r.stdout + r.stderr, lines);
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes; then fails naming what and showing logs. */
async function until<T>(what: string, check: () => Promise<T | undefined>, opts: { timeoutMs: number; logsFrom?: string[]; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const logs = await Promise.all((opts.logsFrom ?? []).map(async (s) => `--- ${s}, last lines:\n${await logsOf(s)}`));
      throw new Error(`${what}: not within ${opts.timeoutMs / 1000} s${last ? ` (last error: ${(last as Error).message})` : ''}\n${logs.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1_000));
  }
}

async function inspect(id: string, format: string): Promise<string> {
  return (await run('docker', ['inspect', '--format', format, id], { timeoutMs: 30_000 })).stdout.trim();
}

interface PredictionBody {
  tickMs: number;
  /** The tick's trace and the event trace it links to (tracing on, issue 20). */
  traceId?: string;
  linkedTraceId?: string;
}
async function latestPrediction(): Promise<PredictionBody | undefined> {
  const r = await fetch(`http://127.0.0.1:${ports.inference}/v1/predictions/latest?symbol=BTCUSDT`, { signal: AbortSignal.timeout(5_000) });
  return r.status === 200 ? ((await r.json()) as PredictionBody) : undefined;
}
/** A prediction for a tick after `ms` (the stack is predicting again). */
const predictionAfter = (ms: number, why: string): Promise<PredictionBody> =>
  until(
    `a prediction for a tick after ${why}`,
    async () => {
      const p = await latestPrediction();
      return p && p.tickMs > ms ? p : undefined;
    },
    { timeoutMs: 180_000, logsFrom: ['inference', 'aggregator', 'ingestor'] },
  );

// Jaeger's query API (the stand-in answers the same JSON: test/compose/standins/jaeger)
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}
async function jaegerTraces(service: string, operation: string): Promise<JaegerTrace[]> {
  const q = new URLSearchParams({ service, operation, limit: '20' });
  const r = await fetch(`http://127.0.0.1:${ports.jaeger}/api/traces?${q}`, { signal: AbortSignal.timeout(5_000) });
  if (r.status !== 200) throw new Error(`GET /api/traces?${q}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { data: JaegerTrace[] }).data;
}
async function jaegerTrace(traceId: string): Promise<JaegerTrace | undefined> {
  const r = await fetch(`http://127.0.0.1:${ports.jaeger}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5_000) });
  return r.status === 200 ? ((await r.json()) as { data: JaegerTrace[] }).data[0] : undefined;
}
/** Each span's parent in one event's trace (docs/tracing.md, "Spans"). */
const EVENT_PARENT: Record<string, string | null> = {
  'ingestor frame': null,
  decode: 'ingestor frame',
  'gap check': 'ingestor frame',
  'kinesis put': 'ingestor frame',
  'kinesis wait': 'kinesis put',
  'aggregator apply': 'kinesis put',
  'redis publish': 'aggregator apply',
};
/**
 * Why `t` is not (yet) one event's connected trace across the two services, or undefined when it is: the ingestor's
 * and the aggregator's spans all there, one root, every other span's CHILD_OF parent in the trace and the one the
 * span tree says. (Each service exports on its own schedule: a trace is complete only once both have.)
 */
function connectedEventTrace(t: JaegerTrace): string | undefined {
  const byId = new Map(t.spans.map((s) => [s.spanID, s]));
  const names = new Set(t.spans.map((s) => s.operationName));
  for (const op of ['ingestor frame', 'kinesis put', 'aggregator apply', 'redis publish']) if (!names.has(op)) return `no ${op} span`;
  const services = new Set(t.spans.map((s) => t.processes[s.processID]?.serviceName));
  if (!services.has('ingestor') || !services.has('aggregator')) return `services ${[...services].join(', ')}`;
  for (const s of t.spans) {
    const parents = s.references.filter((r) => r.refType === 'CHILD_OF');
    const want = EVENT_PARENT[s.operationName];
    if (want === undefined) return `unexpected span ${s.operationName}`;
    if (want === null) {
      if (parents.length !== 0) return `${s.operationName} has a parent`;
      continue;
    }
    const parent = parents.length === 1 && parents[0]!.traceID === t.traceID ? byId.get(parents[0]!.spanID) : undefined;
    if (parent?.operationName !== want) return `${s.operationName}'s parent is ${parent?.operationName ?? 'not in the trace'}, not ${want}`;
  }
  return undefined;
}

async function healthOf(service: string): Promise<string> {
  const id = await container(service);
  return inspect(id, '{{ if .State.Health }}{{ .State.Health.Status }}{{ else }}{{ .State.Status }}{{ end }}');
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  // the engine, and which compose: Debian's docker-compose 1.29 here, Compose v2 (`docker compose`) elsewhere
  const info = await run('docker', ['info', '--format', '{{ .ServerVersion }}'], { timeoutMs: 20_000, allowFailure: true }).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
  if (info.code !== 0) throw new Error(`no Docker engine answers (docker info): ${lastLines(info.stderr, 5)}\nstart one (dockerd; .ci/run starts it where none answers)`);
  const v1 = await run('docker-compose', ['version', '--short'], { timeoutMs: 20_000, allowFailure: true }).catch(() => ({ code: -1, stdout: '', stderr: '' }));
  composeCmd = v1.code === 0 ? ['docker-compose', []] : ['docker', ['compose']];
  log(`engine ${info.stdout.trim()}, ${composeCmd.flat().join(' ')} ${v1.stdout.trim()}`);

  work = mkdtempSync(join(tmpdir(), 'compose-e2e-'));
  ports.inference = await freePort();
  ports.prometheus = await freePort();
  ports.alertmanager = await freePort();
  ports.jaeger = await freePort();

  // the webhook Alertmanager's Slack receiver posts to: on the host, at the default bridge's gateway
  // (the engine resolves host-gateway to this address: docker0's, where the host answers its containers)
  // (libuv lists only running interfaces, and docker0 has no carrier while no container sits on it: ask ip)
  const docker0 = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'docker0'], { timeoutMs: 10_000, allowFailure: true });
  const gateway = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(docker0.stdout)?.[1];
  if (!gateway) throw new Error('no docker0 interface with an IPv4 address: the webhook for Alertmanager has nowhere to listen');
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      alertsReceived.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve, reject) => webhook!.once('error', reject).listen(0, gateway, resolve));
  const hookPort = (webhook.address() as { port: number }).port;
  const secrets = join(work, 'secrets');
  mkdirSync(secrets);
  writeFileSync(join(secrets, 'slack_webhook_url'), `http://webhook.e2e:${hookPort}/slack\n`);
  writeFileSync(join(secrets, 'pagerduty_routing_key'), 'e2e-not-a-routing-key\n');
  writeFileSync(join(work, 'e2e.override.yml'), `services:\n  alertmanager:\n    extra_hosts: ['webhook.e2e:host-gateway']\n`);

  env = {
    ...process.env,
    COMPOSE_PROJECT_NAME: PROJECT,
    COMPOSE_PROFILES: 'sim,tracing', // no grafana: no Debian package, no stand-in
    // every frame traced: the trace is looked for within minutes, not found at 1 % by luck
    OTEL_TRACES_SAMPLER_ARG: '1',
    HOTPATH_INFERENCE_PORT: String(ports.inference),
    HOTPATH_PROMETHEUS_PORT: String(ports.prometheus),
    HOTPATH_ALERTMANAGER_PORT: String(ports.alertmanager),
    HOTPATH_JAEGER_PORT: String(ports.jaeger),
    HOTPATH_SECRETS_DIR: secrets,
  };
  delete env['OTEL_EXPORTER_OTLP_ENDPOINT']; // the endpoint deploy/.env gives (http://jaeger:4318) is what is tested

  const standins = await ensureStandins(log);
  log(`stand-ins: ${JSON.stringify(standins)}`);
  await compose(['down', '-v', '--remove-orphans'], 120_000, { allowFailure: true }); // what a killed earlier run left
  upStartedAt = Date.now();
  await compose(['up', '-d', '--build'], 900_000).catch(async (err: Error) => {
    // which service did not come up, and why: its state and last log lines
    const states = await Promise.all(SERVICES.map(async (s) => `${s}: ${await healthOf(s).catch(() => 'no container')}`));
    const broken = SERVICES.filter((_, i) => !/healthy$|running$/.test(states[i]!) || /unhealthy/.test(states[i]!));
    const logs = await Promise.all(broken.map(async (s) => `--- ${s}, last lines:\n${await logsOf(s, 25)}`));
    throw new Error(`docker-compose up failed: ${lastLines(err.message, 8)}\n${states.join('\n')}\n${logs.join('\n')}`);
  });
  log(`up -d --build returned after ${((Date.now() - upStartedAt) / 1000).toFixed(1)} s`);
}, 1_500_000);

afterAll(async () => {
  if (work && env['COMPOSE_PROJECT_NAME'])
    await compose(['down', '-v', '--remove-orphans', '--timeout', '20'], 180_000, { allowFailure: true }).catch((err: Error) => log(`down failed: ${err.message}`));
  await new Promise((r) => (webhook ? webhook.close(r) : r(undefined)));
  if (work) rmSync(work, { recursive: true, force: true });
}, 240_000);

describe('docker compose up: the whole stack in containers', () => {
  it('every service becomes healthy and a prediction arrives on the published port', async () => {
    const first = await until('a first prediction at 127.0.0.1:<inference port>', latestPrediction, { timeoutMs: 300_000, logsFrom: ['inference', 'aggregator', 'ingestor', 'kinesis'] });
    firstPredictionAfterMs = Date.now() - upStartedAt;
    log(`up → first prediction: ${(firstPredictionAfterMs / 1000).toFixed(1)} s (build included)`);
    expect(first.tickMs).toBeGreaterThan(0);
    for (const service of SERVICES) {
      const want = service === 'redis-exporter' ? 'running' : 'healthy';
      await until(`${service} ${want}`, async () => ((await healthOf(service)) === want ? true : undefined), { timeoutMs: 120_000, logsFrom: [service] });
    }
  }, 600_000);

  it('one market event is one trace across containers: ingestor → aggregator spans connected by their parents, in Jaeger', async () => {
    const trace = await until(
      'a trace in Jaeger with the ingestor’s and the aggregator’s spans, connected',
      async () => {
        const traces = await jaegerTraces('aggregator', 'aggregator apply');
        const connected = traces.find((t) => connectedEventTrace(t) === undefined);
        // none yet: why the newest is not, as the last error should the deadline pass
        if (!connected && traces[0]) throw new Error(`${traces.length} traces, the newest ${traces[0].traceID}: ${connectedEventTrace(traces[0])}`);
        return connected;
      },
      { timeoutMs: 180_000, logsFrom: ['jaeger', 'ingestor', 'aggregator'] },
    );
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const service = (s: JaegerSpan): string => trace.processes[s.processID]!.serviceName;
    const parentOf = (s: JaegerSpan): JaegerSpan | undefined => byId.get(s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
    // the hop between containers: the aggregator's apply is the child of the ingestor's Kinesis put (context in the envelope)
    const apply = trace.spans.find((s) => s.operationName === 'aggregator apply')!;
    expect([service(apply), parentOf(apply)?.operationName, service(parentOf(apply)!)]).toEqual(['aggregator', 'kinesis put', 'ingestor']);
    log(`trace ${trace.traceID}: ${trace.spans.map((s) => `${service(s)}/${s.operationName}`).join(', ')}`);
    // the stand-in's page for it (what the live page's links open)
    const page = await fetch(`http://127.0.0.1:${ports.jaeger}/trace/${trace.traceID}`, { signal: AbortSignal.timeout(5_000) });
    expect(page.status).toBe(200);
  }, 600_000);

  it('a prediction names its tick’s trace: in Jaeger an `inference tick` root span linking (FOLLOWS_FROM) to the connected event trace; the live page links to Jaeger', async () => {
    // a prediction whose tick was traced (its vector held a sampled event: at 100 % sampling, soon)
    const p = await until('a prediction with traceId and linkedTraceId', async () => ((await latestPrediction())?.linkedTraceId ? await latestPrediction() : undefined), {
      timeoutMs: 180_000,
      logsFrom: ['inference', 'aggregator'],
    });
    const traceId = p.traceId!;
    const linked = p.linkedTraceId!;
    // both traces in Jaeger (each service exports on its own schedule: wait for both, the event trace whole)
    const tick = await until(`the tick's trace ${traceId} in Jaeger`, () => jaegerTrace(traceId), { timeoutMs: 120_000, logsFrom: ['jaeger', 'inference'] });
    const span = tick.spans.find((s) => s.operationName === 'inference tick');
    expect([span?.operationName, span && tick.processes[span.processID]!.serviceName]).toEqual(['inference tick', 'inference']);
    // the root of a trace of its own, linked to the event trace (Jaeger's FOLLOWS_FROM is OTLP's link)
    expect(span!.references.filter((r) => r.refType === 'CHILD_OF')).toEqual([]);
    const link = span!.references.find((r) => r.refType === 'FOLLOWS_FROM');
    expect(link?.traceID).toBe(linked);
    expect(linked).not.toBe(traceId);
    const event = await until(
      `the linked event trace ${linked}, connected across ingestor and aggregator`,
      async () => {
        const t = await jaegerTrace(linked);
        const why = t && connectedEventTrace(t);
        if (why) throw new Error(why);
        return t;
      },
      { timeoutMs: 120_000, logsFrom: ['jaeger', 'ingestor', 'aggregator'] },
    );
    // the link names the event's span that wrote the vector the tick read
    expect(event.spans.find((s) => s.spanID === link!.spanID)?.operationName).toBe('redis publish');
    // the live page carries the trace UI's URL (INFERENCE_TRACE_UI_URL from compose, on the published Jaeger port)
    const page = await (await fetch(`http://127.0.0.1:${ports.inference}/`, { signal: AbortSignal.timeout(5_000) })).text();
    expect(page).toContain(`content="http://localhost:${ports.jaeger}/trace/{traceId}"`);
    log(`prediction tick ${p.tickMs}: trace ${traceId} → event trace ${linked}`);
  }, 600_000);

  it('Prometheus in the stack has every target up and every rule group loaded', async () => {
    const prom = `http://127.0.0.1:${ports.prometheus}`;
    const jobs = (parse(readFileSync(root('prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] }).scrape_configs.map((j) => j.job_name).sort();
    await until(
      'every scrape target up',
      async () => {
        const body = (await (await fetch(`${prom}/api/v1/targets`, { signal: AbortSignal.timeout(5_000) })).json()) as { data: { activeTargets: { health: string; labels: { job: string } }[] } };
        const targets = body.data.activeTargets;
        const jobsSeen = [...new Set(targets.map((t) => t.labels.job))].sort();
        return targets.length > 0 && targets.every((t) => t.health === 'up') && JSON.stringify(jobsSeen) === JSON.stringify(jobs) ? true : undefined;
      },
      { timeoutMs: 120_000, logsFrom: ['prometheus'] },
    );
    const groupsInFiles = readdirSync(root('prometheus/rules'))
      .filter((f) => f.endsWith('.yml'))
      .flatMap((f) => (parse(readFileSync(root(`prometheus/rules/${f}`), 'utf8')) as { groups: { name: string }[] }).groups.map((g) => g.name))
      .sort();
    const rules = (await (await fetch(`${prom}/api/v1/rules`, { signal: AbortSignal.timeout(5_000) })).json()) as { data: { groups: { name: string }[] } };
    expect(rules.data.groups.map((g) => g.name).sort()).toEqual(groupsInFiles);
  }, 600_000);

  // A crash, not `docker kill`: the engine takes `docker kill` as an operator's stop, and neither
  // `unless-stopped` nor `always` restarts after it (tried on 20.10). What the policy is for — the
  // service's own process dying (a crash, the OOM killer) — is its Node process killed with SIGKILL.
  it('a crashed aggregator and a crashed inference (Node process killed -9) come back by the restart policy, and predictions resume', async () => {
    for (const service of ['aggregator', 'inference']) {
      const id = await container(service);
      const restarts = Number(await inspect(id, '{{ .RestartCount }}'));
      const init = Number(await inspect(id, '{{ .State.Pid }}')); // docker-init (compose `init: true`); the service is its child
      const node = Number(readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(/\s+/)[0]);
      expect(readFileSync(`/proc/${node}/cmdline`, 'utf8')).toContain(`apps/${service}/bin/start.js`);
      const killedAt = Date.now();
      process.kill(node, 'SIGKILL');
      await until(
        `${service} restarted by its policy`,
        async () => (Number(await inspect(id, '{{ .RestartCount }}')) > restarts && (await inspect(id, '{{ .State.Running }}')) === 'true' ? true : undefined),
        { timeoutMs: 60_000, logsFrom: [service] },
      );
      await until(`${service} healthy again`, async () => ((await healthOf(service)) === 'healthy' ? true : undefined), { timeoutMs: 120_000, logsFrom: [service] });
      await predictionAfter(killedAt, `${service} was killed`);
    }
  }, 600_000);

  it('a Redis restart keeps its data (AOF volume), and the stack recovers', async () => {
    const id = await container('redis');
    const admin = (cmd: string): Promise<string> =>
      run('docker', ['exec', id, 'sh', '-c', `REDISCLI_AUTH="$(cat /run/secrets/redis/admin/password)" redis-cli --no-auth-warning --user admin ${cmd}`], { timeoutMs: 30_000 }).then((r) =>
        r.stdout.trim(),
      );
    const marker = `kept-${Date.now()}`;
    expect(await admin(`SET e2e:marker ${marker}`)).toBe('OK');
    expect(Number(await admin('EXISTS feat:{BTCUSDT}'))).toBe(1); // the aggregator's vector is there before
    const restartedAt = Date.now();
    await run('docker', ['restart', id], { timeoutMs: 60_000 });
    await until('redis healthy after its restart', async () => ((await healthOf('redis')) === 'healthy' ? true : undefined), { timeoutMs: 60_000, logsFrom: ['redis'] });
    expect(await admin('GET e2e:marker')).toBe(marker);
    await predictionAfter(restartedAt, 'Redis restarted');
  }, 600_000);

  it('Alertmanager delivers a firing alert to the webhook when exchange-sim stops', async () => {
    const before = alertsReceived.length;
    await run('docker', ['stop', await container('exchange-sim')], { timeoutMs: 60_000 });
    const alert = await until('a firing SbeStreamDisconnected at the webhook', async () => alertsReceived.slice(before).find((b) => b.includes('SbeStreamDisconnected') && b.includes('CRITICAL')), {
      timeoutMs: 240_000,
      logsFrom: ['alertmanager', 'prometheus', 'ingestor'],
    });
    expect(alert).toContain('#bitcoin-alerts');
  }, 600_000);

  it('down -v leaves no container, network or volume of the project', async () => {
    await compose(['down', '-v', '--remove-orphans', '--timeout', '20'], 180_000);
    const label = `label=com.docker.compose.project=${PROJECT}`;
    for (const what of [
      ['ps', '-aq', '--filter', label],
      ['network', 'ls', '-q', '--filter', label],
      ['volume', 'ls', '-q', '--filter', label],
    ]) {
      expect([what[0], (await run('docker', what, { timeoutMs: 30_000 })).stdout.trim()]).toEqual([what[0], '']);
    }
    log(JSON.stringify({ compose: 'e2e', up_to_first_prediction_s: Math.round(firstPredictionAfterMs / 100) / 10 }));
  }, 600_000);
});
