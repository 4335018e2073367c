/**
 * `/admin/faults`: who may arm faults (a bearer token, checked before a byte
 * of the body is read), and what they may arm (a bounded, validated fault on a
 * simulated symbol). Every refusal is a problem object naming the field.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodIssue } from 'zod';
import { FaultSchema, type Fault, type FaultType } from './faults/faults.ts';
import { readBody, RequestError } from './http.ts';

/** An admin request body is one small JSON object. */
export const MAX_ADMIN_BODY_BYTES = 16 * 1024;

export interface AdminDeps {
  /** Required bearer token; undefined = no auth. */
  token: string | undefined;
  isSimulated: (symbol: string) => boolean;
  inject: (fault: Fault) => void;
  injected: ReadonlyMap<FaultType, number>;
}

export class AdminApi {
  private readonly token: Buffer | undefined;

  constructor(private readonly deps: AdminDeps) {
    this.token = deps.token === undefined ? undefined : Buffer.from(deps.token);
  }

  handles(path: string): boolean {
    return path === '/admin/faults';
  }

  /** Answers the request, or throws a RequestError for the caller to turn into a problem. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.authorize(req.headers.authorization);
    if (req.method === 'GET') return json(res, 200, Object.fromEntries(this.deps.injected));
    if (req.method !== 'POST') throw new RequestError(405, 'method', 'Method not allowed', '/admin/faults takes GET and POST');
    const fault = this.parse(await readBody(req, MAX_ADMIN_BODY_BYTES));
    this.deps.inject(fault);
    json(res, 200, { armed: fault });
  }

  private authorize(header: string | undefined): void {
    if (this.token === undefined) return;
    const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
    if (given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
      throw new RequestError(401, 'unauthorized', 'Unauthorized', 'a valid Bearer token (SIM_ADMIN_TOKEN) is required');
    }
  }

  private parse(text: string): Fault {
    let body: unknown;
    try {
      body = JSON.parse(text === '' ? '{}' : text);
    } catch {
      throw new RequestError(400, 'bad_json', 'Bad request', 'the body is not valid JSON');
    }
    const parsed = FaultSchema.safeParse(body);
    if (!parsed.success) throw new InvalidFaultError(parsed.error.issues.map((i) => ({ field: fieldOf(i), message: i.message })));
    const fault = parsed.data;
    // A fault on a symbol nobody simulates would do nothing, and each such name would be kept.
    if ('symbol' in fault && !this.deps.isSimulated(fault.symbol.toUpperCase())) {
      throw new InvalidFaultError([{ field: 'symbol', message: `${JSON.stringify(fault.symbol)} is not simulated here` }]);
    }
    return fault;
  }
}

/** A refused fault: 400 naming each bad field (`errors`, and all of them in `detail`). */
export class InvalidFaultError extends RequestError {
  override readonly name: string = 'InvalidFaultError';
  constructor(readonly errors: { field: string; message: string }[]) {
    super(400, 'invalid_fault', 'Invalid fault', errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

function fieldOf(issue: ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return issue.keys.join(', ');
  return issue.path.join('.') || '(body)';
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
