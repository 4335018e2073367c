/**
 * Alerting for real: the services on loopback (exchange-sim → ingestor →
 * kinesalite → aggregator → redis-server → inference, plus redis_exporter),
 * Debian's Prometheus with the project's rules (targets rewritten to
 * loopback, 1 s scrapes) and Alertmanager with the project's routing (each
 * receiver rewritten to a local webhook). Steady state fires nothing (alerts
 * on latency limits aside: how fast this machine is, is bench/'s business); every
 * dashboard query returns data; no rule or panel names a metric nobody
 * exports; an injected gap moves the re-anchor counters; stopping the
 * simulator pages SbeStreamDisconnected through PagerDuty and Slack routes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { Aggregator, AggregatorConfigSchema } from 'aggregator';
import { ExchangeSimulator, SimConfigSchema } from 'exchange-sim';
import { InferenceConfigSchema, InferenceServer } from 'inference';
import { Ingestor, ingestorConfigFromEnv } from 'ingestor';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { freePort, RedisServer } from '@hotpath/state/testing';
import { dashboardQueries } from '../scripts/monitoring/dashboards.ts';
import { RECORDING, ALERTS } from '../scripts/monitoring/rules.ts';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
/** Metric names a PromQL expression reads (functions, keywords, labels, ranges and strings stripped). */
function metricNames(expr: string): string[] {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ').replace(/\boffset\s+\d+[smhdwy]/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'inf', 'nan']);
  const out: string[] = [];
  for (const m of e.matchAll(/(?<![0-9.a-zA-Z_:])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) if (!m[2] && !keywords.has(m[1]!)) out.push(m[1]!);
  return out;
}

const procs: ChildProcess[] = [];
const webhook: { path: string; alerts: { labels: Record<string, string>; status: string }[] }[] = [];
let hook: Server;
const redisServer = new RedisServer('everysec');
const emu = new KinesisEmulator();
let sim: ExchangeSimulator;
let ingestor: Ingestor;
let aggregator: Aggregator;
let inference: InferenceServer;
let exporterPort = 0;
let promPort = 0;
let amPort = 0;

async function query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
  return body.data.result;
}

/** Polls `probe` until it answers (a generous deadline, not a measurement). */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await probe().catch(() => undefined);
      if (v === undefined) throw new Error(`timed out waiting for ${what}`);
      return v;
    },
    { timeout: ms, interval: 500 },
  );
}

