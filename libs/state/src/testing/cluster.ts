/**
 * A private Redis Cluster for tests: masters + replicas (3 + 3 unless told)
 * from `redis-server --cluster-enabled yes`, each on free ports with its own
 * directory and kept by its pid, joined by `redis-cli --cluster create`. Then
 * what the tests do to a real cluster: find the node that owns a key, kill -9
 * it, wait for its replica to take over (timed), move one slot to another
 * master while clients write. Every wait has a deadline and ends in an error
 * that says what did not happen; stop() kills every node by pid and removes
 * the directories.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.ts';
import type { ClusterNodeAddress } from '../connection-settings.ts';
import type { TlsFiles } from './tls.ts';
import { WaitAborted, tailOf, waitUntil } from './wait.ts';

export { WaitAborted, waitUntil };

export const CLUSTER_SLOTS = 16_384;

/** The last lines of a node's log, for an error that says why it did not start. */
function logTail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
}

export class ClusterNode {
  /** CLUSTER MYID, once the cluster is created. */
  id = '';
  /** When killNode() sent SIGKILL (Date.now()). */
  killedAt: number | undefined;
  private client: Redis | undefined;

  constructor(
    readonly port: number,
    readonly busPort: number,
    readonly dir: string,
    private readonly proc: ChildProcess,
    private readonly tls?: TlsFiles,
  ) {
    this.stderr = tailOf(proc.stderr);
    this.closed = new Promise((r) => proc.once('close', r));
  }

  /** Resolves once the process is gone and its stderr read to the end. */
  readonly closed: Promise<unknown>;

  /** What the process wrote to stderr last (a configuration error comes there, before any log file). */
  readonly stderr: () => string;

  /** Why the node is not running, in its own words. */
  get why(): string {
    return [this.stderr(), logTail(this.log)].filter((t) => t !== '').join(' | ') || '(nothing logged)';
  }

