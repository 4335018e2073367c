/**
 * The one retry policy: exponential backoff with full jitter (AWS
 * Architecture Blog, "Exponential Backoff And Jitter"), bounded by attempts,
 * a deadline and an abort signal — every retry loop in the services uses it.
 */
import { sleep } from './deadline.ts';
import type { ServiceErrorCode } from './errors.ts';

export interface BackoffOptions {
  /** Cap of the first delay; doubles per attempt. */
  baseMs: number;
  /** No delay is longer than this. */
  maxMs: number;
}

/** Full jitter: uniform in [0, min(maxMs, baseMs · 2^attempt)); attempt counts from 0. */
export function backoffDelay(attempt: number, { baseMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  return random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

export interface RetryOptions extends BackoffOptions {
  /** What is retried (errors and logs name it). */
  what: string;
  /** Give up after this many attempts (default: unlimited, bounded by the deadline or signal). */
  attempts?: number;
  /** Give up when the next attempt would start later than this many ms after the first. */
  deadlineMs?: number;
  /** Stops waiting and retrying at once (the error is the signal's reason). */
  signal?: AbortSignal;
  /** False = fail now (e.g. a 4xx). Default: every error is retried. */
  retryable?: (err: unknown) => boolean;
  /** Called before each wait (log it, count it). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
}

/** `code`: retry_attempts_exhausted (no attempts left) or retry_deadline_passed (the next attempt would start past the deadline). */
export class RetryExhaustedError extends Error {
  override readonly name = 'RetryExhaustedError';
  constructor(
    readonly what: string,
    readonly attempts: number,
    readonly code: Extract<ServiceErrorCode, 'retry_attempts_exhausted' | 'retry_deadline_passed'>,
    options: { cause: unknown },
  ) {
    super(`${what} failed after ${attempts} attempt(s) (${code === 'retry_attempts_exhausted' ? 'no attempts left' : 'deadline passed'})`, options);
  }
}

/** Runs `fn` until it resolves; rejects with RetryExhaustedError (cause = last error), the signal's reason, or a non-retryable error. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  if (options.attempts === undefined && options.deadlineMs === undefined && options.signal === undefined) {
    throw new TypeError(`retry(${options.what}): set attempts, deadlineMs or signal — no retry loop is unbounded`);
  }
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (options.retryable !== undefined && !options.retryable(err)) throw err;
      const delay = backoffDelay(attempt, options, options.random);
      const outOfAttempts = options.attempts !== undefined && attempt + 1 >= options.attempts;
      const outOfTime = options.deadlineMs !== undefined && Date.now() + delay - started > options.deadlineMs;
      if (outOfAttempts || outOfTime) {
        throw new RetryExhaustedError(options.what, attempt + 1, outOfAttempts ? 'retry_attempts_exhausted' : 'retry_deadline_passed', { cause: err });
      }
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}
