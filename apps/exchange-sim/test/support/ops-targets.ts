/** Request targets for the ops servers' properties (ingestor, aggregator): one generator, shared. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { rawRequest } from './raw-http.ts';

/** Request targets: URL-shaped paths and queries, any printable text, percent escapes valid or not, and odd forms. */
export const requestTarget = fc.oneof(
  fc.tuple(fc.webPath(), fc.option(fc.webQueryParameters())).map(([p, q]) => `/zz${p}${q === null ? '' : `?${q}`}`),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }).map((s) => `/${s}`),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `/zz/${encodeURIComponent(s)}`),
  fc.constantFrom('*', '//', '/..', '/%', '/%zz', '/%c0%af', '/ready?x=%', '/metrics/../ready', 'http://[x/', '//[::1/x', '/?a[b]=c', '/a;b', `/${'a'.repeat(8_000)}`),
);

/** A path none of the ops routes (/health, /ready, /metrics) serves, whatever the router's decoding does. */
export function unserved(target: string): boolean {
  return target.startsWith('/zz');
}

/** Decodes cleanly as a path: the answer must be exactly 404. */
export function wellFormed(target: string): boolean {
  try {
    decodeURIComponent(target.split('?')[0]!);
    return true;
  } catch {
    return false;
  }
}

/** One request to an ops server: answered below 500; a path it does not serve gets a 404 problem document. */
export async function expectOpsAnswer(port: number, target: string): Promise<void> {
  const r = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 5_000);
  expect(r.status, `GET ${target}`).toBeGreaterThanOrEqual(200);
  expect(r.status, `GET ${target}`).toBeLessThan(500);
  if (unserved(target) && r.status === 404) expect(r.headers['content-type'], `GET ${target}`).toMatch(/^application\/problem\+json/);
  if (unserved(target) && wellFormed(target)) expect(r.status, `GET ${target}`).toBe(404);
}
