/**
 * What a client does across every node it talks to, the same for one server
 * and a Redis Cluster: SCAN (on a cluster, one SCAN reads one node: the keys of
 * the other masters would be missed), PING for health (on a cluster, a PING
 * answered by one live master says nothing of the others), and the client's
 * connection events as a bounded set of names for a metric.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connection.ts';

const CLUSTER_SLOT_COUNT = 16_384;

/** The servers holding keys: the one server, or every master the cluster client knows. */
function keyHolders(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * Every key matching `pattern`, from every master (each key once: a slot
 * moving during the scan may show a key on two nodes). Bounded by `max`: past
 * it, an error (a pattern this broad is a mistake, not a table to print).
 */
export async function scanKeys(client: RedisClient, pattern: string, max = 100_000): Promise<string[]> {
  const holders = keyHolders(client);
  if (holders.length === 0) throw new Error('CLUSTERDOWN no master known to the cluster client');
  const found = new Set<string>();
  for (const node of holders) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 200);
      cursor = next;
      for (const k of keys) found.add(k);
      if (found.size > max) throw new Error(`more than ${max} keys match ${pattern}`);
    } while (cursor !== '0');
  }
  return [...found];
}

/**
 * Resolves when every server holding keys answers PING. On a cluster: every
 * slot has a master in the client's slot map, that master is connected (the
 * client drops a node whose connection ended: a master killed is gone from its
 * pool, not failing a PING) and answers. A master down, or a failover not yet
 * seen, rejects with a CLUSTERDOWN error: the keys of its slots cannot be written.
 */
export async function pingEveryMaster(client: RedisClient): Promise<void> {
  if (!(client instanceof Cluster)) {
    await client.ping();
    return;
  }
  const masters = client.nodes('master');
  const connected = new Set(masters.map((n) => `${n.options.host}:${n.options.port}`));
  let unserved = 0;
  const gone = new Set<string>();
  for (let slot = 0; slot < CLUSTER_SLOT_COUNT; slot++) {
    const owner = client.slots[slot]?.[0];
    if (owner === undefined) unserved++;
    else if (!connected.has(owner)) gone.add(owner);
  }
  if (unserved > 0) throw new Error(`CLUSTERDOWN ${unserved} slots have no master in the client's slot map`);
  if (gone.size > 0) throw new Error(`CLUSTERDOWN the master${gone.size > 1 ? 's' : ''} at ${[...gone].join(', ')} serving slots ${gone.size > 1 ? 'are' : 'is'} not connected`);
  await Promise.all(masters.map((n) => n.ping()));
}

/**
 * A client's connection events, named for a metric label (a fixed set):
 *  - error: the client reported a connection error (one server, or a cluster's own)
 *  - node_error: a cluster node's connection failed (a node down, a failover)
 *  - node_added / node_removed: the cluster client connected to / dropped a node
 *  - reconnecting: the client lost its connection and is reconnecting
 *  - ready: connected (again) and ready for commands
 */
export const REDIS_CLIENT_EVENTS = ['error', 'node_error', 'node_added', 'node_removed', 'reconnecting', 'ready'] as const;
export type RedisClientEvent = (typeof REDIS_CLIENT_EVENTS)[number];

export interface RedisClientWatcher {
  /** One connection event (for a counter); `err` with error and node_error. */
  event(name: RedisClientEvent, err?: Error): void;
  /**
   * Slots whose master changed in the cluster client's slot map since its last
   * refresh: a slot migration (MOVED, ASK) or a failover. Several thousand at
   * once is a failover or a reshard of many slots; a steady trickle, a MOVED storm.
   */
  slotsMoved?(count: number): void;
}

/** Calls `watcher` on each connection event of `client`; returns what removes the listeners. */
export function watchRedisClient(client: RedisClient, watcher: RedisClientWatcher): () => void {
  const listeners: [string, (...args: never[]) => void][] = [
    ['error', (err: Error) => watcher.event('error', err)],
    ['reconnecting', () => watcher.event('reconnecting')],
    ['ready', () => watcher.event('ready')],
  ];
  if (client instanceof Cluster) {
    const slotMap = (): (string | undefined)[] => Array.from({ length: CLUSTER_SLOT_COUNT }, (_, slot) => client.slots[slot]?.[0]);
    // (the map as it is now, if the client has one: a move before the next refresh is counted)
    let owners: readonly (string | undefined)[] = client.slots.length > 0 ? slotMap() : [];
    listeners.push(
      ['node error', (err: Error) => watcher.event('node_error', err)],
      ['+node', () => watcher.event('node_added')],
      ['-node', () => watcher.event('node_removed')],
      [
        'refresh',
        () => {
          // each slot's master: the first node of client.slots[slot]
          const now = slotMap();
          let moved = 0;
          if (owners.length > 0) for (let slot = 0; slot < now.length; slot++) if (owners[slot] !== now[slot]) moved++;
          owners = now;
          if (moved > 0) watcher.slotsMoved?.(moved);
        },
      ],
    );
  }
  for (const [name, fn] of listeners) client.on(name, fn as (...args: unknown[]) => void);
  return () => {
    for (const [name, fn] of listeners) client.off(name, fn as (...args: unknown[]) => void);
  };
}
