/**
 * Preloaded into every child (`node --import tsx --import <this>`): children
 * run in their own process group (so a terminal's Ctrl-C reaches only the
 * launcher, which then stops them in order), which also means nothing kills
 * them if the launcher itself dies. This guard does: when the parent is gone
 * (re-parented), the child sends itself SIGTERM and shuts down as usual.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
}, 1_000).unref();
