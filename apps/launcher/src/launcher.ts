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

export interface Prediction {
  symbol: string;
  tickTime: string;
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
  private readonly startedAt = Date.now();
  private firstPrediction = false;
  /** Every line the launcher shows, its children's included: URL credentials (a REDIS_URL's password) never get through. */
  private readonly print: (line: string) => void;

  constructor(
    readonly config: LauncherConfig,
    private readonly root: string,
    print: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {
    this.print = (line) => print(redactCredentials(line));
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
    this.redis = await resolveRedis(c.redis);
    if (this.redis.unusedBecause !== undefined) this.note(`the configured Redis is not used: ${this.redis.unusedBecause}`);
    this.note(`redis ${this.redis.url}${this.redis.pid !== undefined ? ` (spawned, pid ${this.redis.pid})` : ''}`);
    this.kinesis = await this.startKinesis();
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
      child.onStart = (name, pid) => this.note(`${name} started (pid ${pid})`);
      child.onRestart = (name, code, signal, delay) => this.note(`${name} exited (${signal ?? `code ${code}`}); restarting in ${(delay / 1000).toFixed(1)} s`);
      this.children.push(child);
      child.start();
      // the ingestor needs the simulator's REST snapshot at once
      if (spec.name === 'exchange-sim') await this.waitHealthy(spec, 30_000);
    }
    this.note(`live page ${this.urls.page} · latest ${this.urls.latest} · metrics ${this.urls.metrics}`);
    this.statusTimer = setInterval(() => void this.status(), 2_000);
  }

  async stop(): Promise<void> {
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

  private async waitHealthy(spec: ChildSpec, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (
        await fetch(spec.healthUrl!).then(
          (r) => r.status < 500,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 200));
    }
    this.note(`${spec.name} not healthy after ${ms / 1000} s; continuing`);
  }

  private tick = 0;
  /** Every 2 s: the first prediction is announced at once; a status line every 10 s. */
  private async status(): Promise<void> {
    const latest = await fetch(this.urls.latest).then(
      (r) => (r.ok ? (r.json() as Promise<Prediction>) : undefined),
      () => undefined,
    );
    if (latest && !this.firstPrediction) {
      this.firstPrediction = true;
      this.note(`first prediction after ${((Date.now() - this.startedAt) / 1000).toFixed(1)} s: ${describe(latest)}`);
    }
    if (this.tick++ % 5 !== 0) return;
    const states = await Promise.all(
      this.children.map(
        async (c) =>
          `${c.spec.name} ${await fetch(c.spec.healthUrl!).then(
            (r) => (r.status < 300 ? 'ok' : `${r.status}`),
            () => 'down',
          )}`,
      ),
    );
    this.note(`status: ${states.join(' · ')}${latest ? ` │ ${describe(latest)}` : ''}`);
  }

  private note(msg: string): void {
    this.print(this.config.logFormat === 'json' ? JSON.stringify({ svc: 'launcher', time: new Date().toISOString(), msg }) : `\x1b[1m${'launcher'.padEnd(12)}\x1b[0m ${msg}`);
  }
}

function describe(p: Prediction): string {
  return `${p.symbol} ${p.tickTime.slice(11, 19)} mid ${p.mid.toFixed(2)} → ${p.predictedPrice.toFixed(2)} in 10 s (p_up ${p.pUp.toFixed(2)})${p.fallback ? ` fallback: ${p.reason}` : ''}`;
}
