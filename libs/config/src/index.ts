export { CONFIG_ERROR_CODES, ConfigError, type ConfigErrorCode, type ConfigIssue } from './errors.ts';
export { configOrExit, loadConfig, type ConfigInput, type ConfigSpec } from './load.ts';
export { MAX_SECRET_BYTES, SECRET_FILE_ERROR_CODES, SecretFileError, type SecretFileErrorCode, readSecretFile } from './secrets.ts';
export { csvList, symbolList } from './schemas.ts';
export { type CliArgs, type CliIo, type CliOption, type CliOutcome, type CliSpec, type CliValues, formatUsage, parseCli, parseCliArgs, refuseCli } from './cli.ts';
export {
  LAUNCHER_STATE_FILE,
  type LauncherState,
  type LauncherStateIgnored,
  type LauncherStateOptions,
  LauncherStateSchema,
  describeLauncherState,
  inspectLauncherState,
  launcherStateForTool,
  pidAlive,
  readLauncherState,
  removeLauncherState,
  withoutPassword,
  writeLauncherState,
} from './launcher-state.ts';
