/**
 * Grafana without Grafana: no Grafana server can run here, so the committed
 * dashboards and provisioning files are checked against what Grafana 11
 * reads from them. The dashboards are built with the Grafana Foundation SDK's
 * typed builders (tsc checks their fields); this checks what types cannot:
 * schema version, datasource and variable wiring, query ids, layout, links,
 * and the provisioning files' fields. That the committed JSON is what the
 * generator writes is checked in monitoring.test.ts; that the queries run, in
 * monitoring.e2e.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { dashboardQueries } from '../scripts/monitoring/dashboards.ts';
import { RECORDING } from '../scripts/monitoring/rules.ts';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const filesIn = (dir: string, ext: string): string[] =>
  readdirSync(root(dir))
    .filter((f) => f.endsWith(ext))
    .map((f) => `${dir}/${f}`);

/** Grafana 11.0 writes schemaVersion 39; older dashboards are migrated on load, which provisioned ones must not need. */
const GRAFANA_11_SCHEMA_VERSION = 39;
const GRID_COLUMNS = 24;
/** What every panel and query must point at: the Prometheus the `$datasource` variable selects. */
const VIA_DATASOURCE_VARIABLE = { type: 'prometheus', uid: '${datasource}' };
const INSTANCE_MATCHER = 'instance=~"$instance"';

const DataSourceRef = z.object({ type: z.string(), uid: z.string() });
const GridPos = z.object({ x: z.number().int().min(0), y: z.number().int().min(0), w: z.number().int().min(1).max(GRID_COLUMNS), h: z.number().int().min(1) });
const Target = z.object({ refId: z.string().min(1), expr: z.string().min(1), datasource: DataSourceRef, legendFormat: z.string().optional() });
const Panel = z.discriminatedUnion('type', [
  z.object({ type: z.literal('row'), id: z.number().int().positive(), title: z.string().min(1), gridPos: GridPos, collapsed: z.boolean(), panels: z.array(z.unknown()) }),
  z.object({
    type: z.enum(['stat', 'timeseries']),
    id: z.number().int().positive(),
    title: z.string().min(1),
    gridPos: GridPos,
    datasource: DataSourceRef,
    targets: z.array(Target).min(1),
    fieldConfig: z.object({
      defaults: z.object({
        unit: z.string(),
        thresholds: z.object({ mode: z.enum(['absolute', 'percentage']), steps: z.array(z.object({ color: z.string(), value: z.number().nullable() })).min(1) }),
      }),
      overrides: z.array(z.unknown()),
    }),
  }),
]);
const Variable = z.object({
  type: z.enum(['datasource', 'query', 'custom', 'constant', 'interval', 'textbox', 'adhoc']),
  name: z.string().regex(/^\w+$/),
  query: z.union([z.string(), z.record(z.unknown())]),
  datasource: DataSourceRef.optional(),
  current: z.object({ text: z.union([z.string(), z.array(z.string())]), value: z.union([z.string(), z.array(z.string())]) }).optional(),
  multi: z.boolean(),
  includeAll: z.boolean(),
  allValue: z.string().optional(),
});
const Link = z.object({ title: z.string().min(1), type: z.enum(['link', 'dashboards']), url: z.string().optional(), tags: z.array(z.string()), keepTime: z.boolean(), includeVars: z.boolean() });
const DashboardFile = z.object({
  uid: z.string().regex(/^[\w-]{1,40}$/),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(GRAFANA_11_SCHEMA_VERSION),
  tags: z.array(z.string()),
  time: z.object({ from: z.string(), to: z.string() }),
  refresh: z.string(),
  templating: z.object({ list: z.array(Variable) }),
  annotations: z.object({ list: z.array(z.unknown()) }),
  links: z.array(Link),
  panels: z.array(Panel).min(1),
});
type DashboardFile = z.infer<typeof DashboardFile>;

