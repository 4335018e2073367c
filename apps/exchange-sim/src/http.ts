/**
 * The untrusted edge of the simulator's HTTP server: request URLs and bodies
 * read under limits, and RFC 9457 problem objects for every refusal (on a
 * response, or written raw on a socket that asked for an upgrade).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExchangeSimErrorCode } from './errors.ts';

/**
 * Why a request was refused (the `reason` label of exchange_sim_rejected_requests_total: a fixed set): a
 * RequestError's code, client_error (Node could not parse the request, or it timed out) or internal (a bug: 500).
 */
export type RequestRefusal = RequestError['code'] | 'client_error' | 'internal';

/** A request refused with a 4xx problem answer; `status` is the HTTP status sent. */
export class RequestError extends Error {
  override readonly name: string = 'RequestError';
  constructor(
    readonly status: number,
    readonly code: Exclude<ExchangeSimErrorCode, 'bad_stream_name'>,
    readonly title: string,
    readonly detail?: string,
  ) {
    super(detail === undefined ? title : `${title}: ${detail}`);
  }
}

export interface Problem {
  type: 'about:blank';
  title: string;
  status: number;
  detail?: string;
  /** One entry per refused field (validation errors). */
  errors?: { field: string; message: string }[];
}

export function problemOf(status: number, title: string, detail?: string, errors?: Problem['errors']): Problem {
  return { type: 'about:blank', title, status, ...(detail === undefined ? {} : { detail }), ...(errors === undefined ? {} : { errors }) };
}

/** Writes a problem object, unless the response is already under way (then the socket is cut: a half answer must not pass as whole). */
export function sendProblem(res: ServerResponse, problem: Problem, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(problem);
  res.writeHead(problem.status, { 'Content-Type': 'application/problem+json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 408: 'Request Timeout', 503: 'Service Unavailable' };

/** An HTTP answer on a raw socket (an upgrade request refused before any WebSocket exists). */
export function writeRawResponse(socket: Duplex, status: number, contentType: string, body: unknown, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}Connection: close\r\n\r\n${text}`);
}

/**
 * The request target as a URL. Whatever the client sent ("//[::1/x" reads as
 * a host, absolute forms, garbage) is refused as a RequestError, never thrown
 * raw into the server.
 */
export function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://sim');
  } catch {
    throw new RequestError(400, 'bad_url', 'Bad request', 'the request target is not a valid URL path');
  }
}

/**
 * The body as text, refused with 413 once it passes `maxBytes`: nothing more is
 * buffered, and the request is left unread (not destroyed) so the refusal can
 * still be delivered, with `Connection: close`.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      req.off('data', onData).off('end', onEnd).pause();
      reject(tooLarge(maxBytes));
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData).on('end', onEnd).once('error', reject);
  });
}

function tooLarge(maxBytes: number): RequestError {
  return new RequestError(413, 'body_too_large', 'Payload too large', `the body may hold at most ${maxBytes} bytes`);
}
