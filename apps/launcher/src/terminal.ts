/**
 * Whether this process is in its terminal's foreground process group. The launcher reads Ctrl-C as a key (raw
 * mode, bin/launch.ts) only then: a process in the background (`pnpm start &`) that changes the terminal's mode
 * is stopped by SIGTTOU. Linux: /proc/self/stat's pgrp (5th field) against tpgid (8th, the terminal's foreground
 * group); where there is no /proc, assumed (a terminal's stdin usually means the foreground).
 */
import { readFileSync } from 'node:fs';

/** From a /proc/<pid>/stat line: its process group is the foreground one of its terminal (undefined: not a stat line). */
export function foregroundFromStat(stat: string): boolean | undefined {
  // "pid (comm) state ppid pgrp session tty_nr tpgid …": comm may hold spaces and parentheses, the last ')' ends it
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const tpgid = Number(fields[5]);
  if (!Number.isInteger(pgrp) || !Number.isInteger(tpgid) || fields.length < 6) return undefined;
  return pgrp === tpgid;
}

export function inForeground(statFile = '/proc/self/stat'): boolean {
  try {
    return foregroundFromStat(readFileSync(statFile, 'utf8')) ?? true;
  } catch {
    // no /proc: as most terminals' users run it
    return true;
  }
}
