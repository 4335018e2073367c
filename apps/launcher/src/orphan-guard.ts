/**
 * Preloaded into every child (`node --import tsx --import <this>`): children
 * run in their own process group (so a terminal's Ctrl-C reaches only the
 * launcher, which then stops them in order), which also means nothing kills
 * them if the launcher itself dies. This guard does: when the launcher is gone
 * (the child was re-parented), the child sends itself SIGTERM and shuts down
 * as usual — and is killed if it has not exited STOP_GRACE_MS later. That
 * deadline is not optional: Kinesis ran inside the launcher and died with it,
 * so the ingestor's graceful stop waits on a flush that can never finish.
 *
 * The watchdog runs on a thread of its own, so a child whose event loop is
 * busy or blocked is still stopped.
 */
import { isMainThread, Worker } from 'node:worker_threads';

/** As the launcher's `Child.stop` (kept apart: importing child.ts here would load the launcher's modules into every service). */
const STOP_GRACE_MS = 5_000;
const POLL_MS = 500;

// plain JavaScript, run without this process's --import flags (they would load tsx and this guard again)
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const poll = setInterval(() => {
  if (process.ppid === workerData.launcherPid) return;
  clearInterval(poll);
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), workerData.graceMs);
}, workerData.pollMs);
`;

// services' own worker threads inherit the --import flags: one watchdog per process is enough
if (isMainThread) {
  // the launcher names itself: a launcher that died before this line ran is still noticed
  const launcherPid = Number(process.env['HOTPATH_LAUNCHER_PID']) || process.ppid;
  new Worker(WATCHDOG, { eval: true, execArgv: [], workerData: { launcherPid, graceMs: STOP_GRACE_MS, pollMs: POLL_MS } }).unref();
}
