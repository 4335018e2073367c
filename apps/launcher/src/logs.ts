/**
 * What the launcher shows and keeps of every log line, its own and its children's.
 * - The terminal: pino-pretty in a terminal (one line per record: time, level, message, the rest
 *   of the record dimmed), each line behind its service's coloured name; JSON otherwise (CI,
 *   docker, a log shipper), each record with `svc` added. NO_COLOR: pretty, without colour.
 * - The log files: every record as JSON, one file per service under the log directory (the
 *   launcher's own lines in launcher.log), so a restart that scrolled off the terminal, or a run
 *   started in another terminal, can still be read (`tail -f .hotpath/logs/ingestor.log | pnpm
 *   exec pino-pretty`). A file is started afresh by each `pnpm start`; the previous run's is kept
 *   beside it as `<service>.previous.log`, so a crash's logs survive the restart that follows.
 *   A file that reaches `maxBytes` (64 MiB) is moved aside the same way and started afresh: a
 *   stack left running for weeks keeps at most two files a service, never a full disk.
 * Lines that are not JSON (Prometheus' logfmt, a stack trace on stderr) are kept as they are.
 */
import { createWriteStream, existsSync, mkdirSync, openSync, renameSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { prettyFactory } from 'pino-pretty';

export type LogFormat = 'pretty' | 'json';

/** The width of the service name before each pretty line. */
export const TAG_WIDTH = 14;

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** A JSON object line, or undefined (not JSON, or JSON that is not an object). */
export function parseRecord(line: string): Record<string, unknown> | undefined {
  if (line.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const parsed = JSON.parse(line) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    // looked like JSON, was not: kept as text
    return undefined;
  }
}

/** One service's line as JSON: the record with `svc` first, or a record made of the text. */
export function jsonLine(svc: string, line: string, record = parseRecord(line)): string {
  return JSON.stringify(record ? { svc, ...record } : { svc, msg: line });
}

export interface LineFormatter {
  /** A line a service wrote (its JSON record or any text), as the terminal shows it. */
  service(svc: string, colour: number, line: string): string;
  /** A line of the launcher's own; `fields` go into the JSON form only (the pretty one says it all in `msg`). */
  launcher(msg: string, fields?: Record<string, unknown>, level?: keyof typeof LEVELS): string;
}

/** The terminal's formatter: `pretty` through pino-pretty (colour unless `colour` is false), or JSON. */
export function lineFormatter(format: LogFormat, colour: boolean): LineFormatter {
  if (format === 'json') {
    return {
      service: (svc, _colour, line) => jsonLine(svc, line),
      launcher: (msg, fields = {}, level = 'info') => JSON.stringify({ svc: 'launcher', level: LEVELS[level], time: new Date().toISOString(), msg, ...fields }),
    };
  }
  const pretty = prettyFactory({
    colorize: colour,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // who wrote it is the prefix; the rest is the same on every line of a service
    ignore: 'pid,hostname,service,name,svc',
  });
  // (the longest name, redis-exporter, and a space)
  const tag = (name: string, code: number): string => (colour ? `\x1b[${code}m${name.padEnd(TAG_WIDTH)}\x1b[0m` : name.padEnd(TAG_WIDTH));
  return {
    service: (svc, code, line) => {
      const record = parseRecord(line);
      // (pino-pretty ends its line with a newline: the caller adds its own)
      return `${tag(svc, code)} ${record ? pretty(record).trimEnd() : line}`;
    },
    launcher: (msg, _fields, level = 'info') => `${tag('launcher', 1)} ${pretty({ level: LEVELS[level], time: Date.now(), msg }).trimEnd()}`,
  };
}

/** One JSON-lines file per service under `dir`, opened on first use. */
/** The size at which a service's log file is moved aside and started afresh. */
export const MAX_LOG_FILE_BYTES = 64 * 1024 * 1024;

export class LogFiles {
  private readonly files = new Map<string, WriteStream>();
  /** Bytes written to each open file. */
  private readonly sizes = new Map<string, number>();
  /** After close(), a late line (a child's last words) is not written: reopening would move this run's file aside. */
  private closed = false;
  /** Services whose file could not be opened. */
  private readonly closedFor = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly maxBytes = MAX_LOG_FILE_BYTES,
  ) {}

  /** Where `svc`'s lines go. */
  path(svc: string): string {
    return join(this.dir, `${svc}.log`);
  }

  /** Appends one line (already JSON, already redacted) to `svc`'s file. */
  write(svc: string, jsonText: string): void {
    const line = `${jsonText}\n`;
    const size = (this.sizes.get(svc) ?? 0) + Buffer.byteLength(line);
    if (size > this.maxBytes && this.files.has(svc)) {
      // full: this file becomes the previous one (the one before it goes) and the lines go on in a new file
      this.files.get(svc)!.end();
      this.files.delete(svc);
      this.sizes.delete(svc);
      this.write(svc, jsonText);
      return;
    }
    const file = this.open(svc);
    if (file === undefined) return;
    this.sizes.set(svc, size);
    file.write(line);
  }

  /** `svc`'s file, created when first asked for (a quiet service's file is there too, empty); undefined after close. */
  open(svc: string): WriteStream | undefined {
    let file = this.files.get(svc);
    if (file === undefined) {
      if (this.closed || this.closedFor.has(svc)) return undefined;
      const path = this.path(svc);
      let fd: number;
      try {
        mkdirSync(this.dir, { recursive: true });
        // the previous run's (or the full file's) lines stay readable beside this one (a crash, then a restart)
        if (existsSync(path)) renameSync(path, join(this.dir, `${svc}.previous.log`));
        // opened now, not when the stream gets to it: a later rotation's rename then moves this file, written or not
        fd = openSync(path, 'w');
      } catch {
        // a directory we may not write: the terminal still shows every line, and this service's file is not tried again
        this.closedFor.add(svc);
        return undefined;
      }
      file = createWriteStream(path, { fd });
      // a full disk must not end the stack: the terminal still shows every line
      file.on('error', () => undefined);
      this.files.set(svc, file);
    }
    return file;
  }

  /** Flushes and closes every file. */
  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.files.values()];
    this.files.clear();
    this.sizes.clear();
    await Promise.all(open.map((f) => new Promise<void>((r) => f.end(r))));
  }
}
