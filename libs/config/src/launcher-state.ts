/**
 * Where `pnpm start` runs things: the launcher writes its endpoints to `.hotpath/state.json` at the
 * repository root once everything is up and removes it on a clean stop, so `pnpm read:vector`,
 * `pnpm leases` and the other tools find the Redis and Kinesis it started without the user copying
 * ports. The file comes from outside the reader's process (another run, an older version, a crash
 * halfway, a hand edit): it is zod-checked, and one whose launcher is gone (its pid not alive) is
 * ignored. No password is ever written to it: a Redis URL with one is written without it, and the
 * tools take the password from REDIS_PASSWORD_FILE as always.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The state file, relative to the repository root. */
export const LAUNCHER_STATE_FILE = '.hotpath/state.json';

const url = z.string().min(1).max(2048);

export const LauncherStateSchema = z.object({
  version: z.literal(1),
  pid: z.number().int().positive(),
  startedAt: z.string().datetime({ offset: true }),
  redisUrl: url,
  kinesisEndpoint: url,
  kinesisStream: z.string().min(1).max(128),
  logDir: z.string().min(1),
  services: z.record(z.string(), z.object({ url })),
  page: url,
  prometheus: url.optional(),
  alertmanager: url.optional(),
});
export type LauncherState = z.infer<typeof LauncherStateSchema>;

/** Why a state file was not used: none there, its launcher gone, or not a state file this version reads. */
export type LauncherStateIgnored = { readonly reason: 'missing' } | { readonly reason: 'stale'; readonly pid: number } | { readonly reason: 'malformed'; readonly detail: string };

export interface LauncherStateOptions {
  /** Whether a process runs (default: signal 0; EPERM means it runs as someone else). */
  readonly isAlive?: (pid: number) => boolean;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The URL without its password (a username stays: it says which ACL user to give a password for). */
export function withoutPassword(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    // not a URL: nothing in it has the shape of a password to cut
    return value;
  }
  if (parsed.password === '') return value;
  parsed.password = '';
  return parsed.toString();
}

/** The state file at `root`, or why it was not used. */
export function inspectLauncherState(root: string, options: LauncherStateOptions = {}): { readonly state: LauncherState } | LauncherStateIgnored {
  let text: string;
  try {
    text = readFileSync(join(root, LAUNCHER_STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { reason: 'missing' };
    return { reason: 'malformed', detail: (err as Error).message };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { reason: 'malformed', detail: (err as Error).message };
  }
  const parsed = LauncherStateSchema.safeParse(json);
  if (!parsed.success) return { reason: 'malformed', detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ') };
  if (!(options.isAlive ?? pidAlive)(parsed.data.pid)) return { reason: 'stale', pid: parsed.data.pid };
  return { state: parsed.data };
}

/** The endpoints of the `pnpm start` running from `root`, or undefined when none is (no file, its pid gone, or a file that does not parse). */
export function readLauncherState(root: string, options: LauncherStateOptions = {}): LauncherState | undefined {
  const found = inspectLauncherState(root, options);
  return 'state' in found ? found.state : undefined;
}

/** The state with every URL's password cut out. */
function redacted(state: LauncherState): LauncherState {
  const optional = (v: string | undefined) => (v === undefined ? undefined : withoutPassword(v));
  const out: LauncherState = {
    ...state,
    redisUrl: withoutPassword(state.redisUrl),
    kinesisEndpoint: withoutPassword(state.kinesisEndpoint),
    page: withoutPassword(state.page),
    services: Object.fromEntries(Object.entries(state.services).map(([name, s]) => [name, { url: withoutPassword(s.url) }])),
  };
  const prometheus = optional(state.prometheus);
  const alertmanager = optional(state.alertmanager);
  if (prometheus !== undefined) out.prometheus = prometheus;
  if (alertmanager !== undefined) out.alertmanager = alertmanager;
  return out;
}

/**
 * Writes the state file atomically (a temp file renamed over it: a reader sees the old file or the
 * new one, never half of one), without passwords. Throws a ZodError for a state the schema refuses.
 */
export function writeLauncherState(root: string, state: LauncherState): void {
  const clean = LauncherStateSchema.parse(redacted(state));
  const dir = join(root, '.hotpath');
  mkdirSync(dir, { recursive: true });
  // the directory ignores itself: nothing in it is ever committed, whatever the repository's .gitignore says
  writeFileSync(join(dir, '.gitignore'), '*\n');
  const tmp = join(dir, `state.json.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, `${JSON.stringify(clean, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, join(root, LAUNCHER_STATE_FILE));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Removes the state file if it is `pid`'s (a launcher stopping never removes the file of another one
 * started since); true when it removed it. A file that does not parse is left for its writer.
 */
export function removeLauncherState(root: string, pid: number): boolean {
  const file = join(root, LAUNCHER_STATE_FILE);
  let owner: unknown;
  try {
    owner = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown } | null)?.pid;
  } catch {
    // missing or unreadable: nothing of ours to remove
    return false;
  }
  if (owner !== pid) return false;
  rmSync(file, { force: true });
  return true;
}

/** How a tool names where an endpoint came from on stderr: "from .hotpath/state.json (pnpm start, pid 123)". */
export function describeLauncherState(state: LauncherState): string {
  return `${LAUNCHER_STATE_FILE} (pnpm start, pid ${state.pid}, since ${state.startedAt})`;
}

/**
 * For a tool whose flags and variables left an endpoint unset: the running `pnpm start`'s state, or
 * undefined. A file that does not parse is named on stderr (the user may wonder why the tool did not
 * find the stack); a missing or stale one is the ordinary case and goes unsaid. The tool says which
 * endpoint it took from the state (describeLauncherState).
 */
export function launcherStateForTool(tool: string, root: string, options: LauncherStateOptions & { readonly stderr?: (line: string) => void } = {}): LauncherState | undefined {
  const found = inspectLauncherState(root, options);
  if ('state' in found) return found.state;
  if (found.reason === 'malformed') (options.stderr ?? ((line) => process.stderr.write(`${line}\n`)))(`${tool}: ignoring ${LAUNCHER_STATE_FILE}: ${found.detail}`);
  return undefined;
}
