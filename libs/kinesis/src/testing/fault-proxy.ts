/**
 * An HTTP proxy in front of a Kinesis endpoint (the emulator) that answers the
 * calls a test picks the way AWS does when a limit is exceeded: status 400,
 * the JSON error body `{"__type":"ProvisionedThroughputExceededException",…}`.
 * kinesalite enforces no limits; through this proxy a real SDK client meets
 * a real throttling answer and takes its real error path (deserialising the
 * modeled exception), which an error thrown by a client middleware skips.
 * A PutRecords call can also be answered in part, as Kinesis does under a
 * shard's limit: 200, the refused records with their ErrorCode and
 * `FailedRecordCount`, the others stored upstream (`refuseRecords`).
 * Every other call is forwarded unchanged; an upstream that is down resets
 * the client's connection, as the emulator's outage does.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listen } from './listen.ts';
import { createKinesisClient } from '../client.ts';
import type { KinesisClient } from '@aws-sdk/client-kinesis';

/** One call as it reached the proxy: `operation` from X-Amz-Target (e.g. 'GetRecords'), `input` its JSON body. */
export interface KinesisCall {
  operation: string;
  input: Record<string, unknown>;
}

/** How a refused call is answered (the __type is what the SDK turns into the exception's name). */
export interface KinesisFault {
  type: 'ProvisionedThroughputExceededException' | 'LimitExceededException' | (string & {});
  message?: string;
  /** 400 (a client error, as throttling is) unless set: 500 for an InternalFailure. */
  status?: number;
}

/** Decides per call: a fault to answer with, or undefined to forward it. May wait (hold the call) before deciding. */
export type FaultRule = (call: KinesisCall) => KinesisFault | undefined | Promise<KinesisFault | undefined>;

/** One record of a PutRecords call as sent (Data base64, as on the wire). */
export interface PutRecordsEntry {
  PartitionKey: string;
  Data: string;
}

/** Decides per record of a PutRecords call: the ErrorCode to refuse it with (e.g. 'ProvisionedThroughputExceededException'), or undefined to store it. */
export type RecordFaultRule = (record: PutRecordsEntry) => string | undefined;

export class KinesisFaultProxy {
  private readonly server: Server;
  private readonly agent = new Agent({ keepAlive: true });
  private readonly sockets = new Set<Socket>();
  /** Every call in the order it was answered, refused ones with their fault's type; a PutRecords answered in part with the refused records' indices. */
  readonly answered: (KinesisCall & { refused?: string; refusedRecords?: number[] })[] = [];
  private recordRule: RecordFaultRule | undefined;
  port = 0;

  /** `upstream`: a Kinesis endpoint (http://host:port). */
  constructor(
    readonly upstream: string,
    private rule: FaultRule = () => undefined,
  ) {
    const target = new URL(upstream);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const call = parseCall(req.headers, body);
        void (async () => {
          const fault = await this.rule(call);
          if (fault !== undefined) {
            this.answered.push({ ...call, refused: fault.type });
            res.writeHead(fault.status ?? 400, { 'content-type': String(req.headers['content-type'] ?? 'application/x-amz-json-1.1'), 'x-amzn-requestid': randomUUID() });
            res.end(JSON.stringify({ __type: fault.type, message: fault.message ?? 'Rate exceeded for shard' }));
            return;
          }
          if (call.operation === 'PutRecords' && this.recordRule !== undefined) {
            this.putInPart(call, req.headers, res);
            return;
          }
          const forwarded = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent }, (answer) => {
            this.answered.push(call);
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          });
          // the endpoint is down: the client sees its connection reset, not an answer
          forwarded.on('error', () => req.socket.destroy());
          forwarded.end(body);
        })();
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Changes which calls are refused from now on. */
  refuse(rule: FaultRule): void {
    this.rule = rule;
  }

  /** Refuses single records of PutRecords calls from now on (undefined: none); whole-call faults (`refuse`) are decided first. */
  refuseRecords(rule: RecordFaultRule | undefined): void {
    this.recordRule = rule;
  }

  /** A PutRecords answered record by record: the refused ones here, the others stored upstream, one answer in the request's order. */
  private putInPart(call: KinesisCall, headers: IncomingHttpHeaders, res: ServerResponse): void {
    const records = (call.input['Records'] ?? []) as PutRecordsEntry[];
    const refusals = records.map((r) => this.recordRule!(r));
    const refusedRecords = refusals.flatMap((code, i) => (code === undefined ? [] : [i]));
    const kept = records.filter((_, i) => refusals[i] === undefined);
    const answer = (stored: { SequenceNumber?: string; ShardId?: string; ErrorCode?: string; ErrorMessage?: string }[]) => {
      let k = 0;
      const results = refusals.map((code) => (code === undefined ? stored[k++]! : { ErrorCode: code, ErrorMessage: 'Rate exceeded for shard' }));
      this.answered.push({ ...call, refusedRecords });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify({ FailedRecordCount: results.filter((r) => r.ErrorCode !== undefined).length, Records: results }));
    };
    if (kept.length === 0) {
      answer([]);
      return;
    }
    // kinesalite checks no signature: the request is sent on with the refused records left out
    const body = Buffer.from(JSON.stringify({ ...call.input, Records: kept }));
    const { 'content-length': _length, ...rest } = headers;
    const target = new URL(this.upstream);
    const forwarded = request({ host: target.hostname, port: target.port, method: 'POST', path: '/', headers: { ...rest, 'content-length': body.length }, agent: this.agent }, (upstream) => {
      const chunks: Buffer[] = [];
      upstream.on('data', (c: Buffer) => chunks.push(c));
      upstream.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (upstream.statusCode !== 200) {
          this.answered.push(call);
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          res.end(text);
          return;
        }
        answer((JSON.parse(text) as { Records: { SequenceNumber?: string; ShardId?: string }[] }).Records);
      });
    });
    forwarded.on('error', () => res.socket?.destroy());
    forwarded.end(body);
  }

  /** Calls answered so far with `operation`, and how many of them were refused. */
  count(operation: string): { answered: number; refused: number } {
    const calls = this.answered.filter((c) => c.operation === operation);
    return { answered: calls.length, refused: calls.filter((c) => c.refused !== undefined).length };
  }

  async start(): Promise<void> {
    this.port = await listen(this.server);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  client(): KinesisClient {
    return createKinesisClient({ region: 'us-east-1', endpoint: this.endpoint });
  }
}

function parseCall(headers: IncomingHttpHeaders, body: Buffer): KinesisCall {
  const target = String(headers['x-amz-target'] ?? '');
  let input: Record<string, unknown> = {};
  try {
    input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    // not JSON (CBOR, empty): the operation alone decides
  }
  return { operation: target.slice(target.indexOf('.') + 1), input };
}
