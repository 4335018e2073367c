/**
 * Composition root of the aggregator: configuration → Redis (leases, fenced
 * feature store) + Kinesis (client, fetch thread, fan-out consumer) → a
 * ShardCoordinator (libs/kinesis: which shards this instance reads, each
 * shard's life) that opens one ShardProcessor per leased shard (its symbols'
 * SymbolProcessors and their fenced commits) → /health and /metrics; started
 * and stopped by one Lifecycle.
 */
import type { FastifyInstance } from 'fastify';
import { FetchWorker, ShardCoordinator, createKinesisClient, createSubscribeClient, describeShards, listShards, registerConsumer, type KinesisClient, type LeaseStore } from '@hotpath/kinesis';
import { FeatureStore, LeaseManager, RedisConnection, startCheck, type RedisClient, type RedisRole } from '@hotpath/state';
import { createLogger, createRegistry, type Logger, type Registry } from '@hotpath/telemetry';
import { EnvelopeTraceReader, Tracing } from '@hotpath/tracing';
import { Lifecycle, createOpsServer, ignoreRejection, retry, withDeadline, type StopReport } from '@hotpath/service';
import type { AggregatorConfig } from './config.ts';
import { Progress, aggregatorHealth, type AggregatorHealth } from './health.ts';
import { countFetchWorkerDeaths, createAggregatorMetrics, type AggregatorMetrics } from './metrics.ts';
import { watchAggregatorRedis } from './redis-events.ts';
import { ShardProcessor, symbolsOf } from './shard-processor.ts';
import { createShardSource } from './shard-source.ts';

/** How long the start waits for Redis to take the connection before going on without it (a TLS or AUTH refusal comes at once). */
const REDIS_START_CHECK_MS = 5_000;

export class Aggregator {
  readonly registry: Registry;
  readonly log: Logger;
  private readonly connection: RedisConnection;
  private readonly redisRole: RedisRole;
  private readonly redis: RedisClient;
  private readonly kinesis: KinesisClient;
  /** The thread that reads the shards when `fetch` is `worker`. */
  private readonly fetcher: FetchWorker | undefined;
  /** The registered stream consumer when `consumer` is `fanout` (set at start). */
  private consumerArn: string | undefined;
  private readonly coordinator: ShardCoordinator;
  private readonly openShards = new Set<ShardProcessor>();
  private readonly progress = new Progress();
  private readonly m: AggregatorMetrics;
  private readonly http: FastifyInstance;
  private readonly lifecycle: Lifecycle;
  /** OpenTelemetry (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set): continues the traces sampled envelopes carry, docs/tracing.md. */
  readonly tracing: Tracing;
  private handBackDeadlineMs = 5_000;

  constructor(
    readonly config: AggregatorConfig,
    deps: { kinesisClient?: KinesisClient; log?: Logger /** The OTEL_* variables (default process.env). */; tracingEnv?: NodeJS.ProcessEnv } = {},
  ) {
    this.log = deps.log ?? createLogger({ service: 'aggregator', level: config.logLevel });
    this.registry = createRegistry('aggregator');
    this.tracing = new Tracing({ service: 'aggregator', version: new URL('../package.json', import.meta.url), registry: this.registry, log: this.log, env: deps.tracingEnv });
    this.m = createAggregatorMetrics(this.registry, config.kinesisStream);
    // one server or a cluster, TLS, ACL user: the settings were checked at load (a file gone since throws RedisConnectionError here)
    this.connection = new RedisConnection(config.redis);
    this.redisRole = { name: 'aggregator', maxRetriesPerRequest: 2, commandTimeout: config.redisCommandTimeoutMs, readyTimeoutMs: REDIS_START_CHECK_MS };
    this.redis = this.connection.client(this.redisRole);
    watchAggregatorRedis(this.redis, this.m, this.log, this.openShards);
    const endpoint = { region: config.kinesisRegion, ...(config.kinesisEndpoint ? { endpoint: config.kinesisEndpoint } : {}) };
    // (fan-out needs HTTP/2; against AWS either client would do, an emulator speaks one or the other)
    this.kinesis = deps.kinesisClient ?? (config.consumer === 'fanout' ? createSubscribeClient(endpoint) : createKinesisClient(endpoint));
    this.fetcher = config.fetch === 'worker' ? new FetchWorker(endpoint) : undefined;
    if (this.fetcher !== undefined) countFetchWorkerDeaths(this.registry, this.fetcher);
    const store = new FeatureStore(this.redis, config.vectorTtlMs);
    const leases: LeaseStore = new LeaseManager(this.redis, config.kinesisStream, config.owner, config.leaseTtlMs);
    const tracing = { tracing: this.tracing, reader: new EnvelopeTraceReader(this.registry, 'aggregator') };
    const shardDeps = { store, metrics: this.m, progress: this.progress, log: this.log, config, open: this.openShards, tracing };
    this.coordinator = new ShardCoordinator({
      leases,
      listShards: async () => describeShards(await listShards(this.kinesis, config.kinesisStream)),
      createProcessor: (shard) => new ShardProcessor(shard, shardDeps),
      createReader: (options) => createShardSource(options, { config, kinesis: this.kinesis, fetcher: this.fetcher, consumerArn: this.consumerArn, metrics: this.m, log: this.log }),
      leaseRoundMs: Math.max(50, Math.floor(config.leaseTtlMs / 3)),
      checkpointIntervalMs: config.stateCommitMs,
      log: this.log,
      onRound: (held) => this.m.leasesHeld.set(held),
    });
    this.http = createOpsServer({ registry: this.registry, health: () => this.health(), ready: () => this.lifecycle.status === 'started' });
    this.lifecycle = this.buildLifecycle();
  }

