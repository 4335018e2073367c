/**
 * The compose stack cannot run here (no Docker engine), so it is checked
 * statically against what it wires: each Node service's environment against
 * its app's env map and zod schema, its ports and HEALTH_URL against the
 * configured port, every host:port it names against the service that
 * listens there, Prometheus' targets against the services, mounted paths
 * against the repository, and the Dockerfile's shape (multi-stage, non-root,
 * healthcheck).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGGREGATOR_ENV, aggregatorConfigFromEnv } from 'aggregator';
import { configFromEnv, SIM_ENV } from 'exchange-sim';
import { INFERENCE_ENV, inferenceConfigFromEnv } from 'inference';
import { INGESTOR_ENV, loadConfig } from 'ingestor';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, unknown>;
  profiles?: string[];
  networks?: { default?: { aliases?: string[] } };
}
const compose = parse(readFileSync(root('deploy/docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** What each Node entry point reads from its environment, and the port it then listens on. */
const apps: Record<string, { env: string[]; port: (env: Record<string, string>) => number }> = {
  'apps/exchange-sim/bin/start.ts': { env: Object.keys(SIM_ENV), port: (e) => configFromEnv(e).port },
  'apps/ingestor/bin/start.ts': { env: Object.keys(INGESTOR_ENV), port: (e) => loadConfig(e).port },
  'apps/aggregator/bin/start.ts': {
    env: Object.keys(AGGREGATOR_ENV),
    port: (e) => {
      const r = aggregatorConfigFromEnv(e);
      if (!r.success) throw new Error(r.error.message);
      return r.data.port;
    },
  },
  'apps/inference/bin/start.ts': {
    env: Object.keys(INFERENCE_ENV),
    port: (e) => {
      const r = inferenceConfigFromEnv(e);
      if (!r.success) throw new Error(r.error.message);
      return r.data.port;
    },
  },
  'libs/kinesis/bin/emulator.ts': { env: ['KINESIS_EMULATOR_HOST', 'KINESIS_EMULATOR_PORT', 'KINESIS_STREAM', 'KINESIS_SHARDS'], port: (e) => Number(e['KINESIS_EMULATOR_PORT'] ?? 4567) },
};
/** Ports the third-party images listen on. */
const IMAGE_PORTS: Record<string, number> = { redis: 6379, 'redis-exporter': 9121, prometheus: 9090, alertmanager: 9093, grafana: 3000 };

function listens(): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, s] of Object.entries(services)) {
    const entry = s.command?.find((c) => c.endsWith('.ts'));
    const port = entry ? apps[entry]!.port(s.environment ?? {}) : IMAGE_PORTS[name]!;
    out.set(name, port);
    for (const alias of s.networks?.default?.aliases ?? []) out.set(alias, port);
  }
  return out;
}

describe('deploy/docker-compose.yml', () => {
  it('runs the whole stack, with exchange-sim by default and live Binance as a profile', () => {
    expect(Object.keys(services).sort()).toEqual(['aggregator', 'alertmanager', 'exchange-sim', 'grafana', 'inference', 'ingestor', 'ingestor-live', 'kinesis', 'prometheus', 'redis', 'redis-exporter'].sort());
    expect(readFileSync(root('deploy/.env'), 'utf8')).toMatch(/^COMPOSE_PROFILES=sim$/m);
    expect(services['ingestor-live']!.profiles).toEqual(['live']);
    expect(services['ingestor-live']!.environment!['INGESTOR_API_KEY_FILE']).toMatch(/^\/run\/secrets\//);
    expect(services['ingestor-live']!.environment!['INGESTOR_API_KEY']).toBeUndefined();
  });

  it('every Node service’s environment is read by its app and passes the app’s config schema; ports and health URLs agree', () => {
    for (const [name, s] of Object.entries(services)) {
      const entry = s.command?.find((c) => c.endsWith('.ts'));
      if (!entry) continue;
      const app = apps[entry];
      expect([name, app !== undefined]).toEqual([name, true]);
      expect(existsSync(root(entry))).toBe(true);
      const env = s.environment ?? {};
      const unknown = Object.keys(env).filter((k) => k !== 'HEALTH_URL' && !app!.env.includes(k));
      expect([name, unknown]).toEqual([name, []]);
      const port = app!.port(env); // throws on a value the schema refuses
      expect([name, (s.ports ?? []).some((p) => p.endsWith(`:${port}`))]).toEqual([name, true]);
      if (entry.startsWith('apps/')) expect([name, env['HEALTH_URL']]).toEqual([name, `http://127.0.0.1:${port}/health`]);
    }
  });

  it('every host:port a service is pointed at is a service listening on that port', () => {
    const ports = listens();
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        const m = /^(?:redis|https?|wss?):\/\/([a-z0-9-]+):(\d+)/.exec(value);
        if (!m || m[1] === '127.0.0.1' || value.includes('binance.com')) continue;
        expect([name, key, ports.get(m[1]!)]).toEqual([name, key, Number(m[2])]);
      }
      for (const dep of Object.keys(s.depends_on ?? {})) expect(services[dep]).toBeDefined();
    }
  });

  it('Prometheus scrapes exactly the services, on the ports they listen on', () => {
    const ports = listens();
    const prom = parse(readFileSync(root('prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[]; alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } };
    const targets = [...prom.scrape_configs.flatMap((j) => j.static_configs.flatMap((c) => c.targets)), ...prom.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets))];
    for (const t of targets) {
      const [host, port] = t.split(':');
      if (host === 'localhost') continue; // Prometheus itself
      expect([t, ports.get(host!)]).toEqual([t, Number(port)]);
    }
    for (const app of ['inference', 'aggregator', 'ingestor', 'exchange-sim', 'redis-exporter']) expect(prom.scrape_configs.map((j) => j.job_name)).toContain(app);
  });

  it('mounted files exist; every service has a healthcheck (image or compose) except redis_exporter', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const host = v.split(':')[0]!;
        if (host.startsWith('.')) expect([name, v, existsSync(root(`deploy/${host}`))]).toEqual([name, v, true]);
      }
      // Node services inherit the Dockerfile HEALTHCHECK (HEALTH_URL); redis_exporter's scratch image has no shell (Prometheus' `up` watches it)
      const ok = s.healthcheck !== undefined || s.build !== undefined || name === 'redis-exporter';
      expect([name, ok]).toEqual([name, true]);
    }
  });

  it('the Dockerfile is multi-stage, runs as a non-root user and has a healthcheck', () => {
    const docker = readFileSync(root('deploy/Dockerfile'), 'utf8');
    expect(docker.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(3);
    expect(docker).toMatch(/^USER node$/m);
    expect(docker).toMatch(/^HEALTHCHECK /m);
    expect(docker).toMatch(/pnpm install --offline --frozen-lockfile/);
  });
});

describe('docs/configuration.md', () => {
  it('is what the config schemas generate (pnpm docs:config)', async () => {
    const { configReference } = await import('../scripts/config-reference.ts');
    expect(readFileSync(root('docs/configuration.md'), 'utf8')).toBe(configReference());
  });
});
