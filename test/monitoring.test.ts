/**
 * The monitoring configuration checked by the real tools (promtool, amtool,
 * from Debian's packages, which .ci/run installs) and against itself:
 * generated files up to date, every alert documented and linked to an
 * existing runbook. Which metrics exist is checked against running services
 * in monitoring.e2e.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@hotpath/config';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { dashboardQueries } from '../scripts/monitoring/dashboards.ts';
import { files } from '../scripts/monitoring/generate.ts';
import { ALERTS } from '../scripts/monitoring/rules.ts';
import { DEFAULT_RUNBOOK_BASE_URL, runbookBaseUrl } from '../scripts/monitoring/runbook-url.ts';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { cwd: root('prometheus'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('monitoring configuration', () => {
  it('generated rules, rule tests and dashboards are what the tables produce', () => {
    for (const [path, text] of files()) expect([path, readFileSync(root(path), 'utf8') === text]).toEqual([path, true]);
  });

  it('promtool check config and check rules pass', () => {
    expect(run('promtool', ['check', 'config', 'prometheus.yml'])).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    const rules = run('promtool', ['check', 'rules', 'rules/recording.yml', 'rules/alerts.yml']);
    expect(rules.match(/SUCCESS/g)?.length).toBe(2);
  });

  it('promtool test rules: every alert fires on its fixture and stays quiet on the healthy one', () => {
    const out = run('promtool', ['test', 'rules', 'tests/alerts.test.yml']);
    expect(out).toMatch(/SUCCESS/);
    const tests = (parse(readFileSync(root('prometheus/tests/alerts.test.yml'), 'utf8')) as { tests: { name: string }[] }).tests.map((t) => t.name);
    const alerts = (parse(readFileSync(root('prometheus/rules/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups[0]!.rules.map((r) => r.alert);
    for (const a of alerts) expect(tests).toEqual(expect.arrayContaining([`${a} fires`, `${a} stays quiet`]));
  });

  it('amtool check-config passes; no secret is committed in the Alertmanager config', () => {
    expect(run('amtool', ['check-config', 'alertmanager/alertmanager.yml'])).toMatch(/SUCCESS/);
    const text = readFileSync(root('prometheus/alertmanager/alertmanager.yml'), 'utf8');
    expect(text).not.toMatch(/hooks\.slack\.com|routing_key:|service_key:|api_url:/);
    expect(text).toMatch(/routing_key_file:/);
  });

  it('every alert has severity, tier, summary, description and a runbook that exists', () => {
    const groups = (
      parse(readFileSync(root('prometheus/rules/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] }
    ).groups;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(30);
    for (const r of rules) {
      expect([r.alert, ['critical', 'warning'].includes(r.labels['severity']!)]).toEqual([r.alert, true]);
      expect(r.labels['tier']).toMatch(/^[12]$/);
      expect(r.annotations['summary']!.length).toBeGreaterThan(10);
      expect(r.annotations['description']!.length).toBeGreaterThan(10);
      // absolute (a notification is read far from a checkout), and the file it names is in docs/runbooks
      const url = r.annotations['runbook_url']!;
      expect([r.alert, url.startsWith(`${DEFAULT_RUNBOOK_BASE_URL}/`)]).toEqual([r.alert, true]);
      expect([r.alert, existsSync(root(`docs/runbooks/${url.slice(DEFAULT_RUNBOOK_BASE_URL.length + 1)}`))]).toEqual([r.alert, true]);
    }
  });

  it('every runbook an alert links to starts with the checks to run first (commands, queries) and its links in docs/runbooks resolve', () => {
    const readme = readFileSync(root('docs/runbooks/README.md'), 'utf8');
    expect(readme).toMatch(/^## Running the checks$/m);
    for (const runbook of new Set(ALERTS.map((a) => a.runbook))) {
      const text = readFileSync(root(`docs/runbooks/${runbook}.md`), 'utf8');
      const first = /^## First checks[^\n]*\n([\s\S]*?)(?=^## )/m.exec(text)?.[1] ?? '';
      // something to paste: a fenced block, or inline commands/queries
      expect([runbook, /```|`(curl|docker|pnpm|redis-cli|[a-z_:]+\{?)[^`]*`/.test(first)]).toEqual([runbook, true]);
      expect([runbook, readme.includes(`(${runbook}.md)`)]).toEqual([runbook, true]);
      for (const [, file] of text.matchAll(/\]\(([a-z0-9-]+\.md|README\.md)(?:#[a-z0-9-]+)?\)/gi)) expect([runbook, file, existsSync(root(`docs/runbooks/${file}`))]).toEqual([runbook, file, true]);
    }
  });

  it('runbook links follow HOTPATH_RUNBOOK_BASE_URL; a bad one is refused naming the variable', () => {
    expect(runbookBaseUrl({})).toBe(DEFAULT_RUNBOOK_BASE_URL);
    expect(runbookBaseUrl({ HOTPATH_RUNBOOK_BASE_URL: 'https://wiki.example.com/hotpath/runbooks/' })).toBe('https://wiki.example.com/hotpath/runbooks');
    const alerts = files('https://wiki.example.com/hotpath/runbooks').get('prometheus/rules/alerts.yml')!;
    expect(alerts).toContain('runbook_url: https://wiki.example.com/hotpath/runbooks/target-down.md');
    expect(alerts).not.toContain(DEFAULT_RUNBOOK_BASE_URL);
    for (const bad of ['docs/runbooks', 'ftp://example.com/runbooks']) {
      expect(() => runbookBaseUrl({ HOTPATH_RUNBOOK_BASE_URL: bad })).toThrow(ConfigError);
      expect(() => runbookBaseUrl({ HOTPATH_RUNBOOK_BASE_URL: bad })).toThrow(/HOTPATH_RUNBOOK_BASE_URL/);
    }
  });

  it('every job Prometheus scrapes (compose mounts this very file) has exactly one up == 0 alert, naming job and instance', () => {
    const compose = parse(readFileSync(root('deploy/docker-compose.yml'), 'utf8')) as { services: Record<string, { volumes?: string[] }> };
    expect(compose.services['prometheus']!.volumes).toContain('../prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    const prom = parse(readFileSync(root('prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const jobs = prom.scrape_configs.map((j) => ({ job: j.job_name, instance: j.static_configs[0]!.targets[0]! }));
    expect(jobs.map((j) => j.job)).toEqual(expect.arrayContaining(['inference', 'aggregator', 'ingestor', 'exchange-sim', 'redis-exporter', 'prometheus']));
    const paging = new Set(['inference', 'aggregator', 'ingestor']);
    // every target down at once, for 5 minutes: the rules' own ALERTS series, counted per job
    const fixture = {
      rule_files: [root('prometheus/rules/recording.yml'), root('prometheus/rules/alerts.yml')],
      evaluation_interval: '15s',
      tests: [
        {
          interval: '15s',
          input_series: jobs.map((j) => ({ series: `up{job="${j.job}",instance="${j.instance}"}`, values: '0x40' })),
          promql_expr_test: [
            {
              expr: 'count by (job, instance, severity) (ALERTS{alertstate="firing", alertname=~"TargetDown|InferenceDown"})',
              eval_time: '5m',
              exp_samples: jobs.map((j) => ({ labels: `{job="${j.job}",instance="${j.instance}",severity="${paging.has(j.job) ? 'critical' : 'warning'}"}`, value: 1 })),
            },
          ],
        },
      ],
    };
    const path = join(mkdtempSync(join(tmpdir(), 'target-down-')), 'up.test.yml');
    writeFileSync(path, stringify(fixture));
    expect(run('promtool', ['test', 'rules', path])).toMatch(/SUCCESS/);
    // what the notification names: the job and the instance
    const rules = ALERTS.filter((a) => a.alert === 'TargetDown');
    expect(rules.map((r) => r.severity).sort()).toEqual(['critical', 'warning']);
    for (const r of rules) expect(r.summary).toBe('Cannot scrape {{ $labels.job }} at {{ $labels.instance }}');
  });

  it('AnomalyDetected is the contract’s (warning, for 1m, per symbol and kind) and the executive dashboard draws anomalies by kind', () => {
    const a = ALERTS.find((x) => x.alert === 'AnomalyDetected')!;
    expect({ expr: a.expr, for: a.for, severity: a.severity, runbook: a.runbook }).toEqual({ expr: 'max by (symbol, kind) (anomaly_active) == 1', for: '1m', severity: 'warning', runbook: 'anomaly' });
    const executive = JSON.parse(files().get('grafana/dashboards/executive.json')!) as { panels: { title: string; targets: { expr: string; legendFormat?: string }[] }[] };
    const panel = executive.panels.find((p) => /anomal/i.test(p.title))!;
    // never the sum over replicas: each one counts every symbol's events
    expect(panel.targets[0]!.expr).toMatch(/^sum by \(kind\) \(max by \(symbol, kind\) \(increase\(anomaly_events_total/);
    expect(panel.targets[0]!.legendFormat).toBe('{{kind}}');
    expect(dashboardQueries()).toContain(panel.targets[0]!.expr.replaceAll('$instance', '.*'));
  });
});
