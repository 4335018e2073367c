/** The one lifecycle, deadline and retry helper every service uses. */
import { PassThrough } from 'node:stream';
import { createLogger } from '@hotpath/telemetry';
import { describe, expect, it } from 'vitest';
import { DeadlineError, Lifecycle, RetryExhaustedError, StartError, backoffDelay, ignoreRejection, retry, sleep, withDeadline } from '../src/index.ts';

describe('Lifecycle', () => {
  it('starts in order, stops in reverse order', async () => {
    const calls: string[] = [];
    const l = new Lifecycle();
    for (const name of ['a', 'b', 'c']) l.add({ name, start: () => void calls.push(`start ${name}`), stop: () => void calls.push(`stop ${name}`) });
    await l.start();
    const report = await l.stop(1_000);
    expect(calls).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
    expect(report.failed).toEqual([]);
  });

  it('a failed start stops what had started, and names the component', async () => {
    const calls: string[] = [];
    const l = new Lifecycle()
      .add({ name: 'a', start: () => void calls.push('start a'), stop: () => void calls.push('stop a') })
      .add({ name: 'b', start: () => Promise.reject(new Error('no redis')), stop: () => void calls.push('stop b') })
      .add({ name: 'c', start: () => void calls.push('start c') });
    const err = await l.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartError);
    expect(err).toMatchObject({ code: 'start_failed', component: 'b' });
    expect(((err as StartError).cause as Error).message).toBe('no redis');
    expect(calls).toEqual(['start a', 'stop a']);
  });

  it('one deadline for the whole stop: a component that ignores it is reported, the rest still stop', async () => {
    const calls: string[] = [];
    const l = new Lifecycle()
      .add({ name: 'first', stop: () => void calls.push('stop first') })
      .add({ name: 'hangs', stop: () => new Promise(() => undefined) })
      .add({ name: 'last', stop: (signal) => void calls.push(`stop last, aborted=${signal.aborted}`) });
    await l.start();
    const report = await l.stop(200);
    expect(report.failed.map((f) => f.name)).toEqual(['hangs']);
    expect(report.failed[0]!.err).toBeInstanceOf(DeadlineError);
    expect(calls).toEqual(['stop last, aborted=false', 'stop first']);
  });

  it('a stop while starting aborts the start and stops what had started', async () => {
    const calls: string[] = [];
    let release!: () => void;
    let entered!: () => void;
    const waiting = new Promise<void>((r) => (entered = r));
    const l = new Lifecycle().add({ name: 'a', stop: () => void calls.push('stop a') }).add({
      name: 'waits',
      start: (signal) =>
        new Promise<void>((resolve, reject) => {
          release = resolve;
          signal.addEventListener('abort', () => reject(signal.reason as Error));
          entered();
        }),
    });
    const starting = l.start().catch((e: unknown) => e);
    await waiting; // 'a' has started, 'waits' is starting
    const report = await l.stop(500);
    expect(await starting).toBeInstanceOf(StartError);
    expect(report.failed).toEqual([]);
    expect(calls).toEqual(['stop a']);
    release();
  });
});

