/**
 * The local stack in one process tree: Redis (found or spawned), kinesalite
 * in-process with the stream created, then exchange-sim (or live Binance),
 * ingestor, aggregator and inference as supervised children with the same env
 * vars compose uses (and with --monitoring Prometheus and Alertmanager,
 * monitoring.ts). Once every child has answered its health check, the
 * endpoints go to `.hotpath/state.json` for the tools and the terminal says
 * where everything is. Stops in reverse order: Alertmanager, Prometheus,
 * inference, aggregator (commits state, hands leases back), ingestor (flushes
 * Kinesis), simulator, Kinesis, Redis (flushes its AOF); then the state file
 * goes.
 */
import { rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type LauncherState, LAUNCHER_STATE_FILE, removeLauncherState, writeLauncherState } from '@hotpath/config';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { freePort } from '@hotpath/service';
import { Child, type ChildSpec, healthWord } from './child.ts';
import { PROXY_VARIABLES } from './child-env.ts';
import type { LauncherConfig } from './config.ts';
import { jsonLine, type LineFormatter, lineFormatter, LogFiles } from './logs.ts';
import { findBinary, findMonitoringBinaries, INSTALL_HINT, REDIS_EXPORTER_HINT, REDIS_EXPORTER_NAMES, writeMonitoringFiles } from './monitoring.ts';
import { redactCredentials } from './redact.ts';
import { resolveRedis, type RedisHandle } from './redis.ts';
import { type Phase, PHASES, sinceStart, StartTimeline } from './timeline.ts';

/** How long the start is watched for its timeline (then given up on, said so): generous, a loaded machine's start is slow. */
const START_WATCH_MS = 180_000;
/** The start watch's poll: the resolution of its polled phases. */
const START_POLL_MS = 100;
/** Every probe of the start watch has its own deadline. */
const PROBE_TIMEOUT_MS = 1_000;

export interface Prediction {
  symbol: string;
  tickMs: number;
  tickTime: string;
  issuedAtMs: number;
  mid: number;
  predictedPrice: number;
  pUp: number;
  fallback: boolean;
  reason: string | null;
  modelVersion: string | null;
}

export class Launcher {
  readonly children: Child[] = [];
  private redis: RedisHandle | undefined;
  private kinesis: KinesisEmulator | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  /** Start → first prediction, phase by phase (timeline.ts); `first prediction` is the number `pnpm start` prints. */
  readonly timeline = new StartTimeline();
  private stopped = false;
  /** Every line the launcher shows, its children's included: URL credentials (a REDIS_URL's password) never get through. */
  private readonly print: (line: string) => void;
  private readonly format: LineFormatter;
  /** Where `.hotpath/state.json` goes (the repository root unless HOTPATH_STATE_ROOT says otherwise). */
  readonly stateRoot: string;
  readonly logs: LogFiles;
  /** Prometheus' and Alertmanager's URLs, with --monitoring and the binaries found. */
  monitoringUrls: { prometheus: string; alertmanager: string } | undefined;
  private monitoringDir: string | undefined;
  private startedAt = new Date();
  private up = false;

