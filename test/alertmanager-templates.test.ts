/**
 * The notification texts (prometheus/alertmanager/templates/hotpath.tmpl) as the on-call engineer gets them:
 * rendered by amtool from the project's templates, then by a real Alertmanager (Debian's 0.25, as in
 * monitoring.e2e.test.ts) running the project's routing with its Slack and PagerDuty receivers pointed at a local
 * server — the very JSON those services would receive. Alerts are built from the generated rules (labels,
 * annotations with the label templates rendered, the `value` Prometheus would render), so a rule that loses its
 * runbook or value shows up here.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort } from '@hotpath/state/testing';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const TEMPLATES = root('prometheus/alertmanager/templates/*.tmpl');

interface Rule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const RULES = (parse(readFileSync(root('prometheus/rules/alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

/**
 * An alert as Prometheus would send it for rule `name` on a series with `series` labels, `value` being what
 * `{{ $value | … }}` rendered; `severity` picks among rules of one name (TargetDown pages for some jobs, warns for others).
 */
function alertOf(name: string, series: Record<string, string>, value?: string, severity?: string) {
  const rule = RULES.find((r) => r.alert === name && (severity === undefined || r.labels['severity'] === severity))!;
  const render = (t: string): string => t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => series[l] ?? '');
  const annotations = Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, k === 'value' ? (value ?? '') : render(v)]));
  const labels = { alertname: name, ...Object.fromEntries(Object.entries(rule.labels).map(([k, v]) => [k, render(v)])), ...series };
  return { labels, annotations, startsAt: '2026-11-30T11:00:00Z', generatorURL: 'http://prometheus.example/graph?g0.expr=up' };
}

const LATENCY = alertOf('InferenceLatencyP99High', { job: 'inference', instance: 'inference:9092', symbol: 'BTCUSDT' }, '199ms');
const ANOMALY = alertOf('AnomalyDetected', { symbol: 'ETHUSDT', kind: 'price_jump' });

