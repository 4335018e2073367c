export { ExchangeSimulator, type SimulatorOptions } from './simulator.ts';
export { ManualClock, systemClock, type Clock, type ClockTimer } from './clock.ts';
export { SimConfigSchema, configFromEnv, SIM_ENV, type SimConfig } from './config.ts';
export { FaultSchema, type Fault } from './faults/faults.ts';