  constructor(
    readonly config: LauncherConfig,
    private readonly root: string,
    print: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {
    this.print = (line) => print(redactCredentials(line));
    this.format = lineFormatter(config.logFormat, !config.noColor);
    this.stateRoot = resolve(root, config.stateRoot ?? '.');
    this.logs = new LogFiles(resolve(root, config.logDir ?? join(this.stateRoot, '.hotpath', 'logs')));
    this.timeline.mark('launcher loaded');
  }

  get live(): boolean {
    return this.config.binanceApiKey !== undefined || this.config.binanceApiKeyFile !== undefined;
  }

  get urls(): { page: string; latest: string; metrics: string } {
    const base = `http://127.0.0.1:${this.config.inferencePort}`;
    return { page: `${base}/`, latest: `${base}/v1/predictions/latest?symbol=${this.config.symbols.split(',')[0]}`, metrics: `${base}/metrics` };
  }

  child(name: string): Child | undefined {
    return this.children.find((c) => c.spec.name === name);
  }

  async start(): Promise<void> {
    const c = this.config;
    this.startedAt = new Date();
    this.note(`hotpath: starting (${this.live ? 'live Binance' : 'exchange-sim'}, symbols ${c.symbols})`);
    // Redis and Kinesis at once (neither needs the other); both kept when one fails, so that stop() ends the other
    const [redis, kinesis] = await Promise.allSettled([
      resolveRedis(c.redis).then((r) => {
        this.timeline.mark('redis up');
        return r;
      }),
      this.startKinesis().then((k) => {
        this.timeline.mark('kinesis up');
        return k;
      }),
    ]);
    if (redis.status === 'fulfilled') this.redis = redis.value;
    if (kinesis.status === 'fulfilled') this.kinesis = kinesis.value;
    if (redis.status === 'rejected') throw redis.reason;
    if (kinesis.status === 'rejected') throw kinesis.reason;
    this.redis = redis.value;
    if (this.redis.unusedBecause !== undefined) this.note(`the configured Redis is not used: ${this.redis.unusedBecause}`);
    this.note(`redis ${this.redis.url}${this.redis.pid !== undefined ? ` (spawned, pid ${this.redis.pid})` : ''}`);
    this.kinesis = kinesis.value;
    this.note(`kinesis emulator ${this.kinesis.endpoint}, stream ${c.kinesisStream} (${c.kinesisShards} shards)`);
    const kinesisEnv = { KINESIS_ENDPOINT: this.kinesis.endpoint, KINESIS_STREAM: c.kinesisStream };
    const common = { LOG_LEVEL: c.logLevel };
    // the services that talk to AWS (Kinesis) or leave the machine: its credential chain and the proxies
    const outbound = ['KINESIS_*', 'AWS_*', ...PROXY_VARIABLES];
    // the traced services (docs/tracing.md) take the standard OTEL_* variables — the collector's headers may hold
    // a token, so only they do; a shell-wide OTEL_SERVICE_NAME would give them all one name: each keeps its own
    const traced = ['OTEL_*'];
    const ownServiceName = { OTEL_SERVICE_NAME: undefined };
    const health = (port: number) => `http://127.0.0.1:${port}/health`;
    const specs: ChildSpec[] = [];
    if (!this.live) {
      specs.push({
        name: 'exchange-sim',
        entry: 'apps/exchange-sim/bin/start.ts',
        colour: 35,
        healthUrl: health(c.simPort),
        inherits: ['SIM_*', ...traced],
        env: { ...common, ...ownServiceName, SIM_HOST: '127.0.0.1', SIM_PORT: String(c.simPort), SIM_SYMBOLS: c.symbols, SIM_API_KEYS: 'local-dev-key' },
      });
    }
    // the key the ingestor uses is the launcher's choice, never an INGESTOR_API_KEY* left over in the shell
    const feed = this.live
      ? {
          INGESTOR_STREAM_URL: c.binanceStreamUrl,
          INGESTOR_REST_URL: c.binanceRestUrl,
          INGESTOR_API_KEY: c.binanceApiKeyFile ? undefined : c.binanceApiKey,
          INGESTOR_API_KEY_FILE: c.binanceApiKeyFile,
        }
      : { INGESTOR_STREAM_URL: `ws://127.0.0.1:${c.simPort}`, INGESTOR_REST_URL: `http://127.0.0.1:${c.simPort}`, INGESTOR_API_KEY: 'local-dev-key', INGESTOR_API_KEY_FILE: undefined };
    specs.push({
      name: 'ingestor',
      entry: 'apps/ingestor/bin/start.ts',
      colour: 36,
      healthUrl: health(c.ingestorPort),
      inherits: ['INGESTOR_*', ...outbound, ...traced],
      // capture on (rotated hourly, kept 48 h by default): what `pnpm train:watch` trains on
      env: { ...common, ...ownServiceName, ...kinesisEnv, ...feed, INGESTOR_SYMBOLS: c.symbols, INGESTOR_PORT: String(c.ingestorPort), INGESTOR_CAPTURE_DIR: resolve(this.root, c.captureDir) },
      // the stream was created a moment ago (the emulator is in memory): no predecessor to read back, and the look
      // back's polls of empty shards cost the first start ~1 s; a restarted ingestor reads back what the last one left
      firstEnv: { INGESTOR_RESUME_LOOKBACK_SECONDS: '0' },
    });
    specs.push({
      name: 'aggregator',
      entry: 'apps/aggregator/bin/start.ts',
      colour: 33,
      healthUrl: health(c.aggregatorPort),
      inherits: ['AGGREGATOR_*', ...outbound, ...traced],
      env: { ...common, ...ownServiceName, ...kinesisEnv, ...this.redis.clientEnv, AGGREGATOR_SYMBOLS: c.symbols, AGGREGATOR_POLL_MS: '100', AGGREGATOR_PORT: String(c.aggregatorPort) },
    });
    const peers = specs.map((s) => `${s.name}=${s.healthUrl}`).join(',');
    const monitoring = c.monitoring ? await this.monitoringSpecs() : [];
    // the page links them (a link is shown only when set)
    const links = this.monitoringUrls ? { INFERENCE_PROMETHEUS_URL: this.monitoringUrls.prometheus, INFERENCE_ALERTMANAGER_URL: this.monitoringUrls.alertmanager } : {};
    specs.push({
      name: 'inference',
      entry: 'apps/inference/bin/start.ts',
      colour: 32,
      healthUrl: health(c.inferencePort),
      inherits: ['INFERENCE_*', ...traced],
      env: { ...common, ...ownServiceName, ...this.redis.clientEnv, ...links, INFERENCE_SYMBOLS: c.symbols, INFERENCE_PORT: String(c.inferencePort), INFERENCE_STATUS_PEERS: peers },
    });
    specs.push(...monitoring);
    for (const spec of specs) {
      const child = new Child(spec, this.root, this.format);
      child.onLine = this.print;
      // the file keeps the record as the service wrote it (JSON, `svc` added), redacted as the terminal is
      child.onRaw = (line) => this.logs.write(spec.name, redactCredentials(jsonLine(spec.name, line)));
      this.logs.open(spec.name);
      child.onStart = (name, pid) => {
        this.phase(`${spec.name} spawned`);
        this.note(`${name} started (pid ${pid})`);
      };
      child.onRestart = (name, code, signal, delay) => this.note(`${name} exited (${signal ?? `code ${code}`}); restarting in ${(delay / 1000).toFixed(1)} s`);
      this.children.push(child);
      // all at once, not the simulator first: each child's module loading is most of its start, and the ingestor's
      // connection (its last start step) retries with a short backoff should the simulator not listen yet
      child.start();
    }
    void this.watchStart();
    this.statusTimer = setInterval(() => void this.status(), 10_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.statusTimer);
    this.note('stopping');
    for (const child of [...this.children].reverse()) await child.stop();
    await this.kinesis?.stop();
    await this.redis?.stop();
    // (only this launcher's file: another `pnpm start` may have written its own since)
    removeLauncherState(this.stateRoot, process.pid);
    if (this.monitoringDir !== undefined) rmSync(this.monitoringDir, { recursive: true, force: true });
    this.note('stopped');
    await this.logs.close();
  }

  /** Prometheus and Alertmanager as children (their URLs in monitoringUrls), or none — said why — when a binary is missing. */
  private async monitoringSpecs(): Promise<ChildSpec[]> {
    const c = this.config;
    const found = findMonitoringBinaries();
    if ('missing' in found) {
      this.note(`--monitoring: ${found.missing.join(' and ')} not on PATH, going on without monitoring. To install: ${INSTALL_HINT}`, { missing: found.missing }, 'warn');
      return [];
    }
    const [promPort, amPort] = [await freePort(), await freePort()];
    // each job of the project's prometheus.yml at the port this launcher gave its service
    const ports: Record<string, number> = { ingestor: c.ingestorPort, aggregator: c.aggregatorPort, inference: c.inferencePort };
    if (!this.live) ports['exchange-sim'] = c.simPort;
    const exporter = await this.redisExporterSpec();
    if (exporter !== undefined) ports['redis-exporter'] = exporter.port;
    const files = writeMonitoringFiles(this.root, ports, promPort, amPort, c.logLevel);
    this.monitoringDir = files.dir;
    this.monitoringUrls = { prometheus: `http://127.0.0.1:${promPort}`, alertmanager: `http://127.0.0.1:${amPort}` };
    return [
      ...(exporter === undefined ? [] : [exporter.spec]),
      { name: 'prometheus', entry: found.prometheus, command: [found.prometheus, ...files.prometheusArgs], colour: 31, healthUrl: `http://127.0.0.1:${promPort}/-/ready`, inherits: [], env: {} },
      { name: 'alertmanager', entry: found.alertmanager, command: [found.alertmanager, ...files.alertmanagerArgs], colour: 34, healthUrl: `http://127.0.0.1:${amPort}/-/ready`, inherits: [], env: {} },
    ];
  }

  /**
   * The Redis exporter on the stack's Redis, when its binary is on PATH and that Redis is one server without a password
   * (the launcher's own, or an operator's open one): a password would have to go on the exporter's command line or
   * into a file of its format, and a Cluster needs one exporter per node. Otherwise said why, and the rest goes on.
   */
  private async redisExporterSpec(): Promise<{ spec: ChildSpec; port: number } | undefined> {
    const binary = findBinary(REDIS_EXPORTER_NAMES);
    const redis = this.redis!;
    const env = redis.clientEnv;
    const why =
      binary === undefined
        ? `no redis_exporter on PATH (${REDIS_EXPORTER_HINT})`
        : env['REDIS_CLUSTER_NODES'] !== undefined
          ? 'the Redis is a Cluster'
          : Object.keys(env).some((k) => k.startsWith('REDIS_PASSWORD')) || new URL(redis.url).password !== ''
            ? 'the Redis takes a password'
            : undefined;
    if (why !== undefined || binary === undefined) {
      this.note(`--monitoring: no Redis exporter (${why}): the Redis alerts (RedisDown, memory) cannot fire`, {}, 'warn');
      return undefined;
    }
    const port = await freePort();
    // REDIS_ADDR from the environment: the exporter's own variable, the URL as the services get it
    const spec: ChildSpec = {
      name: 'redis-exporter',
      entry: binary,
      command: [binary, '-web.listen-address', `127.0.0.1:${port}`],
      colour: 90,
      healthUrl: `http://127.0.0.1:${port}/health`,
      inherits: [],
      env: { REDIS_ADDR: redis.url },
    };
    return { spec, port };
  }

  /** Each child's base URL (its /health's origin). */
  private serviceUrls(): Record<string, { url: string }> {
    const out: Record<string, { url: string }> = {};
    for (const child of this.children) if (child.spec.healthUrl !== undefined) out[child.spec.name] = { url: new URL(child.spec.healthUrl).origin };
    return out;
  }

  /**
   * Once every child has answered its health check: the state file for the tools, and where everything is. A
   * state file that cannot be written (a read-only checkout) is said, not fatal: the tools fall back to their defaults.
   */
  private checkUp(): void {
    if (this.up || this.stopped || this.children.length === 0 || !this.children.every((ch) => ch.answered)) return;
    this.up = true;
    const services = this.serviceUrls();
    const state: LauncherState = {
      version: 1,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      redisUrl: this.redis!.url,
      kinesisEndpoint: this.kinesis!.endpoint,
      kinesisStream: this.config.kinesisStream,
      logDir: this.logs.dir,
      services,
      page: this.urls.page,
      ...(this.monitoringUrls ?? {}),
    };
    const stateFile = join(this.stateRoot, LAUNCHER_STATE_FILE);
    let stateNote = `state ${this.shown(stateFile)} (pnpm read:vector and the other tools find this stack there)`;
    try {
      writeLauncherState(this.stateRoot, state);
    } catch (err) {
      stateNote = `state not written to ${this.shown(stateFile)}: ${err instanceof Error ? err.message : String(err)}`;
    }
    const metrics = Object.entries(services)
      .filter(([name]) => name !== 'prometheus' && name !== 'alertmanager')
      .map(([name, s]) => `${name} ${s.url}/metrics`);
    this.note(`up: live page ${this.urls.page}`, { page: this.urls.page, services, stateFile, logDir: this.logs.dir, ...(this.monitoringUrls ?? {}) });
    this.note(`metrics: ${metrics.join(' · ')}`);
    if (this.monitoringUrls) this.note(`prometheus ${this.monitoringUrls.prometheus}/alerts · alertmanager ${this.monitoringUrls.alertmanager}/`);
    this.note(`logs ${this.shown(this.logs.dir)}/ (one JSON-lines file per service: ${this.children.map((ch) => `${ch.spec.name}.log`).join(', ')}, launcher.log)`);
    this.note(stateNote);
  }

  /** A path as the operator would type it from the repository root (relative when under it). */
  private shown(path: string): string {
    const rel = relative(this.root, path);
    return rel.startsWith('..') || rel === '' ? path : rel;
  }

  private async startKinesis(): Promise<KinesisEmulator> {
    let emu = new KinesisEmulator({ host: '127.0.0.1', port: this.config.kinesisPort });
    try {
      await emu.start();
    } catch {
      // the usual port is taken (another stack?): any free one will do, children get the endpoint
      emu = new KinesisEmulator({ host: '127.0.0.1', port: 0 });
      await emu.start();
    }
    await emu.createStream(this.config.kinesisStream, this.config.kinesisShards);
    return emu;
  }

  /**
   * Polls the children until the first model prediction (or START_WATCH_MS): each phase of the start on the timeline,
   * the first prediction announced with it (and the first model prediction, when the first was a fallback).
   */
  private async watchStart(): Promise<void> {
    const t = this.timeline;
    const deadline = Date.now() + START_WATCH_MS;
    while (!this.stopped && !t.has('first model prediction')) {
      if (Date.now() > deadline) return this.note(`no model prediction ${START_WATCH_MS / 1000} s after start — timeline: ${t.format()}`);
      const hadFirst = t.has('first prediction');
      await this.probeAll();
      this.checkUp();
      // (one more round once the prediction is seen: a phase whose probe answered just before it happened is not left out)
      if (t.has('first model prediction')) await this.probeAll();
      if (this.stopped) return;
      const first = this.firstSeen;
      if (!hadFirst && first) {
        const model = t.has('first model prediction');
        this.announce(`first prediction ${seconds(t.get('first prediction'))} s after start (${first.fallback ? `fallback: ${first.reason}` : 'model'})`, {
          fallback: first.fallback,
          reason: first.reason,
        });
        if (model) return;
      } else if (hadFirst && t.has('first model prediction')) {
        return this.announce(`first model prediction ${seconds(t.get('first model prediction'))} s after start`, {});
      }
      await new Promise((r) => setTimeout(r, START_POLL_MS));
    }
  }

  private firstSeen: Prediction | undefined;

  /** A child's phase on the timeline (Prometheus' and Alertmanager's are not phases of the start to a first prediction). */
  private phase(name: string, ms?: number): void {
    if ((PHASES as readonly string[]).includes(name)) this.timeline.mark(name as Phase, ms);
  }

  private async probeAll(): Promise<void> {
    await Promise.all([...this.children.map((c) => this.probeHealth(c)), this.probeSnapshot(), this.probePredictions()]);
  }

  private announce(msg: string, fields: Record<string, unknown>): void {
    const timeline = this.timeline.seconds();
    this.note(`${msg} — timeline: ${this.timeline.format()}`, {
      ...fields,
      firstPredictionS: timeline['first prediction'],
      firstModelPredictionS: timeline['first model prediction'] ?? null,
      // the launcher process's start (epoch ms): what the timeline counts from, for a caller that started it earlier
      processStartMs: Math.round(performance.timeOrigin),
      timeline,
    });
  }

  private async probeHealth(child: Child): Promise<void> {
    const url = child.spec.healthUrl;
    if (url === undefined) return;
    const proc = child.pid;
    // (a body cut short or not JSON rejects after the response: caught as well, an answer not yet understood)
    const body = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
      .then((r) => {
        // any HTTP answer: the process is up (Prometheus' /-/ready is text, a service's /health JSON)
        if (child.pid === proc) child.answered = true;
        return r.json() as Promise<Record<string, unknown> | null>;
      })
      .catch(() => undefined);
    if (body === undefined || body === null) return;
    const now = performance.now();
    const t = this.timeline;
    this.phase(`${child.spec.name} up`, now);
    if (child.spec.name === 'ingestor' && body['connected'] === true) t.mark('ingestor connected', now);
    if (child.spec.name === 'aggregator') {
      if (Number(body['leases']) > 0) t.mark('aggregator leases', now);
      const age = Number(body['lastWriteAgeMs']);
      if (age >= 0) t.mark('first vector written', now - age);
    }
    if (child.spec.name === 'inference' && typeof body['lastTickAgeMs'] === 'number') t.mark('inference first tick', now - body['lastTickAgeMs']);
  }

  /** The ingestor's first depth snapshot (its counter: the log line may be filtered out by LOG_LEVEL). */
  private async probeSnapshot(): Promise<void> {
    if (this.timeline.has('snapshot published')) return;
    const text = await fetch(`http://127.0.0.1:${this.config.ingestorPort}/metrics`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
      .then((r) => r.text())
      .catch(() => '');
    if (Number(/^ingestor_snapshots_total\{result="ok"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0) > 0) this.timeline.mark('snapshot published');
  }

  /**
   * Inference's history since this process started (a Redis of the operator's may hold an earlier run's): the first
   * prediction and the first model one, at their exact issue times.
   */
  private async probePredictions(): Promise<void> {
    const symbol = this.config.symbols.split(',')[0];
    const list = await fetch(`http://127.0.0.1:${this.config.inferencePort}/v1/predictions?symbol=${symbol}&since=${Math.floor(performance.timeOrigin)}&limit=1000`, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    })
      .then((r) => (r.ok ? (r.json() as Promise<{ predictions?: Prediction[] }>).then((b) => b.predictions ?? []) : []))
      .catch(() => [] as Prediction[]);
    const first = list[0];
    if (first === undefined) return;
    const t = this.timeline;
    this.firstSeen ??= first;
    t.mark('first prediction', sinceStart(first.issuedAtMs));
    // the tick that issued it is the first one (a slow poll may have seen only a later tick)
    t.lower('inference first tick', sinceStart(first.tickMs));
    // the vector it was made from was in Redis when it was issued (a poll of the aggregator may have come later)
    t.lower('first vector written', sinceStart(first.issuedAtMs));
    const model = list.find((p) => !p.fallback);
    if (model) t.mark('first model prediction', sinceStart(model.issuedAtMs));
  }

  /** A status line every 10 s (the first prediction is announced by the start watch, at once). */
  private async status(): Promise<void> {
    const latest = await fetch(this.urls.latest).then(
      (r) => (r.ok ? (r.json() as Promise<Prediction>) : undefined),
      () => undefined,
    );
    const states = await Promise.all(
      this.children.map(async (c) => {
        const proc = c.pid;
        const status = await fetch(c.spec.healthUrl!, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).then(
          (r) => r.status,
          () => undefined,
        );
        if (status !== undefined && c.pid === proc) c.answered = true;
        // `starting` until this process's first answer; `down` when it stopped answering or is not running
        return `${c.spec.name} ${healthWord(c.running, c.answered, status)}`;
      }),
    );
    this.checkUp();
    const first = this.timeline.get('first prediction');
    this.note(`status: ${states.join(' · ')}${latest ? ` │ ${describe(latest)}` : ''}${first === undefined ? '' : ` │ first prediction ${seconds(first)} s after start`}`);
  }

  /** A launcher line; `fields` go into the JSON form only (the pretty one says it all in `msg`); always kept in launcher.log as JSON. */
  private note(msg: string, fields: Record<string, unknown> = {}, level: 'info' | 'warn' | 'error' = 'info'): void {
    this.print(this.format.launcher(msg, fields, level));
    this.logs.write('launcher', redactCredentials(JSON.stringify({ svc: 'launcher', level: level === 'info' ? 30 : level === 'warn' ? 40 : 50, time: new Date().toISOString(), msg, ...fields })));
  }
}

const seconds = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(1);

function describe(p: Prediction): string {
  return `${p.symbol} ${p.tickTime.slice(11, 19)} mid ${p.mid.toFixed(2)} → ${p.predictedPrice.toFixed(2)} in 10 s (p_up ${p.pUp.toFixed(2)})${p.fallback ? ` fallback: ${p.reason}` : ''}`;
}
