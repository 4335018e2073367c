/**
 * The compose file checked statically against what it wires (test/compose.e2e.test.ts runs it on a
 * real Docker engine): each Node service's environment against
 * its app's env map and zod schema, its ports and HEALTH_URL against the
 * configured port, every host:port it names against the service that
 * listens there, Prometheus' targets against the services, mounted paths
 * against the repository, and the Dockerfile's shape (multi-stage, non-root,
 * healthcheck). Exposure: only what a person opens is published, on
 * 127.0.0.1; every Redis client is an ACL user with its password in a file
 * (test/deploy-redis.test.ts runs those users on a real redis-server).
 * Tracing: every service whose app uses @hotpath/tracing sends to the Jaeger of the `tracing` profile
 * (blank endpoint = off), Grafana's data sources point at services listening there, and every public
 * image has an e2e stand-in.
 * That the production install (dependencies only) has every package a
 * service imports is test/boundaries.test.ts's to check.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGGREGATOR_ENV, aggregatorConfigFromEnv } from 'aggregator';
import { simConfigFromEnv, SIM_ENV } from 'exchange-sim';
import { INFERENCE_ENV, inferenceConfigFromEnv } from 'inference';
import { INGESTOR_ENV, ingestorConfigFromEnv } from 'ingestor';
import { WATCH_ENV, watchConfigFromEnv } from 'trainer';
import { standins } from './compose/standins.ts';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: unknown[];
  expose?: string[];
  network_mode?: string;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, unknown>;
  profiles?: string[];
  networks?: { default?: { aliases?: string[] } };
}
/** The file as compose reads it with nothing set: `${VAR:-default}` and `${VAR-default}` are their default (every variable has one). */
const withDefaults = (text: string): string => text.replace(/\$\{([A-Z_]+):?-([^}]*)\}/g, (_, _name: string, fallback: string) => fallback);
const compose = parse(withDefaults(readFileSync(root('deploy/docker-compose.yml'), 'utf8')), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  name?: string;
};
const services = compose.services;

/** A stand-in for the secret files the containers mount (under /run/secrets), so the schemas can read one here. */
const secretStandIn = join(mkdtempSync(join(tmpdir(), 'deploy-test-')), 'secret');
writeFileSync(secretStandIn, 'stand-in-secret-0123456789\n');
const withSecretStandIns = (env: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, k.endsWith('_FILE') && v.startsWith('/run/secrets/') ? secretStandIn : v]));