  get ownedShards(): string[] {
    return this.coordinator.heldShards.map((s) => s.leaseKey).sort();
  }

  /** The leaseCounter (fencing token) of each shard held: a zombie drill writes with an old one. */
  leaseTokens(): Map<string, number> {
    return new Map(this.coordinator.heldShards.map((s) => [s.leaseKey, s.leaseCounter]));
  }

  /** The configured symbols a shard carries, by the shard map last read. */
  symbolsOf(shardId: string): string[] {
    const shard = this.coordinator.shards.find((s) => s.shardId === shardId);
    return shard === undefined ? [] : symbolsOf(this.config.symbols, shard);
  }

  get httpPort(): number {
    const a = this.http.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  health(): Promise<AggregatorHealth> {
    return aggregatorHealth(this.redis, this.progress, { held: this.coordinator.heldShards, roundError: this.coordinator.lastRoundError }, this.config.stallAfterMs);
  }

  /**
   * Ordered start (the one lifecycle): HTTP first, so /health answers (not ready) while Kinesis is waited for; a
   * dependency not reachable yet is retried until it is, or until stop(). Stop runs backwards: leases handed back
   * with their last commit, then the fetch thread, HTTP and Redis.
   */
  async start(): Promise<void> {
    this.progress.startedAtMs = Date.now();
    await this.lifecycle.start();
  }

  private buildLifecycle(): Lifecycle {
    const waitFor = <T>(what: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> =>
      retry(fn, { what, signal, baseMs: 250, maxMs: 5_000, onRetry: (err) => this.log.warn({ err, what }, 'not reachable yet: retrying') });
    const { kinesisStream, fanoutConsumerName } = this.config;
    return (
      new Lifecycle()
        // first, so it stops last: the spans of the hand-back are flushed too (within the shared deadline)
        .add(this.tracing.component)
        .add({ name: 'redis', stop: () => this.redis.disconnect() })
        .add({ name: 'http', start: () => this.http.listen({ port: this.config.port, host: this.config.host }).then(() => undefined), stop: () => this.http.close() })
        .add({ name: 'redis check', start: () => this.checkRedis() })
        .add({
          name: 'fetch worker',
          start: () => this.fetcher?.warm(), // boots while leases are taken
          stop: () =>
            withDeadline(this.fetcher?.close() ?? Promise.resolve(), 1_000, 'fetch worker close').catch(ignoreRejection(this.log, 'a fetch thread that does not close in time ends with the process')),
        })
        .add({
          name: 'kinesis',
          start: async (signal) => {
            if (this.config.consumer === 'fanout') this.consumerArn = await waitFor('Kinesis RegisterStreamConsumer', () => registerConsumer(this.kinesis, kinesisStream, fanoutConsumerName), signal);
            await waitFor('Kinesis ListShards', () => this.coordinator.readShardMap(), signal);
          },
        })
        .add({ name: 'shard leases', start: () => this.coordinator.start(), stop: () => this.handBack() })
    );
  }

  /**
   * Whether Redis takes this connection, while /health already answers: a TLS or AUTH refusal (or a file gone)
   * fails the start — retrying cannot fix a setting — with the typed error naming it; no answer (or a cluster not
   * ready) within REDIS_START_CHECK_MS is logged, and the client keeps reconnecting: the lease rounds wait for it
   * and /health says not ok meanwhile.
   */
  private async checkRedis(): Promise<void> {
    await startCheck(this.connection, [[this.redis, this.redisRole]], this.log);
  }

  /**
   * Hands leases back after committing (graceful shutdown), within stopTimeoutMs: what is not committed by then is
   * left to the lease's expiry (the next owner replays it from the last checkpoint: nothing is lost, only
   * re-applied), counted and logged.
   */
  async stop(deadlineMs = this.config.stopTimeoutMs): Promise<StopReport> {
    this.coordinator.halt();
    this.handBackDeadlineMs = Math.max(100, deadlineMs - 1_500); // the fetch thread, HTTP and Redis get the rest
    const report = await this.lifecycle.stop(deadlineMs);
    for (const f of report.failed) this.log.error({ component: f.name, err: f.err }, 'did not stop cleanly');
    return report;
  }

  private async handBack(): Promise<void> {
    const { notHandedBack } = await this.coordinator.shutdown(this.handBackDeadlineMs);
    if (notHandedBack.length === 0) return;
    this.m.stopIncomplete.inc(notHandedBack.length);
    this.log.error({ shards: notHandedBack, timeoutMs: this.handBackDeadlineMs }, 'stop deadline passed: these leases expire instead; their next owner replays from the last checkpoint');
  }

  /** Abrupt stop for crash drills: nothing committed or released. */
  kill(): void {
    this.coordinator.kill();
    void this.fetcher?.close();
    void this.http.close();
    this.redis.disconnect();
  }
}
