export { CONFIG_ERROR_CODES, ConfigError, type ConfigErrorCode, type ConfigIssue } from './errors.ts';
export { configOrExit, loadConfig, type ConfigInput, type ConfigSpec } from './load.ts';
export { MAX_SECRET_BYTES, SECRET_FILE_ERROR_CODES, SecretFileError, type SecretFileErrorCode, readSecretFile } from './secrets.ts';
export { csvList, symbolList } from './schemas.ts';
