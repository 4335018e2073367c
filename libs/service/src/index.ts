export { DeadlineError, sleep, withDeadline } from './deadline.ts';
export { RetryExhaustedError, backoffDelay, retry, type BackoffOptions, type RetryOptions } from './retry.ts';
export { Lifecycle, StartError, type Component, type StopReport } from './lifecycle.ts';
export { main, type MainOptions, type Service, type Startable } from './main.ts';
export { HTTP_SERVER_OPTIONS, createOpsServer, problem, type OpsOptions } from './ops.ts';
export { freePort } from './ports.ts';
export { SERVICE_ERROR_CODES, type ServiceErrorCode } from './errors.ts';
export { ignoreRejection, type DebugLogger } from './ignore.ts';
