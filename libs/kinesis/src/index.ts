export { KplAggregator, KplFormatError, KPL_MAGIC, MAX_RECORD_BYTES, deaggregate, type UserRecord } from './kpl.ts';
