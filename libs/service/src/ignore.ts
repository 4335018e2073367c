/**
 * The one way to drop a rejection on purpose. `p.catch(ignoreRejection(log,
 * why))` instead of a silent `.catch(() => undefined)`: the error is logged
 * whole at debug (`{ err }`: type, message, stack, code, cause) with why
 * dropping it is safe, so a failure nobody expected still leaves a trace.
 */

/** What ignoreRejection needs of a logger: a pino Logger is one. */
export interface DebugLogger {
  debug(obj: { err: unknown }, msg: string): void;
}

/** A rejection handler that logs `err` at debug as `ignored: <why>`. It is a closure: build it once where the catch runs often. */
export function ignoreRejection(log: DebugLogger, why: string): (err: unknown) => void {
  const msg = `ignored: ${why}`;
  return (err) => log.debug({ err }, msg);
}
