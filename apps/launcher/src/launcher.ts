/**
 * The local stack in one process tree: Redis (found or spawned), kinesalite
 * in-process with the stream created, then exchange-sim (or live Binance),
 * ingestor, aggregator and inference as supervised children with the same env
 * vars compose uses. Stops in reverse order: inference, aggregator (commits
 * state, hands leases back), ingestor (flushes Kinesis), simulator, Kinesis,
 * Redis (flushes its AOF).
 */
import { resolve } from 'node:path';
import { KinesisEmulator } from '@hotpath/kinesis/testing';
import { Child, type ChildSpec } from './child.ts';
import { PROXY_VARIABLES } from './child-env.ts';
import type { LauncherConfig } from './config.ts';
import { redactCredentials } from './redact.ts';
import { resolveRedis, type RedisHandle } from './redis.ts';
import { sinceStart, StartTimeline } from './timeline.ts';

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

  constructor(
    readonly config: LauncherConfig,
    private readonly root: string,
    print: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {
    this.print = (line) => print(redactCredentials(line));
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
    specs.push({
      name: 'inference',
      entry: 'apps/inference/bin/start.ts',
      colour: 32,
      healthUrl: health(c.inferencePort),
      inherits: ['INFERENCE_*', ...traced],
      env: { ...common, ...ownServiceName, ...this.redis.clientEnv, INFERENCE_SYMBOLS: c.symbols, INFERENCE_PORT: String(c.inferencePort), INFERENCE_STATUS_PEERS: peers },
    });
    for (const spec of specs) {
      const child = new Child(spec, this.root, c.logFormat);
      child.onLine = this.print;
      child.onStart = (name, pid) => {
        this.timeline.mark(`${spec.name as 'ingestor'} spawned`);
        this.note(`${name} started (pid ${pid})`);
      };
      child.onRestart = (name, code, signal, delay) => this.note(`${name} exited (${signal ?? `code ${code}`}); restarting in ${(delay / 1000).toFixed(1)} s`);
      this.children.push(child);
      // all at once, not the simulator first: each child's module loading is most of its start, and the ingestor's
      // connection (its last start step) retries with a short backoff should the simulator not listen yet
      child.start();
    }
    void this.watchStart();
    this.note(`live page ${this.urls.page} · latest ${this.urls.latest} · metrics ${this.urls.metrics}`);
    this.statusTimer = setInterval(() => void this.status(), 10_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.statusTimer);
    this.note('stopping');
    for (const child of [...this.children].reverse()) await child.stop();
    await this.kinesis?.stop();
    await this.redis?.stop();
    this.note('stopped');
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
    // (a body cut short or not JSON rejects after the response: caught as well, an answer not yet understood)
    const body = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
      .then((r) => r.json() as Promise<Record<string, unknown> | null>)
      .catch(() => undefined);
    if (body === undefined || body === null) return;
    const now = performance.now();
    const t = this.timeline;
    t.mark(`${child.spec.name as 'ingestor'} up`, now);
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
      this.children.map(
        async (c) =>
          `${c.spec.name} ${await fetch(c.spec.healthUrl!).then(
            (r) => (r.status < 300 ? 'ok' : `${r.status}`),
            () => 'down',
          )}`,
      ),
    );
    const first = this.timeline.get('first prediction');
    this.note(`status: ${states.join(' · ')}${latest ? ` │ ${describe(latest)}` : ''}${first === undefined ? '' : ` │ first prediction ${seconds(first)} s after start`}`);
  }

  /** A launcher line; `fields` go into the JSON form only (the pretty one says it all in `msg`). */
  private note(msg: string, fields: Record<string, unknown> = {}): void {
    this.print(this.config.logFormat === 'json' ? JSON.stringify({ svc: 'launcher', time: new Date().toISOString(), msg, ...fields }) : `\x1b[1m${'launcher'.padEnd(12)}\x1b[0m ${msg}`);
  }
}

const seconds = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(1);

function describe(p: Prediction): string {
  return `${p.symbol} ${p.tickTime.slice(11, 19)} mid ${p.mid.toFixed(2)} → ${p.predictedPrice.toFixed(2)} in 10 s (p_up ${p.pUp.toFixed(2)})${p.fallback ? ` fallback: ${p.reason}` : ''}`;
}
