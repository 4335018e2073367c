/**
 * HTTP by hand over a TCP socket, for what fetch and http.request refuse to
 * send: request targets that are not URLs, half-sent headers, bodies that
 * never come. The answer is read until the server closes the connection.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  /** 0 when the server closed without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `text` and resolves with what came back once the server closes (or `deadlineMs` passes: then whatever arrived). */
export function rawRequest(port: number, text: string, deadlineMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), deadlineMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks).toString('utf8')));
    });
    socket.write(text);
  });
}

/** A socket that sent `text` and is left open: for requests that never complete. */
export function openRaw(port: number, text: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(text);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything the socket receives until it closes. */
export function readUntilClose(socket: Socket): Promise<RawResponse> {
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(parseResponse(Buffer.concat(chunks).toString('utf8')))));
}

function parseResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1 ') || split < 0) return { status: 0, headers: {}, body: text };
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const colon = l.indexOf(':');
    headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(split + 4) };
}
