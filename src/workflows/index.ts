// Every workflow the worker bundles. Workflow code only: deterministic, no I/O.
export * from './diagnostics.js';
export * from './agent.js';
export * from './trigger.js';
export * from './training.js';
export * from './detector.js';
export * from './platform-operation.js';
export * from './loadgen.js';
