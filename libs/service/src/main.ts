/**
 * main() for every service binary: build (config → wiring) → start → wait for
 * SIGINT/SIGTERM → stop under the deadline → exit. Exit codes: 0 stopped
 * cleanly, 1 failed to start or stopped with a component overrunning or
 * failing, 2 bad configuration (the builder throws an error whose code is
 * `invalid_config`: @hotpath/config's ConfigError), 130/143
 * a second signal while stopping (exit now). An uncaught error stops the
 * service the same way, with exit code 1.
 */
import type { Logger } from '@hotpath/telemetry';
import type { StopReport } from './lifecycle.ts';

/** Settings refused (@hotpath/config's ConfigError, known by its code so this lib needs no config dependency): printed as is, exit code 2. */
function isConfigRefusal(err: unknown): err is Error {
  return err instanceof Error && (err as { code?: unknown }).code === 'invalid_config';
}

/** What main() starts and stops: a Lifecycle, or a service object wrapping one. */
export interface Startable {
  start(): Promise<void>;
  stop(deadlineMs: number): Promise<StopReport>;
}

export interface Service {
  log: Logger;
  lifecycle: Startable;
  /** The deadline for the whole stop (default 8 s: under Docker's 10 s grace). */
  stopTimeoutMs?: number;
}

export interface MainOptions {
  /** Default false in tests: process.exit is called only by real binaries. */
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

/** Resolves once started (or with the exit code it exited with when it could not start). */
export async function main(build: () => Service | Promise<Service>, options: MainOptions = {}): Promise<number | undefined> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let service: Service;
  try {
    service = await build();
  } catch (err) {
    if (isConfigRefusal(err)) {
      // the message alone, for the operator at the terminal (a stack would bury it): it names the variables, and the secret-file and URL errors it may carry never quote a secret
      console.error(err.message);
      exit(2);
      return 2;
    }
    console.error(err);
    exit(1);
    return 1;
  }
  const { log, lifecycle } = service;
  const stopTimeoutMs = service.stopTimeoutMs ?? 8_000;
  let stopping: Promise<number> | undefined;
  const stop = (why: string, code: number): Promise<number> => {
    if (stopping !== undefined) return stopping;
    log.info({ why, deadlineMs: stopTimeoutMs }, 'stopping');
    stopping = lifecycle.stop(stopTimeoutMs).then((report) => {
      for (const f of report.failed) log.error({ component: f.name, err: f.err }, 'component did not stop cleanly');
      log.info({ elapsedMs: report.elapsedMs, failed: report.failed.length }, 'stopped');
      const result = report.failed.length > 0 ? Math.max(code, 1) : code;
      exit(result);
      return result;
    });
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== undefined) {
      log.warn({ signal }, 'second signal while stopping: exiting now');
      exit(signal === 'SIGINT' ? 130 : 143);
      return;
    }
    void stop(signal, 0);
  };
  for (const s of options.signals ?? ['SIGINT', 'SIGTERM']) process.on(s, onSignal);
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception: stopping');
    void stop('uncaughtException', 1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection: stopping');
    void stop('unhandledRejection', 1);
  });
  try {
    await lifecycle.start();
  } catch (err) {
    // (the lifecycle has already stopped what had started)
    if (stopping !== undefined) return undefined; // a signal arrived while starting: stop() exits
    log.fatal({ err }, 'failed to start');
    exit(1);
    return 1;
  }
  log.info('started');
  return undefined;
}
