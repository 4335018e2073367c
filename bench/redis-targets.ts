/**
 * Which Redis a bench measures against, from BENCH_REDIS:
 *   single   a spawned redis-server (the default: the benches' figures as before)
 *   cluster  a local Redis Cluster, 3 masters + 3 replicas (libs/state's test harness), through the
 *            services' own connection factory (REDIS_CLUSTER_NODES)
 *   both     the same measurement on each, alternated round by round in one run (S C, C S, …): on a
 *            shared 2-core machine only figures measured side by side compare, so the final JSON line
 *            carries cluster/single ratios of medians.
 * Every node persists as the single server does (appendonly, BENCH_FSYNC); a cluster's masters also
 * replicate every write, which is part of what a cluster costs.
 */
import { rmSync } from 'node:fs';
import { RedisConnection, type RedisClient, type RedisConnectionSettings } from '@hotpath/state';
import { RedisServer } from '@hotpath/state/testing';
import { RedisCluster } from '@hotpath/state/testing/cluster';

export type RedisKind = 'single' | 'cluster';

export interface BenchRedis {
  kind: RedisKind;
  /** As the services' configurations take them (REDIS_URL, REDIS_CLUSTER_NODES). */
  fields: { redisUrl: string; redisClusterNodes?: string };
  settings: RedisConnectionSettings;
  /** A client of the bench's own (waiting for results, feeding vectors), connected. */
  client: RedisClient;
  /** The redis-server that holds {BTCUSDT} (on a cluster, the master of its slot): where a PING floor is measured. */
  btcPort: number;
  /** Empties every node (between rounds: a checkpoint of one round means nothing to the next one's stream). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** BENCH_REDIS, checked: the kinds to measure. */
export function benchRedisKinds(): RedisKind[] {
  const mode = process.env['BENCH_REDIS'] ?? 'single';
  if (mode === 'single' || mode === 'cluster') return [mode];
  if (mode === 'both') return ['single', 'cluster'];
  throw new Error(`BENCH_REDIS=${mode}: expected single, cluster or both`);
}

/** `rounds` rounds of every kind, each round's order the reverse of the last (S C, C S, …): drift weighs on both alike. */
export function roundOrder(kinds: readonly RedisKind[], rounds: number): RedisKind[] {
  const out: RedisKind[] = [];
  for (let r = 0; r < rounds; r++) out.push(...(r % 2 === 0 ? kinds : [...kinds].reverse()));
  return out;
}

/**
 * However the bench ends (a round that throws included), no redis-server it started outlives it: each is killed by
 * its pid and its files removed when the process exits. Returns what unhooks it (after a clean stop).
 */
function killOnExit(pids: () => (number | undefined)[], dir: string): () => void {
  const hook = (): void => {
    for (const pid of pids()) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile: nothing to kill
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', hook);
  return () => process.off('exit', hook);
}

export async function startBenchRedis(kind: RedisKind, fsync: 'always' | 'everysec'): Promise<BenchRedis> {
  const role = { name: 'bench', commandTimeout: 10_000 };
  if (kind === 'single') {
    const server = new RedisServer(fsync);
    const unhook = killOnExit(() => [server.pid], server.dir);
    await server.start();
    const settings: RedisConnectionSettings = { url: server.url };
    const client = await new RedisConnection(settings).connect(role);
    return {
      kind,
      fields: { redisUrl: server.url },
      settings,
      client,
      btcPort: server.port,
      flush: async () => void (await client.flushall()),
      stop: async () => {
        client.disconnect();
        await server.stop();
        unhook();
      },
    };
  }
  const cluster = new RedisCluster({ nodeArgs: ['--appendonly', 'yes', '--appendfsync', fsync] });
  const unhook = killOnExit(() => cluster.nodes.filter((n) => n.alive).map((n) => n.pid), cluster.dir);
  await cluster.start();
  const settings: RedisConnectionSettings = { url: 'redis://127.0.0.1', clusterNodes: cluster.startupNodes };
  const client = await new RedisConnection(settings).connect(role);
  return {
    kind,
    fields: { redisUrl: settings.url, redisClusterNodes: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(',') },
    settings,
    client,
    btcPort: (await cluster.nodeOwningKey('feat:{BTCUSDT}')).port,
    flush: async () => void (await Promise.all((await cluster.liveMasters()).map((n) => n.call('FLUSHALL')))),
    stop: async () => {
      client.disconnect();
      await cluster.stop();
      unhook();
    },
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Per figure, the median over rounds of each kind and cluster/single of the medians (3 decimals). */
export function compare<K extends string>(
  rounds: readonly { kind: RedisKind; figures: Record<K, number> }[],
): {
  single: Record<K, number>;
  cluster: Record<K, number>;
  cluster_vs_single: Record<K, number>;
} {
  const of = (kind: RedisKind): Record<K, number> => {
    const mine = rounds.filter((r) => r.kind === kind);
    const keys = Object.keys(mine[0]!.figures) as K[];
    return Object.fromEntries(keys.map((k) => [k, Number(median(mine.map((r) => r.figures[k])).toFixed(3))])) as Record<K, number>;
  };
  const single = of('single');
  const cluster = of('cluster');
  const ratios = Object.fromEntries((Object.keys(single) as K[]).map((k) => [k, single[k] === 0 ? null : Number((cluster[k] / single[k]).toFixed(2))])) as Record<K, number>;
  return { single, cluster, cluster_vs_single: ratios };
}

/**
 * The q-quantile of a Prometheus histogram as histogram_quantile() estimates it: linear within the bucket it falls
 * in (finer than the bucket's bound, which is what a p99 read off the buckets gives).
 */
export function histogramQuantile(buckets: readonly { le: number; count: number }[], q: number): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)!.count;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe; // in the +Inf bucket: the highest finite bound, as Prometheus answers
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(b.count - prevCount, 1);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
