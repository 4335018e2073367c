/**
 * An in-process kinesalite (the real Kinesis API, tables in memory) for tests
 * and benches. Clients connect through a TCP proxy on the public port, so an
 * outage (endpoint down, connections reset, back on the same port) can be
 * played without losing kinesalite's in-memory streams, which closing
 * kinesalite itself would.
 */
import type { Server } from 'node:http';
import { createConnection, createServer, type Server as NetServer, type Socket } from 'node:net';
import { listen } from './listen.ts';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { createKinesisClient } from '../client.ts';

export { KinesisFaultProxy, type FaultRule, type KinesisCall, type KinesisFault } from './fault-proxy.ts';

export class KinesisEmulator {
  private readonly server: Server = kinesalite({ createStreamMs: 5, deleteStreamMs: 5, updateStreamMs: 5, shardLimit: 1000 });
  private upstreamPort = 0;
  private proxy: NetServer | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  /** Where the public endpoint listens (tests: loopback, any port; the compose stack: 0.0.0.0:4567). */
  constructor(private readonly listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 }) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.upstreamPort = await listen(this.server);
    await this.openProxy(this.listen.port);
  }

  private async openProxy(port: number): Promise<void> {
    const proxy = createServer((client) => {
      const upstream = createConnection(this.upstreamPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    this.port = await listen(proxy, port, this.listen.host);
    this.proxy = proxy;
  }

  private async closeProxy(): Promise<void> {
    const proxy = this.proxy;
    if (proxy === undefined) return;
    this.proxy = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }

  async stop(): Promise<void> {
    await this.closeProxy();
    (this.server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** An outage: connections reset, endpoint refusing for `ms`, then back on the same port with the same streams. */
  async restart(ms: number): Promise<void> {
    await this.down();
    await new Promise((r) => setTimeout(r, ms));
    await this.up();
  }

  /** An outage that lasts until `up()` (a test ends it on a condition, not after a time): connections reset, the endpoint refusing. */
  async down(): Promise<void> {
    await this.closeProxy();
  }

  /** Back on the same port with the same streams. */
  async up(): Promise<void> {
    if (this.proxy === undefined) await this.openProxy(this.port);
  }

  client(): KinesisClient {
    return createKinesisClient({ region: 'us-east-1', endpoint: this.endpoint });
  }

  async createStream(name: string, shards: number): Promise<void> {
    const c = this.client();
    await c.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    for (let i = 0; i < 200; i++) {
      const s = await c.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`stream ${name} did not become ACTIVE`);
  }

  /** Puts raw records (no KPL aggregation), 500 per request; throws when any is refused. */
  async putRecords(stream: string, partitionKey: string, records: readonly Uint8Array[]): Promise<void> {
    const c = this.client();
    for (let i = 0; i < records.length; i += 500) {
      const res = await c.send(new PutRecordsCommand({ StreamName: stream, Records: records.slice(i, i + 500).map((Data) => ({ Data, PartitionKey: partitionKey })) }));
      if ((res.FailedRecordCount ?? 0) > 0) throw new Error(`${res.FailedRecordCount} records refused by ${stream}`);
    }
  }
}
