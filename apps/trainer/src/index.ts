/** What other packages may use of the trainer (it is run as `pnpm train` / `pnpm train:fetch`, not imported): its error codes. */
export { FetchError } from './fetch.ts';
export { TRAINER_ERROR_CODES, type TrainerErrorCode } from './errors.ts';
/** The lifecycle scenario (scripts/lifecycle-scenario.ts: test and soak) trains candidates in process from the simulator. */
export { simSource, SIM_START_US } from './sources.ts';
export { buildDataset, type Dataset } from './dataset.ts';
export { trainCandidate, WATCH_ERROR_CODES, WatchError, type WatchRefusal } from './watch.ts';
export { WATCH_ENV, WatchConfigSchema, watchConfigFromEnv, type WatchConfig } from './watch-config.ts';