describe('Alertmanager templates', () => {
  it('amtool renders the title with symbol and value, the text with the runbook link', () => {
    const dir = mkdtempSync(join(tmpdir(), 'am-render-'));
    const data = {
      receiver: 'slack-critical',
      status: 'firing',
      alerts: [{ status: 'firing', ...LATENCY, endsAt: '0001-01-01T00:00:00Z', fingerprint: '1' }],
      groupLabels: { alertname: 'InferenceLatencyP99High' },
      commonLabels: LATENCY.labels,
      commonAnnotations: LATENCY.annotations,
      externalURL: 'http://alertmanager.example',
    };
    writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
    const render = (text: string): string =>
      execFileSync('amtool', ['template', 'render', `--template.glob=${TEMPLATES}`, `--template.text=${text}`, `--template.data=${join(dir, 'data.json')}`], { encoding: 'utf8' });
    expect(render('{{ template "hotpath.title" . }}')).toBe('[CRITICAL] InferenceLatencyP99High BTCUSDT = 199ms: Inference P99 latency above 100 ms');
    expect(render('{{ template "hotpath.runbook" . }}')).toBe('https://github.com/hotpath-dev/hotpath/blob/main/docs/runbooks/inference-latency-high.md');
    const text = render('{{ template "hotpath.text" . }}');
    expect(text).toContain('Runbook: https://github.com/hotpath-dev/hotpath/blob/main/docs/runbooks/inference-latency-high.md');
    expect(text).toContain('(instance inference:9092)');
    expect(text).toContain('Since 2026-11-30 11:00:00 UTC');

    // a group (routes group by alertname and service): each alert's symbol (or instance), kind and value in the title
    const second = alertOf('AnomalyDetected', { symbol: 'BTCUSDT', kind: 'trade_burst' });
    const down = alertOf('TargetDown', { job: 'redis-exporter', instance: 'redis-exporter:9121' }, undefined, 'warning');
    for (const [alerts, title] of [
      [[ANOMALY, second], '[WARNING] AnomalyDetected ×2: ETHUSDT price_jump; BTCUSDT trade_burst;'],
      [[down, { ...down, labels: { ...down.labels, instance: 'redis-exporter:9122' } }], '[WARNING] TargetDown ×2: redis-exporter:9121; redis-exporter:9122;'],
    ] as const) {
      const common = Object.fromEntries(Object.entries(alerts[0].labels).filter(([k, v]) => (alerts[1].labels as Record<string, string>)[k] === v));
      writeFileSync(
        join(dir, 'data.json'),
        JSON.stringify({ ...data, alerts: alerts.map((a) => ({ status: 'firing', ...a, endsAt: '0001-01-01T00:00:00Z', fingerprint: '1' })), commonLabels: common, commonAnnotations: {} }),
      );
      expect(render('{{ template "hotpath.title" . }}')).toBe(title);
      expect(render('{{ template "hotpath.runbook" . }}')).toBe(alerts[0].annotations['runbook_url']);
    }
  });

  describe('a real Alertmanager with the project’s routing', () => {
    const received: { path: string; body: Record<string, unknown> }[] = [];
    let hook: Server;
    let am: ChildProcess | undefined;
    let amPort = 0;

    beforeAll(async () => {
      hook = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
          // PagerDuty's Events API answers 202; Slack 200 "ok"
          res.writeHead(req.url === '/pagerduty' ? 202 : 200, { 'content-type': 'application/json' }).end('{"status":"success"}');
        });
      });
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
      const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;

      const dir = mkdtempSync(join(tmpdir(), 'am-templates-'));
      writeFileSync(join(dir, 'slack_webhook_url'), `${hookUrl}/slack\n`);
      writeFileSync(join(dir, 'pagerduty_routing_key'), 'test-not-a-routing-key\n');
      // the project's config; only where secrets live and where PagerDuty is, and the waits (not under test) shortened
      const text = readFileSync(root('prometheus/alertmanager/alertmanager.yml'), 'utf8')
        .replaceAll('/etc/alertmanager/secrets/', `${dir}/`)
        .replace(/group_wait: \d+s/g, 'group_wait: 1s');
      const config = parse(text) as { templates: string[]; receivers: { name: string; pagerduty_configs?: Record<string, unknown>[] }[] };
      config.templates = [TEMPLATES];
      for (const r of config.receivers) for (const pd of r.pagerduty_configs ?? []) pd['url'] = `${hookUrl}/pagerduty`;
      writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
      amPort = await freePort();
      am = spawn(
        'prometheus-alertmanager',
        [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='],
        { stdio: 'ignore' },
      );
      await vi.waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${amPort}/-/ready`);
          if (!res.ok) throw new Error(`not ready: ${res.status}`);
        },
        { timeout: 30_000, interval: 200 },
      );
    }, 40_000);

    afterAll(async () => {
      am?.kill('SIGTERM');
      await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
    });

    it('Slack and PagerDuty get the symbol, the value and the runbook link', async () => {
      const res = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([LATENCY, ANOMALY]) });
      expect(res.status).toBe(200);

      type Slack = { channel: string; attachments: { title: string; title_link: string; text: string }[] };
      const slack = (channel: string) => received.filter((r) => r.path === '/slack' && (r.body as Slack).channel === channel).map((r) => (r.body as Slack).attachments[0]!);
      const delivered = await vi.waitFor(
        () => {
          const critical = slack('#bitcoin-alerts')[0];
          const warning = slack('#bitcoin-monitoring')[0];
          const page = received.find((r) => r.path === '/pagerduty')?.body;
          if (!critical || !warning || !page) throw new Error(`delivered so far: ${received.map((r) => r.path).join(', ')}`);
          return { critical, warning, page };
        },
        { timeout: 30_000, interval: 200 },
      );

      const latencyRunbook = 'https://github.com/hotpath-dev/hotpath/blob/main/docs/runbooks/inference-latency-high.md';
      expect(delivered.critical.title).toBe('[CRITICAL] InferenceLatencyP99High BTCUSDT = 199ms: Inference P99 latency above 100 ms');
      expect(delivered.critical.title_link).toBe(latencyRunbook);
      expect(delivered.critical.text).toContain(`Runbook: ${latencyRunbook}`);

      expect(delivered.warning.title).toBe('[WARNING] AnomalyDetected ETHUSDT price_jump anomaly for over a minute');
      expect(delivered.warning.title_link).toBe('https://github.com/hotpath-dev/hotpath/blob/main/docs/runbooks/anomaly.md');
      expect(delivered.warning.text).toContain('The price_jump detector has fired on every tick of ETHUSDT');

      const page = delivered.page as { routing_key: string; payload: { summary: string; custom_details: Record<string, string> }; links: { href: string; text: string }[] };
      expect(page.routing_key).toBe('test-not-a-routing-key');
      expect(page.payload.summary).toBe('[CRITICAL] InferenceLatencyP99High BTCUSDT = 199ms: Inference P99 latency above 100 ms');
      expect(page.payload.custom_details['runbook']).toBe(latencyRunbook);
      expect(page.payload.custom_details['symbol']).toBe('BTCUSDT');
      expect(page.links).toEqual([{ href: latencyRunbook, text: 'Runbook' }]);
      // warnings never page
      expect(received.filter((r) => r.path === '/pagerduty').every((r) => JSON.stringify(r.body).includes('InferenceLatencyP99High'))).toBe(true);
    }, 40_000);
  });
});