beforeAll(async () => {
  await redisServer.start();
  const admin = new Redis(redisServer.port, '127.0.0.1');
  await admin.config('SET', 'maxmemory', String(512 * 1024 * 1024));
  admin.disconnect();
  await emu.start();
  await emu.createStream('market-events', 1);
  sim = new ExchangeSimulator(SimConfigSchema.parse({ port: 0, speed: 1, apiKeys: ['e2e'], logLevel: 'silent' }));
  await sim.start();
  ingestor = new Ingestor(
    ingestorConfigFromEnv(
      {},
      { streamUrl: sim.urls.ws, restUrl: sim.urls.rest, symbols: ['BTCUSDT'], apiKey: 'e2e', kinesisEndpoint: emu.endpoint, port: 0, host: '127.0.0.1', reconnectBaseMs: 200, logLevel: 'silent' },
    ),
  );
  await ingestor.start();
  aggregator = new Aggregator(
    AggregatorConfigSchema.parse({ redisUrl: redisServer.url, symbols: ['BTCUSDT'], kinesisEndpoint: emu.endpoint, pollMs: 100, port: 0, host: '127.0.0.1', logLevel: 'silent' }),
  );
  await aggregator.start();
  inference = new InferenceServer(
    InferenceConfigSchema.parse({ redisUrl: redisServer.url, symbols: ['BTCUSDT'], port: 0, host: '127.0.0.1', modelPath: root('models/btcusdt-10s/model.onnx'), logLevel: 'silent' }),
  );
  await inference.start();

  exporterPort = await freePort();
  procs.push(spawn('prometheus-redis-exporter', ['-redis.addr', `redis://127.0.0.1:${redisServer.port}`, '-web.listen-address', `127.0.0.1:${exporterPort}`], { stdio: 'ignore' }));

  hook = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      webhook.push({ path: req.url ?? '', alerts: (JSON.parse(body) as { alerts: { labels: Record<string, string>; status: string }[] }).alerts });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;

  const dir = mkdtempSync(join(tmpdir(), 'monitoring-'));
  // the project's Alertmanager routing, every receiver pointed at the local webhook (path = receiver name)
  const am = parse(readFileSync(root('prometheus/alertmanager/alertmanager.yml'), 'utf8')) as { templates: string[]; receivers: { name: string }[] };
  am.receivers = am.receivers.map((r) => ({ name: r.name, webhook_configs: [{ url: `${hookUrl}/${r.name}`, send_resolved: false }] }));
  // (relative to the config's folder, which is a temporary one here; the texts are alertmanager-templates.test.ts's)
  am.templates = am.templates.map((t) => root(`prometheus/alertmanager/${t}`));
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(am));
  amPort = await freePort();
  procs.push(
    spawn('prometheus-alertmanager', [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='], {
      stdio: 'ignore',
    }),
  );

  // the project's Prometheus configuration, targets on loopback, everything every second
  const ports: Record<string, number> = {
    inference: inference.port,
    aggregator: aggregator.httpPort,
    ingestor: ingestor.httpPort,
    'exchange-sim': Number(new URL(sim.urls.rest).port),
    'redis-exporter': exporterPort,
  };
  promPort = await freePort();
  ports['prometheus'] = promPort;
  const prom = parse(readFileSync(root('prometheus/prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    rule_files: string[];
    alerting: unknown;
    scrape_configs: { job_name: string; scrape_interval?: string; static_configs: { targets: string[] }[] }[];
  };
  prom.global['scrape_interval'] = '1s';
  prom.global['evaluation_interval'] = '1s';
  prom.rule_files = prom.rule_files.map((f) => root(`prometheus/${f}`));
  prom.alerting = { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] };
  for (const job of prom.scrape_configs) {
    job.scrape_interval = '1s';
    job.static_configs = [{ targets: [`127.0.0.1:${ports[job.job_name]}`] }];
  }
  writeFileSync(join(dir, 'prometheus.yml'), stringify(prom));
  procs.push(spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' }));

  await until('every target up', 60_000, async () => {
    const up = await query('up');
    return up.length === Object.keys(ports).length && up.every((s) => s.value[1] === '1') ? true : undefined;
  });
}, 120_000);

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await inference?.stop();
  await aggregator?.stop();
  await ingestor?.stop();
  await sim?.stop().catch(() => undefined);
  await emu.stop();
  await redisServer.stop();
  await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
});

