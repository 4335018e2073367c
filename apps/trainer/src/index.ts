/** What other packages may use of the trainer (it is run as `pnpm train` / `pnpm train:fetch`, not imported): its error codes. */
export { FetchError } from './fetch.ts';
export { TRAINER_ERROR_CODES, type TrainerErrorCode } from './errors.ts';