  /** The name the node announces with announceHostnames (resolvable nowhere: a client needs a NAT map). */
  get hostname(): string {
    return `node-${this.port}.cluster.invalid`;
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get address(): ClusterNodeAddress {
    return { host: '127.0.0.1', port: this.port };
  }

  get log(): string {
    return join(this.dir, 'redis.log');
  }

  /** One command to this node alone (no redirection): CLUSTER INFO, ROLE, MIGRATE… */
  async call(...args: (string | number)[]): Promise<unknown> {
    if (this.client === undefined || this.client.status === 'end') {
      // (verified as localhost: a certificate with DNS names only, as ElastiCache's, names no IP)
      const tls = this.tls === undefined ? undefined : { ca: readFileSync(this.tls.caFile), servername: 'localhost' };
      this.client = new Redis({ host: '127.0.0.1', port: this.port, tls, lazyConnect: true, connectTimeout: 1_000, commandTimeout: 5_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
      this.client.on('error', () => undefined); // a killed node: the call rejects, which is what callers see
    }
    const [command, ...rest] = args;
    return this.client.call(String(command), ...rest);
  }

  async info(section: string): Promise<Record<string, string>> {
    const text = String(await this.call(section === 'cluster' ? 'CLUSTER' : 'INFO', section === 'cluster' ? 'INFO' : section));
    return Object.fromEntries(text.split(/\r?\n/).flatMap((l) => (l.includes(':') ? [[l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]] : [])));
  }

  /** SIGKILL: no shutdown, no failover handshake; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.client?.disconnect();
    if (!this.alive) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.killedAt = Date.now();
    this.proc.kill('SIGKILL');
    await exited;
  }
}

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** cluster-node-timeout: how long a silent master takes to be declared failed (the bulk of a failover). */
  nodeTimeoutMs?: number;
  /** start(): nodes up, cluster created and every slot served within this. */
  startTimeoutMs?: number;
  /** TLS only, between clients and nodes and between nodes (tls-cluster, tls-replication), with these certificates. */
  tls?: TlsFiles;
  /**
   * Each node announces the hostname node-<port>.cluster.invalid instead of
   * its IP (cluster-preferred-endpoint-type hostname), as nodes in docker or
   * behind a NAT announce names the client cannot reach: a client needs
   * natMap() to use the cluster.
   */
  announceHostnames?: boolean;
  /** More redis-server arguments for every node. */
  nodeArgs?: readonly string[];
}

export class RedisCluster {
  readonly nodes: ClusterNode[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'redis-cluster-test-'));
  private readonly masters: number;
  private readonly replicas: number;
  readonly nodeTimeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly tls: TlsFiles | undefined;
  private readonly announceHostnames: boolean;
  private readonly nodeArgs: readonly string[];

  constructor(options: RedisClusterOptions = {}) {
    this.tls = options.tls;
    this.announceHostnames = options.announceHostnames ?? false;
    this.nodeArgs = options.nodeArgs ?? [];
    this.masters = options.masters ?? 3;
    this.replicas = options.replicasPerMaster ?? 1;
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
  }

  /** With announceHostnames: announced address → `host` and the node's port, for the client's natMap (REDIS_CLUSTER_NAT_MAP). */
  natMap(host = '127.0.0.1'): Record<string, ClusterNodeAddress> {
    return Object.fromEntries(this.nodes.map((n) => [`${n.hostname}:${n.port}`, { host, port: n.port }]));
  }

  /** Seeds for a client: every live node. */
  get startupNodes(): ClusterNodeAddress[] {
    return this.nodes.filter((n) => n.alive).map((n) => n.address);
  }

  /** Nodes up, cluster created, every slot served and every replica linked: within startTimeoutMs. A failed start leaves nothing running. */
  async start(): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    try {
      await this.spawnNodes(deadline - Date.now());
      const tls = this.tls === undefined ? [] : ['--tls', '--cacert', this.tls.caFile];
      await run('redis-cli', [...tls, '--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(this.replicas), '--cluster-yes'], deadline - Date.now());
      await this.waitHealthy(deadline - Date.now());
      for (const n of this.nodes) n.id = String(await n.call('CLUSTER', 'MYID'));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The nodes alone, answering PING, not yet a cluster (no slot assigned: cluster_state fail). */
  async spawnNodes(timeoutMs = this.startTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const taken = new Set<number>();
    const port = async (): Promise<number> => {
      // a port and its bus port, each free and distinct (freePort may hand the same one out twice)
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    for (let i = 0; i < this.masters * (1 + this.replicas); i++) {
      const [p, bus] = [await port(), await port()];
      const dir = join(this.dir, `node-${p}`);
      mkdirSync(dir);
      const tls = this.tls;
      const listen =
        tls === undefined
          ? ['--port', String(p)]
          : [
              '--port',
              '0',
              '--tls-port',
              String(p),
              '--tls-cluster',
              'yes',
              '--tls-replication',
              'yes',
              '--tls-auth-clients',
              'no',
              '--tls-cert-file',
              tls.certFile,
              '--tls-key-file',
              tls.keyFile,
              '--tls-ca-cert-file',
              tls.caFile,
            ];
      const announce = this.announceHostnames ? ['--cluster-announce-hostname', `node-${p}.cluster.invalid`, '--cluster-preferred-endpoint-type', 'hostname'] : [];
      const proc = spawn(
        'redis-server',
        [
          ...listen,
          ...['--cluster-port', String(bus), '--bind', '127.0.0.1', '--cluster-announce-ip', '127.0.0.1', ...announce],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', String(this.nodeTimeoutMs)],
          // a replica takes over however long its link was down: failover timing depends on the timeout alone
          ...['--cluster-replica-validity-factor', '0', '--cluster-allow-replica-migration', 'no'],
          ...['--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, 'redis.log')],
          ...this.nodeArgs,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      this.nodes.push(new ClusterNode(p, bus, dir, proc, this.tls));
    }
    await waitUntil('redis-server cluster nodes answering PING', deadline - Date.now(), async () => {
      const dead = this.nodes.find((n) => !n.alive);
      if (dead !== undefined) throw await dead.closed.then(() => new WaitAborted(`redis-server on ${dead.port} exited: ${dead.why}`));
      const answers = await Promise.all(
        this.nodes.map((n) =>
          n.call('PING').then(
            (r) => r === 'PONG',
            () => false,
          ),
        ),
      );
      return answers.every(Boolean) ? true : undefined;
    });
  }

  /** Every live node: cluster_state ok, every slot served, each replica's link to its master up. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    await waitUntil('cluster_state:ok with all 16384 slots on every node', timeoutMs, async () => {
      for (const n of this.nodes.filter((x) => x.alive)) {
        const c = await n.info('cluster');
        if (c['cluster_state'] !== 'ok' || c['cluster_slots_ok'] !== String(CLUSTER_SLOTS)) return undefined;
        const r = await n.info('replication');
        if (r['role'] === 'slave' && r['master_link_status'] !== 'up') return undefined;
      }
      return true;
    });
  }

  private anyLive(): ClusterNode {
    const n = this.nodes.find((x) => x.alive);
    if (n === undefined) throw new Error('no cluster node is alive');
    return n;
  }

  /** The server's own answer (CLUSTER KEYSLOT). */
  async keySlot(key: string): Promise<number> {
    return Number(await this.anyLive().call('CLUSTER', 'KEYSLOT', key));
  }

  /** The master serving `slot` as `asker` sees the slot map (default: any live node). */
  async slotOwner(slot: number, asker: ClusterNode = this.anyLive()): Promise<ClusterNode | undefined> {
    const ranges = (await asker.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string?]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    return range === undefined ? undefined : this.nodes.find((n) => n.port === Number(range[2][1]));
  }

  async nodeOwningKey(key: string): Promise<ClusterNode> {
    const owner = await this.slotOwner(await this.keySlot(key));
    if (owner === undefined) throw new Error(`no master serves the slot of ${key}`);
    return owner;
  }

  /** kill -9 of one node (by its pid). */
  async killNode(node: ClusterNode): Promise<void> {
    await node.kill();
  }

  /**
   * After the master owning `key` was killed: until one of its replicas is a
   * master that serves the slot, by its own account and with cluster_state
   * ok. Returns it and the time since the kill.
   */
  async waitForFailover(key: string, timeoutMs = 20_000): Promise<{ node: ClusterNode; ms: number }> {
    let killed: ClusterNode | undefined; // the last one killed
    for (const n of this.nodes) if (n.killedAt !== undefined && (killed === undefined || n.killedAt > killed.killedAt!)) killed = n;
    if (killed === undefined) throw new Error('waitForFailover: no node was killed');
    const slot = await this.keySlot(key);
    const node = await waitUntil(`a replica promoted to serve slot ${slot} of ${key}`, timeoutMs, async () => {
      for (const n of this.nodes.filter((x) => x.alive)) {
        if ((await n.info('replication'))['role'] !== 'master') continue;
        if ((await this.slotOwner(slot, n)) !== n) continue;
        if ((await n.info('cluster'))['cluster_state'] === 'ok') return n;
      }
      return undefined;
    });
    return { node, ms: Date.now() - killed.killedAt! };
  }

  /**
   * Moves `slot` to master `to`, the way `redis-cli --cluster reshard` moves
   * each slot (it cannot be told which one): IMPORTING on the target,
   * MIGRATING on the source, the keys MIGRATEd `batch` at a time (clients meet
   * ASK and TRYAGAIN meanwhile), then SETSLOT NODE on every master.
   */
  async reshardSlot(slot: number, to: ClusterNode, options: { batch?: number; timeoutMs?: number } = {}): Promise<{ keys: number; ms: number }> {
    const started = Date.now();
    const deadline = started + (options.timeoutMs ?? 20_000);
    const from = await this.slotOwner(slot);
    if (from === undefined) throw new Error(`reshard: no master serves slot ${slot}`);
    if (from === to) return { keys: 0, ms: 0 };
    await to.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
    await from.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
    let keys = 0;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`reshard of slot ${slot}: ${keys} keys moved, not finished within ${options.timeoutMs ?? 20_000} ms`);
      const batch = (await from.call('CLUSTER', 'GETKEYSINSLOT', slot, options.batch ?? 10)) as string[];
      if (batch.length === 0) break;
      await from.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5_000, 'KEYS', ...batch);
      keys += batch.length;
    }
    // target first, then the source (which stops answering ASK), then the other masters: redis-cli's order
    await to.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
    await from.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
    for (const n of this.nodes.filter((x) => x.alive && x !== to && x !== from)) {
      if ((await n.info('replication'))['role'] === 'master') await n.call('CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
    }
    return { keys, ms: Date.now() - started };
  }

  /** The live replicas of `master`, by their own account (INFO replication). */
  async replicasOf(master: ClusterNode): Promise<ClusterNode[]> {
    const out: ClusterNode[] = [];
    for (const n of this.nodes.filter((x) => x.alive && x !== master)) if ((await n.info('replication'))['master_port'] === String(master.port)) out.push(n);
    return out;
  }

  /** Masters alive now, by their own ROLE. */
  async liveMasters(): Promise<ClusterNode[]> {
    const out: ClusterNode[] = [];
    for (const n of this.nodes.filter((x) => x.alive)) if ((await n.info('replication'))['role'] === 'master') out.push(n);
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A command with a deadline: its stdout, or an error with its output (killed when the deadline passes). */
function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: Math.max(timeoutMs, 1), killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout);
      else
        reject(
          new Error(
            `${command} ${args.slice(0, 2).join(' ')}: ${err.killed ? `not done within ${timeoutMs} ms` : `exit ${err.code}`}: ${`${stdout}${stderr}`
              // biome-ignore lint/suspicious/noControlCharactersInRegex: redis-cli colours its errors; the ESC byte is what is stripped
              .replace(/\x1b\[[0-9;]*m/g, '')
              .trim()
              .split('\n')
              .slice(-3)
              .join(' | ')}`,
          ),
        );
    });
  });
}