describe('monitoring against real Prometheus and Alertmanager', () => {
  it('no rule or dashboard panel names a metric that no running service exports', async () => {
    const exported = new Set<string>(['up', 'ALERTS', ...RECORDING.map((r) => r.record)]);
    const urls = [inference.port, aggregator.httpPort, ingestor.httpPort, Number(new URL(sim.urls.rest).port), exporterPort].map((p) => `http://127.0.0.1:${p}/metrics`);
    for (const url of urls) {
      const text = await (await fetch(url)).text();
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        exported.add(m[1]!);
        if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m[1] + s);
        if (m[2] === 'summary') for (const s of ['_sum', '_count']) exported.add(m[1] + s);
      }
    }
    const referenced = new Map<string, string>();
    for (const r of RECORDING) for (const n of metricNames(r.expr)) referenced.set(n, `recording ${r.record}`);
    for (const a of ALERTS) for (const n of metricNames(a.expr)) referenced.set(n, `alert ${a.alert}`);
    for (const q of dashboardQueries()) for (const n of metricNames(q)) referenced.set(n, `panel query ${q}`);
    expect(referenced.size).toBeGreaterThan(40);
    const missing = [...referenced].filter(([n]) => !exported.has(n)).map(([n, where]) => `${n} (${where})`);
    expect(missing).toEqual([]);
  });

  // Alerts on a latency limit (a quantile of a duration, the latency error budget) say how fast this machine is, which
  // is the benchmarks' business (bench/): a busy test machine may fire them. Everything else must stay quiet.
  // AnomalyDetected says the (simulated) market or this machine's timing is unusual, not that the stack is broken.
  const LATENCY_LIMITS = new Set([...ALERTS.filter((a) => /_seconds:p\d+_|latency_over_/.test(a.expr)).map((a) => a.alert), 'AnomalyDetected']);

  it('steady state: every dashboard query returns data and no alert fires (but those on latency limits)', async () => {
    expect(LATENCY_LIMITS).toContain('InferenceLatencyP99High'); // (the pattern still finds them)
    expect(LATENCY_LIMITS).not.toContain('SbeStreamDisconnected');
    for (const q of dashboardQueries()) {
      await until(`data for ${q}`, 90_000, async () => ((await query(q)).length > 0 ? true : undefined));
    }
    // rates over windows longer than the run so far read low at first (PredictionFrequencyLow, SbeThroughputLow go
    // pending); once the windows fill, a healthy stack has nothing firing and nothing critical pending. (Trend
    // warnings — predict_linear over 30 minutes — may sit pending on a few minutes of history; they need 10 minutes to fire.)
    const alerts = async (q: string) => (await query(q)).filter((x) => !LATENCY_LIMITS.has(x.metric['alertname']!)).map((x) => `${x.metric['alertname']} ${x.metric['alertstate']}`);
    let last: string[] = [];
    await until('no alert firing, no critical alert pending', 180_000, async () => {
      last = await alerts('ALERTS{alertstate="firing"} or ALERTS{severity="critical"}');
      return last.length === 0 ? true : undefined;
    }).catch(() => expect(last).toEqual([]));
    expect(await alerts('ALERTS{alertstate="firing"}')).toEqual([]);
    expect(webhook.flatMap((w) => w.alerts).filter((a) => !LATENCY_LIMITS.has(a.labels['alertname']!))).toEqual([]);
  }, 280_000);

  it('an injected gap moves the re-anchor counters in Prometheus', async () => {
    const count = async (q: string) => Number((await query(q))[0]?.value[1] ?? 0);
    const gaps0 = await count('sum(ingestor_sbe_sequence_gaps_total)');
    const ok0 = await count('sum(aggregator_reanchor_operations_total{status="success"})');
    sim.inject({ type: 'dropDepthDiffs', symbol: 'BTCUSDT', count: 2 });
    await until('the gap counted', 30_000, async () => ((await count('sum(ingestor_sbe_sequence_gaps_total)')) > gaps0 ? true : undefined));
    await until('a successful re-anchor counted', 30_000, async () => ((await count('sum(aggregator_reanchor_operations_total{status="success"})')) > ok0 ? true : undefined));
  }, 70_000);

  it('stopping the simulator pages SbeStreamDisconnected through the critical routes', async () => {
    const simPort = new URL(sim.urls.rest).port; // (a stopped simulator has no address)
    await sim.stop();
    const paged = await until('the page at the webhook', 120_000, async () => {
      const hits = webhook.filter((w) => w.alerts.some((a) => a.labels['alertname'] === 'SbeStreamDisconnected' && a.status === 'firing'));
      const paths = new Set(hits.map((h) => h.path));
      return paths.has('/pagerduty-critical') && paths.has('/slack-critical') ? hits : undefined;
    });
    expect(paged[0]!.alerts.find((a) => a.labels['alertname'] === 'SbeStreamDisconnected')!.labels).toMatchObject({ severity: 'critical', service: 'ingestor', job: 'ingestor' });
    // the simulator's own scrape target is gone too: TargetDown (a warning, for 2 m) is at least pending, naming job and instance
    const down = await until('TargetDown for exchange-sim in ALERTS', 30_000, async () => (await query('ALERTS{alertname="TargetDown", job="exchange-sim"}'))[0]);
    expect(down.metric).toMatchObject({ severity: 'warning', service: 'exchange-sim', instance: `127.0.0.1:${simPort}` });
    // warnings never reach the pager
    expect(
      webhook
        .filter((w) => w.path === '/pagerduty-critical')
        .flatMap((w) => w.alerts)
        .every((a) => a.labels['severity'] === 'critical'),
    ).toBe(true);
  }, 130_000);
});
