/** The launcher's one redaction: URL credentials, wherever a URL sits in a line. */
import { describe, expect, it } from 'vitest';
import { redactCredentials } from '../src/redact.ts';

describe('redactCredentials', () => {
  it('hides user and password of a URL, keeps where it points', () => {
    expect(redactCredentials('redis redis://:s3cret@127.0.0.1:6379 (found)')).toBe('redis redis://***@127.0.0.1:6379 (found)');
    expect(redactCredentials('rediss://svc:s3cret@cache.example:6380/0')).toBe('rediss://***@cache.example:6380/0');
    expect(redactCredentials('HTTPS_PROXY=http://me:p%40ss@proxy:3128')).toBe('HTTPS_PROXY=http://***@proxy:3128');
  });

  it('finds every URL in a line, JSON-quoted or not, and a password holding a raw "@"', () => {
    const line = JSON.stringify({ msg: 'peers', a: 'redis://u:one@h1:1', b: 'redis://:tw@o@h2:2/3' });
    const out = redactCredentials(line);
    expect(out).not.toMatch(/one|tw@o/);
    expect(JSON.parse(out)).toEqual({ msg: 'peers', a: 'redis://***@h1:1', b: 'redis://***@h2:2/3' });
  });

  it('leaves URLs without credentials and an "@" after the authority alone', () => {
    for (const s of ['ws://127.0.0.1:9443/stream?streams=btcusdt@depth', 'http://127.0.0.1:9092/ · metrics http://127.0.0.1:9092/metrics', 'mail me@example.org']) expect(redactCredentials(s)).toBe(s);
  });
});
