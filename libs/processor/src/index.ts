export { SymbolProcessor, type Outcome } from './symbol-processor.ts';
