/**
 * `pnpm start --monitoring`: Prometheus and Alertmanager beside the stack, with the project's rules
 * (prometheus/rules/*.yml) and Alertmanager routing (prometheus/alertmanager/), so a local run sees the
 * alerts compose would page (the Redis exporter too when it is on PATH and the Redis is one without a
 * password: the launcher's own, usually). The project's prometheus.yml names compose's hostnames: the one run here is
 * generated in a temporary directory from it, each job's target the port the launcher gave that service
 * (a job the launcher does not run — the Redis exporter, exchange-sim with live Binance — is left out, so
 * its `up == 0` alert does not fire for a target that was never meant to be there). Alertmanager keeps the
 * project's routes, grouping and inhibitions, its receivers without their PagerDuty/Slack configs (no
 * secrets here, and a laptop should not page anyone): the alerts are seen in its UI and on the page.
 */
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';

/** How to get the binaries, printed when they are missing. */
export const INSTALL_HINT = 'Debian/Ubuntu: apt-get install prometheus prometheus-alertmanager; elsewhere the binaries from https://prometheus.io/download/ (prometheus, alertmanager) on PATH';

/** The first of `names` found as an executable file on `path` (PATH's directories), or undefined. */
export function findBinary(names: readonly string[], path = process.env['PATH'] ?? ''): string | undefined {
  for (const name of names) {
    for (const dir of path.split(delimiter)) {
      if (dir === '') continue;
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here: the next directory
      }
    }
  }
  return undefined;
}

/** The Redis exporter (the RedisDown and Redis memory alerts read it): upstream's name, Debian's. */
export const REDIS_EXPORTER_NAMES = ['redis_exporter', 'prometheus-redis-exporter'] as const;
export const REDIS_EXPORTER_HINT = 'Debian/Ubuntu: apt-get install prometheus-redis-exporter; elsewhere https://github.com/oliver006/redis_exporter/releases';

/** Debian names Alertmanager's binary prometheus-alertmanager; upstream's tarball, alertmanager. */
export const ALERTMANAGER_NAMES = ['alertmanager', 'prometheus-alertmanager'] as const;

export interface MonitoringBinaries {
  prometheus: string;
  alertmanager: string;
}

/** Both binaries, or the names of those missing. */
export function findMonitoringBinaries(path?: string): MonitoringBinaries | { missing: string[] } {
  const prometheus = findBinary(['prometheus'], path);
  const alertmanager = findBinary(ALERTMANAGER_NAMES, path);
  if (prometheus !== undefined && alertmanager !== undefined) return { prometheus, alertmanager };
  return { missing: [...(prometheus === undefined ? ['prometheus'] : []), ...(alertmanager === undefined ? ['alertmanager'] : [])] };
}

interface ScrapeJob {
  job_name: string;
  static_configs?: { targets: string[] }[];
  [key: string]: unknown;
}

/**
 * The project's prometheus.yml for this machine: rule files absolute (they stay where they are: an edit and a
 * reload — or a restart — picks them up), each kept job's target `127.0.0.1:<port>` from `ports` (job name →
 * port; Prometheus itself included), Alertmanager at `alertmanagerPort`.
 */
export function prometheusConfig(projectYaml: string, projectDir: string, ports: Readonly<Record<string, number>>, alertmanagerPort: number): string {
  const config = parse(projectYaml) as { rule_files?: string[]; alerting?: unknown; scrape_configs?: ScrapeJob[] };
  config.rule_files = (config.rule_files ?? []).map((f) => (isAbsolute(f) ? f : resolve(projectDir, f)));
  config.alerting = { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${alertmanagerPort}`] }] }] };
  config.scrape_configs = (config.scrape_configs ?? [])
    .filter((job) => ports[job.job_name] !== undefined)
    .map((job) => ({ ...job, static_configs: [{ targets: [`127.0.0.1:${ports[job.job_name]}`] }] }));
  return stringify(config);
}

/**
 * The project's alertmanager.yml for this machine: routes, grouping and inhibitions as they are; each receiver
 * by name only (nothing is sent: the PagerDuty key and Slack webhook are compose's mounted secrets); template
 * paths made absolute — relative ones against the project's directory, compose's mount point
 * (/etc/alertmanager/…) mapped back to it.
 */
export function alertmanagerConfig(projectYaml: string, projectDir: string): string {
  const config = parse(projectYaml) as { receivers?: { name: string }[]; templates?: string[]; global?: Record<string, unknown> };
  config.receivers = (config.receivers ?? []).map((r) => ({ name: r.name }));
  if (config.templates !== undefined) {
    config.templates = config.templates.map((t) => (t.startsWith('/etc/alertmanager/') ? join(projectDir, t.slice('/etc/alertmanager/'.length)) : isAbsolute(t) ? t : resolve(projectDir, t)));
  }
  // a global receiver setting read from a secret file compose mounts would not load here
  if (config.global !== undefined) for (const key of Object.keys(config.global)) if (key.endsWith('_file')) delete config.global[key];
  return stringify(config);
}

export interface MonitoringFiles {
  dir: string;
  prometheusArgs: string[];
  alertmanagerArgs: string[];
}

/** Writes both configurations to a fresh temporary directory; the command lines that run them on loopback. */
/**
 * Their --log.level for the stack's LOG_LEVEL, one step quieter: their info lines (a few dozen at start, each
 * component's "starting"/"stopped") say nothing an operator of this stack needs, their warnings and errors do.
 */
export function monitoringLogLevel(logLevel: string): 'info' | 'warn' | 'error' {
  if (logLevel === 'trace' || logLevel === 'debug') return 'info';
  return logLevel === 'info' || logLevel === 'warn' ? 'warn' : 'error';
}

export function writeMonitoringFiles(root: string, ports: Readonly<Record<string, number>>, prometheusPort: number, alertmanagerPort: number, logLevel = 'info'): MonitoringFiles {
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-monitoring-'));
  const promDir = join(root, 'prometheus');
  const amDir = join(promDir, 'alertmanager');
  const promFile = join(dir, 'prometheus.yml');
  const amFile = join(dir, 'alertmanager.yml');
  writeFileSync(promFile, prometheusConfig(readFileSync(join(promDir, 'prometheus.yml'), 'utf8'), promDir, { ...ports, prometheus: prometheusPort }, alertmanagerPort));
  const level = monitoringLogLevel(logLevel);
  writeFileSync(amFile, alertmanagerConfig(readFileSync(join(amDir, 'alertmanager.yml'), 'utf8'), amDir));
  return {
    dir,
    prometheusArgs: [`--config.file=${promFile}`, `--storage.tsdb.path=${join(dir, 'prometheus')}`, `--web.listen-address=127.0.0.1:${prometheusPort}`, `--log.level=${level}`],
    // (no cluster: one Alertmanager, and its gossip port would be one more to find free)
    alertmanagerArgs: [
      `--config.file=${amFile}`,
      `--storage.path=${join(dir, 'alertmanager')}`,
      `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
      '--cluster.listen-address=',
      `--log.level=${level}`,
    ],
  };
}