/** What each Node entry point reads from its environment, and the port it then listens on (undefined: a batch job, no HTTP). */
const apps: Record<string, { env: string[]; port: (env: Record<string, string>) => number | undefined }> = {
  'apps/exchange-sim/bin/start.ts': { env: Object.keys(SIM_ENV), port: (e) => simConfigFromEnv(e).port },
  'apps/ingestor/bin/start.ts': { env: Object.keys(INGESTOR_ENV), port: (e) => ingestorConfigFromEnv(e).port },
  'apps/aggregator/bin/start.ts': { env: Object.keys(AGGREGATOR_ENV), port: (e) => aggregatorConfigFromEnv(e).port },
  'apps/inference/bin/start.ts': { env: Object.keys(INFERENCE_ENV), port: (e) => inferenceConfigFromEnv(e).port },
  'apps/trainer/bin/watch.ts': {
    env: Object.keys(WATCH_ENV),
    port: (e) => watchConfigFromEnv(e).port || undefined,
  },
  'libs/kinesis/bin/emulator.ts': { env: ['KINESIS_EMULATOR_HOST', 'KINESIS_EMULATOR_PORT', 'KINESIS_STREAM', 'KINESIS_SHARDS'], port: (e) => Number(e['KINESIS_EMULATOR_PORT'] ?? 4567) },
};
/** Ports the third-party images listen on. */
const IMAGE_PORTS: Record<string, number> = { redis: 6379, 'redis-exporter': 9121, prometheus: 9090, alertmanager: 9093, grafana: 3000, jaeger: 4318 };
/** Jaeger's ports: OTLP/HTTP in (the services point at it), UI and query API (published; Grafana reads it), admin/health. */
const JAEGER = { otlp: 4318, query: 16686, admin: 14269 };
/** The apps that trace: their package depends on @hotpath/tracing (docs/tracing.md). */
const tracingApps = new Set(
  ['exchange-sim', 'ingestor', 'aggregator', 'inference', 'trainer'].filter(
    (app) => '@hotpath/tracing' in ((JSON.parse(readFileSync(root(`apps/${app}/package.json`), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {}),
  ),
);
const dotEnv = Object.fromEntries(
  readFileSync(root('deploy/.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

/** The TypeScript source of the compiled entry point a Node service runs (`node apps/x/bin/start.js`). */
function sourceOf(s: Service): string | undefined {
  return s.command?.find((c) => c.endsWith('.js'))?.replace(/\.js$/, '.ts');
}

function listens(): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, s] of Object.entries(services)) {
    const entry = sourceOf(s);
    const port = entry ? apps[entry]!.port(withSecretStandIns(s.environment ?? {})) : IMAGE_PORTS[name]!;
    if (port === undefined) continue;
    out.set(name, port);
    for (const alias of s.networks?.default?.aliases ?? []) out.set(alias, port);
  }
  return out;
}

describe('deploy/docker-compose.yml', () => {
  it('runs the whole stack, with exchange-sim by default and live Binance as a profile', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['aggregator', 'alertmanager', 'exchange-sim', 'grafana', 'inference', 'ingestor', 'ingestor-live', 'jaeger', 'kinesis', 'prometheus', 'redis', 'redis-exporter', 'train-watch'].sort(),
    );
    expect(dotEnv['COMPOSE_PROFILES']).toBe('sim,grafana,tracing');
    expect(services['grafana']!.profiles).toEqual(['grafana']);
    expect(services['jaeger']!.profiles).toEqual(['tracing']);
    expect(services['ingestor-live']!.profiles).toEqual(['live']);
    expect(services['ingestor-live']!.environment!['INGESTOR_API_KEY_FILE']).toMatch(/^\/run\/secrets\//);
    expect(services['ingestor-live']!.environment!['INGESTOR_API_KEY']).toBeUndefined();
    expect(services['train-watch']!.profiles).toEqual(['lifecycle']);
  });

  it('every Node service’s environment is read by its app and passes the app’s config schema; ports and health URLs agree', () => {
    for (const [name, s] of Object.entries(services)) {
      const entry = sourceOf(s);
      if (!entry) continue;
      const app = apps[entry];
      expect([name, app !== undefined]).toEqual([name, true]);
      expect(existsSync(root(entry))).toBe(true);
      const env = s.environment ?? {};
      // OTEL_*: the standard OpenTelemetry variables, read by @hotpath/tracing (checked in the tracing test below)
      const unknown = Object.keys(env).filter((k) => k !== 'HEALTH_URL' && !k.startsWith('OTEL_') && !app!.env.includes(k));
      expect([name, unknown]).toEqual([name, []]);
      const port = app!.port(withSecretStandIns(env)); // throws on a value the schema refuses (a secret file it cannot read, too)
      if (port === undefined) {
        // a batch job: no port, no HEALTH_URL; its own healthcheck instead
        expect([name, s.expose ?? [], s.ports ?? [], env['HEALTH_URL'], s.healthcheck !== undefined]).toEqual([name, [], [], undefined, true]);
        continue;
      }
      const inside = [...(s.ports ?? []).map((p) => String(p).split(':').at(-1)), ...(s.expose ?? [])];
      expect([name, inside.includes(String(port))]).toEqual([name, true]);
      if (entry.startsWith('apps/')) expect([name, env['HEALTH_URL']]).toEqual([name, `http://127.0.0.1:${port}/health`]);
    }
  });

  it('every host:port a service is pointed at is a service listening on that port', () => {
    const ports = listens();
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        const m = /^(?:redis|https?|wss?):\/\/(?:[^@/]+@)?([a-z0-9-]+):(\d+)/.exec(value);
        // 127.0.0.1: the container itself; localhost: a URL the browser of the person on this machine opens (published ports)
        if (!m || m[1] === '127.0.0.1' || m[1] === 'localhost' || value.includes('binance.com')) continue;
        expect([name, key, ports.get(m[1]!)]).toEqual([name, key, Number(m[2])]);
      }
      for (const dep of Object.keys(s.depends_on ?? {})) expect(services[dep]).toBeDefined();
    }
  });

  it('Prometheus scrapes exactly the services, on the ports they listen on', () => {
    const ports = listens();
    const prom = parse(readFileSync(root('prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
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

  it('publishes only what a person opens (inference, Grafana, Prometheus, Alertmanager, Jaeger’s UI), each on 127.0.0.1 only', () => {
    const PUBLIC: Record<string, number> = { inference: 9092, grafana: 3000, prometheus: 9090, alertmanager: 9093, jaeger: JAEGER.query };
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.network_mode]).toEqual([name, undefined]); // host networking would bypass all of this
      const ports = s.ports ?? [];
      if (PUBLIC[name] === undefined) {
        expect([name, ports]).toEqual([name, []]);
        continue;
      }
      expect([name, ports.length]).toEqual([name, 1]);
      for (const p of ports) expect([name, p]).toEqual([name, expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:\\d+:${PUBLIC[name]}$`))]);
    }
    // the simulator's /admin/faults (and its unauthenticated drills) can only be reached from inside the network
    expect(services['exchange-sim']!.ports).toBeUndefined();
    for (const name of ['redis', 'kinesis', 'ingestor', 'ingestor-live', 'aggregator', 'redis-exporter']) expect([name, services[name]!.ports]).toEqual([name, undefined]);
  });

  it('Redis has no unauthenticated user, and every client is an ACL user whose password comes from a file in its own volume', () => {
    const redis = services['redis']!;
    // start.sh renders the ACL and appends --aclfile to the image's command
    expect(redis.entrypoint).toEqual(['/bin/sh', '/usr/local/etc/hotpath/start.sh']);
    expect(redis.volumes).toContain('./redis:/usr/local/etc/hotpath:ro');
    expect(redis.command!.slice(0, 2)).toEqual(['docker-entrypoint.sh', 'redis-server']);
    expect(redis.command).not.toContain('--aclfile');
    const acl = readFileSync(root('deploy/redis/users.acl.in'), 'utf8');
    expect(acl).toMatch(/^user default off resetpass resetkeys resetchannels -@all$/m);
    expect(acl).not.toMatch(/nopass|(^| )>/m); // no password in the template: they come from the secret files
    expect(redis.healthcheck!.test.join(' ')).toMatch(/REDISCLI_AUTH=.*--user admin ping/);

    const users = [...acl.matchAll(/^user (\S+) on /gm)].map((m) => m[1]!);
    expect(users.sort()).toEqual(['admin', 'aggregator', 'exporter', 'inference']);
    for (const user of users) {
      expect(redis.volumes).toContain(`redis-secret-${user}:/run/secrets/redis/${user}`);
      expect(compose.volumes).toHaveProperty(`redis-secret-${user}`);
    }
    // each client: its user, its password file, from its own volume, mounted read-only into it alone
    const clients: Record<string, { user: string; file: string }> = {
      aggregator: { user: services['aggregator']!.environment!['REDIS_URL']!.replace(/^redis:\/\/([^@:]+)@.*$/, '$1'), file: services['aggregator']!.environment!['REDIS_PASSWORD_FILE']! },
      inference: { user: services['inference']!.environment!['REDIS_URL']!.replace(/^redis:\/\/([^@:]+)@.*$/, '$1'), file: services['inference']!.environment!['REDIS_PASSWORD_FILE']! },
      'redis-exporter': { user: services['redis-exporter']!.environment!['REDIS_USER']!, file: services['redis-exporter']!.environment!['REDIS_PASSWORD_FILE']! },
    };
    expect(Object.fromEntries(Object.entries(clients).map(([k, v]) => [k, v.user]))).toEqual({ aggregator: 'aggregator', inference: 'inference', 'redis-exporter': 'exporter' });
    for (const [name, { user, file }] of Object.entries(clients)) {
      // its own secret volume and no other (inference also mounts the model registry)
      expect([name, services[name]!.volumes!.filter((v) => v.startsWith('redis-secret-'))]).toEqual([name, [`redis-secret-${user}:/run/secrets/redis:ro`]]);
      expect([name, file]).toEqual([name, expect.stringMatching(/^\/run\/secrets\/redis\/[a-z.-]+$/)]);
    }
    for (const [name, s] of Object.entries(services)) {
      if (name === 'redis') continue;
      const mounts = (s.volumes ?? []).filter((v) => v.startsWith('redis-secret-'));
      const own = clients[name] ? [`redis-secret-${clients[name]!.user}:/run/secrets/redis:ro`] : [];
      expect([name, mounts]).toEqual([name, own]);
      // no password in any environment value (URL userinfo with a password, or a *PASSWORD* variable)
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        expect([name, key, /:\/\/[^/@]*:[^/@]*@/.test(value)]).toEqual([name, key, false]);
        if (/PASSWORD/.test(key)) expect([name, key]).toEqual([name, expect.stringMatching(/_FILE$/)]);
      }
    }
  });

  it('runs on docker-compose 1.29 too: no top-level name (the project name is in deploy/.env)', () => {
    expect(compose.name).toBeUndefined();
    expect(readFileSync(root('deploy/.env'), 'utf8')).toMatch(/^COMPOSE_PROJECT_NAME=hotpath$/m);
    // and Debian's docker-compose 1.29 itself accepts it, in every profile (.ci/run installs it)
    for (const profiles of ['sim,grafana,tracing', 'sim', 'live,grafana', 'sim,tracing']) {
      const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
        cwd: root('deploy'),
        env: { ...process.env, COMPOSE_PROFILES: profiles },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect([profiles, r.error?.message ?? null, r.status, r.stderr.trim()]).toEqual([profiles, null, 0, '']);
    }
  });

  it('every service that traces sends its spans to Jaeger (profile `tracing`), 1 % sampled by default; inference links to Jaeger’s UI', () => {
    expect([...tracingApps]).toEqual(expect.arrayContaining(['ingestor', 'aggregator']));
    const tracing = Object.entries(services).filter(([, s]) => tracingApps.has(sourceOf(s)?.match(/^apps\/([^/]+)\//)?.[1] ?? ''));
    expect(tracing.map(([name]) => name)).toEqual(expect.arrayContaining(['ingestor', 'ingestor-live', 'aggregator']));
    // inference gets them too (its tick span, issue 20), whether or not its tracing has landed in this checkout
    for (const [name, s] of [...tracing, ['inference', services['inference']!] as const]) {
      const env = s.environment ?? {};
      expect([name, env['OTEL_EXPORTER_OTLP_ENDPOINT'], env['OTEL_TRACES_SAMPLER_ARG']]).toEqual([name, `http://jaeger:${JAEGER.otlp}`, '0.01']);
    }
    // no other OTEL_* anywhere: one place (the anchor, deploy/.env) says where spans go
    for (const [name, s] of Object.entries(services)) {
      const otel = Object.keys(s.environment ?? {}).filter((k) => k.startsWith('OTEL_'));
      if (otel.length > 0) expect([name, otel.sort()]).toEqual([name, ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER_ARG']]);
    }
    // deploy/.env says the same as the file's defaults
    expect([dotEnv['OTEL_EXPORTER_OTLP_ENDPOINT'], dotEnv['OTEL_TRACES_SAMPLER_ARG']]).toEqual([`http://jaeger:${JAEGER.otlp}`, '0.01']);
    expect(services['inference']!.environment!['INFERENCE_TRACE_UI_URL']).toBe(`http://localhost:${JAEGER.query}/trace/{traceId}`);
    // the live page links Prometheus, Alertmanager and Grafana where the browser reaches them: the host ports they publish
    for (const [setting, service] of [
      ['INFERENCE_PROMETHEUS_URL', 'prometheus'],
      ['INFERENCE_ALERTMANAGER_URL', 'alertmanager'],
      ['INFERENCE_GRAFANA_URL', 'grafana'],
    ] as const) {
      const published = /^127\.0\.0\.1:(\d+):\d+$/.exec(String(services[service]!.ports![0]))![1];
      expect(services['inference']!.environment![setting], setting).toBe(`http://localhost:${published}`);
    }
    // Jaeger: memory storage bounded, OTLP/HTTP on, reachable inside on OTLP and admin, its UI published, healthchecked
    const jaeger = services['jaeger']!;
    expect(jaeger.image).toMatch(/^jaegertracing\/all-in-one:1\.(5\d|[6-9]\d)\.\d+$/);
    expect(jaeger.command).toEqual(
      expect.arrayContaining([expect.stringMatching(/^--memory\.max-traces=[1-9]\d*$/), '--collector.otlp.enabled=true', `--collector.otlp.http.host-port=:${JAEGER.otlp}`]),
    );
    expect(jaeger.expose).toEqual([String(JAEGER.otlp), String(JAEGER.admin)]);
    expect(jaeger.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${JAEGER.admin}/`);
    // nothing may wait on Jaeger: a stack without the profile must start (spans are then dropped, counted)
    for (const [name, s] of Object.entries(services)) expect([name, Object.keys(s.depends_on ?? {}).includes('jaeger')]).toEqual([name, false]);
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT set blank, docker-compose 1.29 gives the services a blank endpoint (tracing off)', () => {
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      cwd: root('deploy'),
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_TRACES_SAMPLER_ARG: '1', COMPOSE_PROFILES: 'sim' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect([r.error?.message ?? null, r.status]).toEqual([null, 0]);
    const resolved = (parse(r.stdout) as { services: Record<string, Service> }).services;
    for (const name of ['ingestor', 'aggregator', 'inference']) {
      expect([name, resolved[name]!.environment!['OTEL_EXPORTER_OTLP_ENDPOINT'], resolved[name]!.environment!['OTEL_TRACES_SAMPLER_ARG']]).toEqual([name, '', '1']);
    }
  });

  it('Grafana’s data sources point at services listening there (Prometheus, Jaeger’s query port)', () => {
    const listening = (name: string): string[] => [
      ...(services[name]?.expose ?? []),
      ...(services[name]?.ports ?? []).map((p) => String(p).split(':').at(-1)!),
      ...(IMAGE_PORTS[name] === undefined ? [] : [String(IMAGE_PORTS[name])]),
    ];
    const dir = root('grafana/provisioning/datasources');
    const urls = readdirSync(dir)
      .filter((f) => f.endsWith('.yml'))
      .flatMap((f) => (parse(readFileSync(join(dir, f), 'utf8')) as { datasources: { url: string }[] }).datasources.map((d) => new URL(d.url)));
    expect(urls.map((u) => u.host).sort()).toEqual(['jaeger:16686', 'prometheus:9090']);
    for (const u of urls) expect([u.host, listening(u.hostname)]).toEqual([u.host, expect.arrayContaining([u.port])]);
  });

  it('every public image compose names has a stand-in for the e2e test (test/compose/standins)', () => {
    const images = Object.values(services)
      .map((s) => s.image)
      .filter((i): i is string => i !== undefined && !i.startsWith('hotpath'));
    const covered = Object.keys(standins());
    // grafana: no Debian package and no stand-in; the e2e test runs without its profile
    expect(images.filter((i) => !covered.includes(i) && !i.startsWith('grafana/'))).toEqual([]);
  });

  it('the Dockerfile is multi-stage, runs as a non-root user and has a healthcheck', () => {
    const docker = readFileSync(root('deploy/Dockerfile'), 'utf8');
    expect(docker.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(3);
    expect(docker).toMatch(/^USER node$/m);
    expect(docker).toMatch(/^HEALTHCHECK /m);
    expect(docker).toMatch(/pnpm install --offline --frozen-lockfile --prod/);
    // compiled JavaScript at run time: no tsx, no TypeScript entry point
    for (const s of Object.values(services)) expect(s.command?.join(' ') ?? '').not.toMatch(/tsx|\.ts\b/);
    expect(docker).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m);
  });
});

describe('docs/configuration.md', () => {
  it('is what the config schemas generate (pnpm docs:config)', async () => {
    const { configReference } = await import('../scripts/config-reference.ts');
    expect(readFileSync(root('docs/configuration.md'), 'utf8')).toBe(configReference());
  });
});
