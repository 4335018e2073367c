/**
 * One lifecycle for every service, after fastify's ordered hooks: components
 * start in the order they were added; if one fails, those already started are
 * stopped again (reverse order) and the start fails; stop runs in reverse
 * order under ONE deadline shared by all components, each told by an
 * AbortSignal when the time is up. A stop that overruns is reported, not
 * waited for.
 */
import { DeadlineError } from './deadline.ts';
import type { ServiceErrorCode } from './errors.ts';

export interface Component {
  /** For logs: "redis", "http", "kinesis producer", … */
  readonly name: string;
  /** Acquire and start; `signal` aborts when the service is stopped while starting. */
  start?(signal: AbortSignal): Promise<void> | void;
  /** Release; finish within the deadline `signal` aborts at (flush what can be flushed, count what cannot). */
  stop?(signal: AbortSignal): Promise<void> | void;
}

export interface StopReport {
  /** Components whose stop threw or did not finish within the deadline. */
  failed: { name: string; err: unknown }[];
  elapsedMs: number;
}

export class StartError extends Error {
  override readonly name = 'StartError';
  readonly code: ServiceErrorCode = 'start_failed';
  constructor(
    readonly component: string,
    options: { cause: unknown },
  ) {
    super(`${component} failed to start`, options);
  }
}

export class Lifecycle {
  private readonly components: Component[] = [];
  private readonly started: Component[] = [];
  private readonly starting = new AbortController();
  private state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  /** The start's outcome, never a rejection: start() hands the StartError to its caller; stop() only waits for the rollback. */
  private startRun: Promise<StartError | undefined> | undefined;
  private stopRun: Promise<StopReport> | undefined;

  add(component: Component): this {
    if (this.state !== 'new') throw new Error(`cannot add ${component.name}: the lifecycle is ${this.state}`);
    this.components.push(component);
    return this;
  }

  get status(): 'new' | 'starting' | 'started' | 'stopping' | 'stopped' {
    return this.state;
  }

  /** Starts every component in order; on a failure (or a stop meanwhile) stops those started and throws StartError. */
  start(rollbackMs = 5_000): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error(`start: the lifecycle is ${this.state}`));
    this.state = 'starting';
    this.startRun = (async () => {
      for (const c of this.components) {
        try {
          this.starting.signal.throwIfAborted();
          await c.start?.(this.starting.signal);
          this.started.push(c);
          this.starting.signal.throwIfAborted();
        } catch (err) {
          await this.stopStarted(rollbackMs);
          return new StartError(c.name, { cause: err });
        }
      }
      this.state = 'started';
      return undefined;
    })();
    return this.startRun.then((failed) => {
      if (failed !== undefined) throw failed;
    });
  }

  /** Stops what was started, in reverse order, all within `deadlineMs`. Safe to call more than once and while starting. */
  async stop(deadlineMs: number): Promise<StopReport> {
    if (this.state === 'new') this.state = 'stopped';
    if (this.state === 'starting') {
      this.starting.abort(new Error('stopped while starting'));
      await this.startRun; // its rollback stops what had started (the StartError goes to start()'s caller)
    }
    return this.stopStarted(deadlineMs);
  }

  private stopStarted(deadlineMs: number): Promise<StopReport> {
    this.stopRun ??= (async () => {
      this.state = 'stopping';
      const t0 = Date.now();
      const signal = AbortSignal.timeout(deadlineMs);
      const failed: StopReport['failed'] = [];
      for (const c of this.started.reverse()) {
        if (c.stop === undefined) continue;
        try {
          // every stop is begun, even past the deadline: its synchronous part (close a socket, kill a child) still runs
          await raceSignal(
            Promise.resolve().then(() => c.stop!(signal)),
            signal,
            c.name,
            deadlineMs,
          );
        } catch (err) {
          failed.push({ name: c.name, err });
        }
      }
      this.started.length = 0;
      this.state = 'stopped';
      return { failed, elapsedMs: Date.now() - t0 };
    })();
    return this.stopRun;
  }
}

/** `p`, or a DeadlineError once `signal` (a deadline) has fired: a stop that ignores its signal is not waited for. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal, what: string, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new DeadlineError(`stop ${what}`, ms));
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    // past the deadline already: a stop that settles at once (synchronous work) still counts as done
    if (signal.aborted) setImmediate(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
