export * from './bytes.ts';
export * from './decimal.ts';
export * from './errors.ts';
export * from './limits.ts';
export * from './status.ts';
export * from './utf8.ts';
export * from './frame.ts';