// The fields Grafana 11's file provisioning reads (pkg/services/provisioning); strict, so a misspelt key fails here
// instead of being ignored by Grafana.
const DatasourcesFile = z
  .object({
    apiVersion: z.literal(1),
    datasources: z
      .array(
        z
          .object({
            name: z.string().min(1),
            type: z.string().min(1),
            uid: z.string().regex(/^[\w-]{1,40}$/),
            access: z.enum(['proxy', 'direct']),
            url: z.string().url(),
            orgId: z.number().int().optional(),
            isDefault: z.boolean().optional(),
            editable: z.boolean().optional(),
            jsonData: z.record(z.unknown()).optional(),
            secureJsonData: z.record(z.string()).optional(),
          })
          .strict(),
      )
      .min(1),
    deleteDatasources: z.array(z.object({ name: z.string(), orgId: z.number().int() })).optional(),
  })
  .strict();
const DashboardProvidersFile = z
  .object({
    apiVersion: z.literal(1),
    providers: z
      .array(
        z
          .object({
            name: z.string().min(1),
            type: z.literal('file'),
            orgId: z.number().int().optional(),
            folder: z.string().optional(),
            folderUid: z.string().optional(),
            disableDeletion: z.boolean().optional(),
            updateIntervalSeconds: z.number().int().optional(),
            allowUiUpdates: z.boolean().optional(),
            options: z.object({ path: z.string().min(1), foldersFromFilesStructure: z.boolean().optional() }).strict(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

const dashboards: [string, DashboardFile][] = filesIn('grafana/dashboards', '.json').map((path) => [path, DashboardFile.parse(JSON.parse(readFileSync(root(path), 'utf8')))]);
const datasourceFiles = filesIn('grafana/provisioning/datasources', '.yml').map((path) => DatasourcesFile.parse(parse(readFileSync(root(path), 'utf8'))));
const providerFiles = filesIn('grafana/provisioning/dashboards', '.yml').map((path) => DashboardProvidersFile.parse(parse(readFileSync(root(path), 'utf8'))));
const queryPanels = (d: DashboardFile) => d.panels.flatMap((p) => (p.type === 'row' ? [] : [p]));
const variable = (d: DashboardFile, name: string) => d.templating.list.find((v) => v.name === name);

const identifiers = (expr: string): string[] => expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/[a-zA-Z_][\w:]*/g) ?? [];
const recordingRule = new Map(RECORDING.map((r) => [r.record, r.expr]));
/** A recording rule keeps `instance` unless it aggregates without grouping by it. */
const keepsInstance = (expr: string): boolean => !/\b(sum|min|max|avg|count|histogram_quantile)\b/.test(expr) || /\bby \([^)]*\binstance\b/.test(expr);

describe('Grafana dashboards, as Grafana 11 loads them', () => {
  it('there are the two dashboards, with unique uids', () => {
    expect(dashboards.map(([, d]) => d.uid).sort()).toEqual(['hotpath-executive', 'hotpath-technical']);
  });

  it.each(dashboards)('%s: panel ids are unique; the grid is 24 columns wide and no two panels overlap', (_path, d) => {
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) expect([p.title, p.gridPos.x + p.gridPos.w <= GRID_COLUMNS]).toEqual([p.title, true]);
    const overlaps = (a: z.infer<typeof GridPos>, b: z.infer<typeof GridPos>) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    const clashes = d.panels.flatMap((a, i) =>
      d.panels
        .slice(i + 1)
        .filter((b) => overlaps(a.gridPos, b.gridPos))
        .map((b) => `${a.title} × ${b.title}`),
    );
    expect(clashes).toEqual([]);
  });

  it.each(dashboards)('%s: every panel and query reads ${datasource}; every query has its own refId and an expression', (_path, d) => {
    for (const p of queryPanels(d)) {
      expect([p.title, p.datasource]).toEqual([p.title, VIA_DATASOURCE_VARIABLE]);
      expect(new Set(p.targets.map((t) => t.refId)).size).toBe(p.targets.length);
      for (const t of p.targets) expect([t.expr, t.datasource]).toEqual([t.expr, VIA_DATASOURCE_VARIABLE]);
    }
  });

  it.each(dashboards)('%s: $datasource defaults to the provisioned Prometheus; $instance lists every scraped target, several or all', (_path, d) => {
    const provisioned = datasourceFiles
      .flatMap((f) => f.datasources)
      .filter((s) => s.type === 'prometheus')
      .map((s) => s.uid);
    expect(variable(d, 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(provisioned).toContain(variable(d, 'datasource')?.current?.value);
    expect(variable(d, 'instance')).toMatchObject({ type: 'query', query: 'label_values(up, instance)', datasource: VIA_DATASOURCE_VARIABLE, multi: true, includeAll: true, allValue: '.*' });
  });

  it.each(dashboards)('%s: queries use only defined variables, and $instance only as an instance matcher', (_path, d) => {
    const defined = new Set(d.templating.list.map((v) => v.name));
    for (const t of queryPanels(d).flatMap((p) => p.targets)) {
      for (const [, name] of t.expr.matchAll(/\$\{?(\w+)/g)) expect([t.expr, defined.has(name!)]).toEqual([t.expr, true]);
      expect([t.expr, t.expr.split('$instance').length]).toEqual([t.expr, t.expr.split(INSTANCE_MATCHER).length]);
    }
  });

  it.each(dashboards)('%s: $instance narrows exactly the queries whose series carry an instance label', (_path, d) => {
    for (const { expr } of queryPanels(d).flatMap((p) => p.targets)) {
      const rules = identifiers(expr).filter((n) => recordingRule.has(n));
      if (expr.includes(INSTANCE_MATCHER)) {
        // a recording rule that summed instances away has no instance label: the matcher would blank the panel
        for (const r of rules) expect([expr, r, keepsInstance(recordingRule.get(r)!)]).toEqual([expr, r, true]);
      } else {
        // left unfiltered: only recording rules that aggregate instances away, no raw series
        expect([expr, identifiers(expr).filter((n) => !recordingRule.has(n))]).toEqual([expr, []]);
        for (const r of rules) expect([expr, r, keepsInstance(recordingRule.get(r)!)]).toEqual([expr, r, false]);
      }
    }
  });

  it('the executive and technical dashboards link to each other, keeping the time range and variables', () => {
    const byUid = new Map(dashboards.map(([, d]) => [d.uid, d]));
    const linked = (from: string) =>
      byUid
        .get(from)!
        .links.filter((l) => l.type === 'link' && l.keepTime && l.includeVars)
        .map((l) => l.url?.match(/^\/d\/([\w-]+)$/)?.[1]);
    expect(linked('hotpath-executive')).toEqual(['hotpath-technical']);
    expect(linked('hotpath-technical')).toEqual(['hotpath-executive']);
  });

  it('dashboardQueries() gives Prometheus the panel queries with $instance as "All" (.*), no variable left', () => {
    const panelQueries = dashboards.flatMap(([, d]) => queryPanels(d).flatMap((p) => p.targets.map((t) => t.expr.replaceAll('$instance', '.*'))));
    expect(new Set(dashboardQueries())).toEqual(new Set(panelQueries));
    for (const q of dashboardQueries()) expect(q).not.toMatch(/\$/);
  });
});

describe('Grafana provisioning files, as Grafana 11 reads them', () => {
  it('datasources: apiVersion 1, each with name, type, uid, access and url; one Prometheus is the default', () => {
    expect(datasourceFiles.length).toBeGreaterThan(0);
    const prometheus = datasourceFiles.flatMap((f) => f.datasources).filter((s) => s.type === 'prometheus');
    expect(prometheus.filter((s) => s.isDefault).map((s) => s.uid)).toEqual(['prometheus']);
  });

  it('datasources: one Jaeger (the compose `tracing` profile’s query port), with a stable uid, never the default', () => {
    const all = datasourceFiles.flatMap((f) => f.datasources);
    expect(new Set(all.map((s) => s.uid)).size).toBe(all.length);
    expect(new Set(all.map((s) => s.name)).size).toBe(all.length);
    const jaeger = all.filter((s) => s.type === 'jaeger');
    expect(jaeger).toEqual([expect.objectContaining({ name: 'Jaeger', uid: 'jaeger', access: 'proxy', url: 'http://jaeger:16686' })]);
    expect(jaeger[0]!.isDefault ?? false).toBe(false);
  });

  it('dashboard providers: apiVersion 1, each a named file provider with options.path', () => {
    expect(providerFiles.flatMap((f) => f.providers).map((p) => [p.name, p.type])).toEqual([['hotpath', 'file']]);
  });
});
