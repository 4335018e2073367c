export { Launcher, type Prediction } from './launcher.ts';
export { LauncherConfigSchema, LAUNCHER_ENV, launcherConfigFromEnv, type LauncherConfig } from './config.ts';
export { RedisUnavailableError } from './redis.ts';
export { redactCredentials } from './redact.ts';
export { LAUNCHER_ERROR_CODES, type LauncherErrorCode } from './errors.ts';
export { compileCacheDir, TYPESCRIPT_FLAGS } from './child.ts';
export { CAUSES, PHASES, StartTimeline, type Phase } from './timeline.ts';
export { inForeground } from './terminal.ts';
