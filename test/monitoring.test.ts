/**
 * The monitoring configuration checked by the real tools (promtool, amtool,
 * from Debian's packages, which .ci/run installs) and against itself:
 * generated files up to date, every alert documented and linked to an
 * existing runbook. Which metrics exist is checked against running services
 * in monitoring.e2e.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { files } from '../scripts/monitoring/generate.ts';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { cwd: root('prometheus'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('monitoring configuration', () => {
  it('generated rules, rule tests and dashboards are what the tables produce', () => {
    for (const [path, text] of files()) expect([path, readFileSync(root(path), 'utf8') === text]).toEqual([path, true]);
  });

  it('promtool check config and check rules pass', () => {
    expect(run('promtool', ['check', 'config', 'prometheus.yml'])).toMatch(/SUCCESS: 42 rules found/);
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
      expect([r.alert, existsSync(root(r.annotations['runbook_url']!))]).toEqual([r.alert, true]);
    }
  });
});