describe('deadlines and retry', () => {
  it('withDeadline rejects with a DeadlineError naming the operation', async () => {
    const err = await withDeadline(new Promise(() => undefined), 20, 'redis ping').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineError);
    expect(err).toMatchObject({ code: 'deadline_exceeded', what: 'redis ping', ms: 20 });
    expect((err as Error).message).toContain('redis ping');
    await expect(withDeadline(Promise.resolve(7), 1_000)).resolves.toBe(7);
  });

  it('sleep ends at once when its signal aborts', async () => {
    const c = new AbortController();
    const p = sleep(60_000, c.signal).catch((e: unknown) => e);
    c.abort(new Error('stop'));
    expect(((await p) as Error).message).toBe('stop');
  });

  it('full jitter stays below the capped exponential', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      expect(backoffDelay(attempt, { baseMs: 10, maxMs: 1_000 }, () => 0.999)).toBeLessThan(Math.min(1_000, 10 * 2 ** attempt));
      expect(backoffDelay(attempt, { baseMs: 10, maxMs: 1_000 }, () => 0)).toBe(0);
    }
  });

  it('retry: succeeds after failures, gives up after its attempts with the last error as cause', async () => {
    let n = 0;
    await expect(retry(async () => (++n < 3 ? Promise.reject(new Error(`fail ${n}`)) : 'ok'), { what: 'x', attempts: 5, baseMs: 1, maxMs: 2 })).resolves.toBe('ok');
    const err = await retry(() => Promise.reject(new Error('always')), { what: 'put', attempts: 3, baseMs: 1, maxMs: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryExhaustedError);
    expect(err).toMatchObject({ code: 'retry_attempts_exhausted', attempts: 3 });
    expect(((err as Error).cause as Error).message).toBe('always');
  });

  it('retry: past its deadline it gives up with retry_deadline_passed', async () => {
    // every delay is the cap (random = 1), so the first wait would already end past the 5 ms deadline
    const err = await retry(() => Promise.reject(new Error('down')), { what: 'x', deadlineMs: 5, baseMs: 1_000, maxMs: 1_000, random: () => 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RetryExhaustedError', code: 'retry_deadline_passed', attempts: 1 });
  });

  it('retry: a non-retryable error fails at once; an abort stops the waiting', async () => {
    let n = 0;
    const fatal = new Error('400');
    await expect(
      retry(
        () => {
          n++;
          return Promise.reject(fatal);
        },
        { what: 'x', attempts: 5, baseMs: 1, maxMs: 2, retryable: (e) => e !== fatal },
      ),
    ).rejects.toBe(fatal);
    expect(n).toBe(1);
    const c = new AbortController();
    let retrying!: () => void;
    const waiting = new Promise<void>((r) => (retrying = r));
    // a 60 s wait before the next attempt: only the abort can end it before the test's own deadline
    const p = retry(() => Promise.reject(new Error('down')), { what: 'x', signal: c.signal, baseMs: 60_000, maxMs: 60_000, random: () => 1, onRetry: () => retrying() }).catch((e: unknown) => e);
    await waiting; // the first attempt failed: the retry is waiting
    c.abort(new Error('stopping'));
    expect(((await p) as Error).message).toBe('stopping');
  });

  it('retry refuses to run without any bound', async () => {
    await expect(retry(() => Promise.resolve(1), { what: 'x', baseMs: 1, maxMs: 2 })).rejects.toThrow(/unbounded/);
  });
});

describe('ignoreRejection', () => {
  it('logs the dropped error whole at debug, with why dropping it is safe', async () => {
    const out = new PassThrough();
    const lines: Record<string, unknown>[] = [];
    out.on('data', (chunk: Buffer) =>
      lines.push(
        ...chunk
          .toString('utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      ),
    );
    const log = createLogger({ service: 'test', level: 'debug', destination: out });
    const ignore = ignoreRejection(log, 'the caller already counted it');
    await withDeadline(new Promise(() => undefined), 5, 'slow thing').catch(ignore);
    await Promise.reject(new Error('plain')).catch(ignore);
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 20,
      msg: 'ignored: the caller already counted it',
      err: { type: 'DeadlineError', code: 'deadline_exceeded', message: 'slow thing did not finish within 5 ms' },
    });
    expect((lines[0]!['err'] as { stack: string }).stack).toContain('DeadlineError');
    expect(lines[1]).toMatchObject({ level: 20, err: { type: 'Error', message: 'plain' } });
  });

  it('writes nothing at the default level: a dropped rejection is not noise in production', async () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const ignore = ignoreRejection(createLogger({ service: 'test', destination: out }), 'why');
    await Promise.reject(new Error('x')).catch(ignore);
    await new Promise((r) => setImmediate(r));
    expect(written).toBe('');
  });
});
