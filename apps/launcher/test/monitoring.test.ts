/**
 * --monitoring's configuration: the project's prometheus.yml with each job at the launcher's port (jobs it
 * does not run left out), its rules by absolute path; the project's alertmanager.yml with routes kept and
 * receivers that send nothing; the binaries found under either of Alertmanager's names. (The launcher
 * running them for real: launcher.terminal.e2e.test.ts.)
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { healthWord } from '../src/child.ts';
import { alertmanagerConfig, findBinary, findMonitoringBinaries, monitoringLogLevel, prometheusConfig, writeMonitoringFiles } from '../src/monitoring.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('prometheusConfig', () => {
  it("targets the launcher's ports, leaves out the jobs it does not run, reads the project's rule files", () => {
    const yaml = prometheusConfig(readFileSync(join(root, 'prometheus/prometheus.yml'), 'utf8'), join(root, 'prometheus'), { inference: 19092, ingestor: 19090, prometheus: 19999 }, 19093);
    const c = parse(yaml) as { rule_files: string[]; alerting: unknown; scrape_configs: { job_name: string; scrape_interval?: string; static_configs: { targets: string[] }[] }[] };
    expect(c.scrape_configs.map((j) => [j.job_name, j.static_configs[0]!.targets])).toEqual([
      ['inference', ['127.0.0.1:19092']],
      ['ingestor', ['127.0.0.1:19090']],
      ['prometheus', ['127.0.0.1:19999']],
    ]);
    // the project's own intervals stay
    expect(c.scrape_configs[0]!.scrape_interval).toBe('5s');
    expect(c.rule_files.length).toBeGreaterThan(0);
    for (const f of c.rule_files) expect(readFileSync(f, 'utf8').length).toBeGreaterThan(0);
    expect(c.alerting).toEqual({ alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:19093'] }] }] });
  });
});

describe('alertmanagerConfig', () => {
  it('keeps routes and inhibitions, sends nothing, reads templates from the project', () => {
    const project = `
global: { resolve_timeout: 5m, slack_api_url_file: /etc/alertmanager/secrets/slack }
templates: ['templates/*.tmpl', '/etc/alertmanager/more/*.tmpl']
route: { receiver: a, routes: [{ matchers: ['severity="critical"'], receiver: b }] }
inhibit_rules: [{ source_matchers: ['x="1"'], target_matchers: ['y="2"'] }]
receivers:
  - name: a
    slack_configs: [{ api_url_file: /etc/alertmanager/secrets/slack_webhook_url }]
  - name: b
    pagerduty_configs: [{ routing_key_file: /etc/alertmanager/secrets/key }]
`;
    const c = parse(alertmanagerConfig(project, '/repo/prometheus/alertmanager')) as Record<string, unknown>;
    expect(c['receivers']).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect(c['templates']).toEqual(['/repo/prometheus/alertmanager/templates/*.tmpl', '/repo/prometheus/alertmanager/more/*.tmpl']);
    expect(c['global']).toEqual({ resolve_timeout: '5m' });
    expect(c['route']).toEqual({ receiver: 'a', routes: [{ matchers: ['severity="critical"'], receiver: 'b' }] });
    expect(c['inhibit_rules']).toEqual([{ source_matchers: ['x="1"'], target_matchers: ['y="2"'] }]);
  });

  it("the project's own file loads the same way (every receiver kept by name)", () => {
    const project = readFileSync(join(root, 'prometheus/alertmanager/alertmanager.yml'), 'utf8');
    const c = parse(alertmanagerConfig(project, join(root, 'prometheus/alertmanager'))) as { receivers: { name: string }[] };
    expect(c.receivers.map((r) => r.name)).toEqual((parse(project) as { receivers: { name: string }[] }).receivers.map((r) => r.name));
  });
});

describe('writeMonitoringFiles', () => {
  it('writes both configurations to a temporary directory and runs both on loopback, Alertmanager without a cluster', () => {
    const f = writeMonitoringFiles(root, { inference: 19092 }, 19999, 19093);
    expect(f.prometheusArgs).toEqual([`--config.file=${f.dir}/prometheus.yml`, `--storage.tsdb.path=${f.dir}/prometheus`, '--web.listen-address=127.0.0.1:19999', '--log.level=warn']);
    expect(f.alertmanagerArgs).toEqual([
      `--config.file=${f.dir}/alertmanager.yml`,
      `--storage.path=${f.dir}/alertmanager`,
      '--web.listen-address=127.0.0.1:19093',
      '--cluster.listen-address=',
      '--log.level=warn',
    ]);
    // one step quieter than the stack: their info lines are start-up chatter
    expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map(monitoringLogLevel)).toEqual(['info', 'info', 'warn', 'warn', 'error', 'error', 'error']);
    const prom = parse(readFileSync(join(f.dir, 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] };
    expect(prom.scrape_configs.map((j) => j.job_name)).toEqual(['inference', 'prometheus']);
    expect((parse(readFileSync(join(f.dir, 'alertmanager.yml'), 'utf8')) as { route: unknown }).route).toBeDefined();
    rmSync(f.dir, { recursive: true });
  });
});

describe('findMonitoringBinaries', () => {
  it("finds Alertmanager under Debian's name or upstream's, and names what is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), 'launcher-bin-'));
    const exe = (name: string) => {
      writeFileSync(join(dir, name), '#!/bin/sh\n');
      chmodSync(join(dir, name), 0o755);
    };
    expect(findMonitoringBinaries(dir)).toEqual({ missing: ['prometheus', 'alertmanager'] });
    exe('prometheus');
    writeFileSync(join(dir, 'alertmanager'), 'not executable');
    expect(findMonitoringBinaries(dir)).toEqual({ missing: ['alertmanager'] });
    exe('prometheus-alertmanager');
    expect(findMonitoringBinaries(`/nonexistent:${dir}`)).toEqual({ prometheus: join(dir, 'prometheus'), alertmanager: join(dir, 'prometheus-alertmanager') });
    expect(findBinary(['sh'], '')).toBeUndefined();
  });
});

describe('healthWord (the status line)', () => {
  it('starting until the first answer, down once answered and silent or not running', () => {
    expect(healthWord(true, false, undefined)).toBe('starting');
    expect(healthWord(true, true, undefined)).toBe('down');
    expect(healthWord(false, false, undefined)).toBe('down');
    expect(healthWord(false, true, 200)).toBe('down');
    expect(healthWord(true, true, 200)).toBe('ok');
    expect(healthWord(true, true, 503)).toBe('503');
  });
});
