export { ExchangeSimulator, type SimulatorOptions } from './simulator.ts';
export { ManualClock, systemClock, type Clock, type ClockTimer } from './clock.ts';
export { SimConfigSchema, simConfigFromEnv, SIM_ENV, SIM_FLAGS, type SimConfig } from './config.ts';
export { FaultSchema, type Fault } from './faults/faults.ts';
export { EXCHANGE_SIM_ERROR_CODES, type ExchangeSimErrorCode } from './errors.ts';
